"""Advice names only options that exist: every string literal of the product source (f-strings by their constant
parts) that says ``hdrbench <command> ... --option`` is checked against that command's click parameters, and
every ``--option`` a command's own help mentions against that command. The checker is first shown to catch a
made-up option, so a pass means something. Also: the advice itself says what hdrbench reads (no unpickling)
and what an EXR holds."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import click
import numpy as np
import pytest

from hdrbench.cli import cli

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("hdrbench", "dcdr", "baselines")
#: Where a command mention ends: a quote, a backtick, a closing bracket, a semicolon, a line end.
SEGMENT_END = re.compile(r"['\"`);\n]")
OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")


def string_literals(source: str, filename: str = "<string>") -> Iterator[tuple[int, str]]:
    """``(line, text)`` of every string literal; an f-string gives its constant parts, ``{}`` for each field."""
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.JoinedStr):
            yield node.lineno, "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def option_names(command: click.Command) -> set[str]:
    """Every spelling of every option of ``command`` (``--crf``/``--no-crf``, ``-o``/``--option``), and help."""
    names = {"--help", "-h"}
    for param in command.params:
        if isinstance(param, click.Option):
            names.update(param.opts, param.secondary_opts)
    return names


def commands() -> dict[str, click.Command]:
    """``{"hdrbench", "hdrbench train", "hdrbench data info", ...}`` → click command (groups included)."""
    found: dict[str, click.Command] = {"hdrbench": cli}
    ctx = click.Context(cli)
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        assert command is not None, name
        found[f"hdrbench {name}"] = command
        for sub, subcommand in getattr(command, "commands", {}).items():
            found[f"hdrbench {name} {sub}"] = subcommand
    return found


def wrong_options(text: str, known: dict[str, click.Command]) -> list[str]:
    """``"hdrbench run --fresh"`` for each option that ``text`` gives a command which lacks it."""
    problems = []
    for mention in re.finditer(r"(?<![\w-])hdrbench(?![\w-])((?: [a-z][a-z-]*)*)", text):
        words = mention.group(1).split()
        path = "hdrbench"
        for word in words[:2]:  # the command, and a group's sub-command
            if f"{path} {word}" not in known:
                break
            path = f"{path} {word}"
        if path == "hdrbench" and not re.match(r" --?[A-Za-z]", text[mention.start() + len(path):]):
            continue  # prose: "hdrbench reads ...", "hdrbench's cache"
        rest = text[mention.start() + len(path):]
        segment = rest[:m.start()] if (m := SEGMENT_END.search(rest)) else rest
        segment = segment.split("hdrbench ")[0]
        for option in OPTION.findall(segment):
            if option not in option_names(known[path]):
                problems.append(f"{path} {option}")
    return problems


#: Mentions of another program's command line, whose options are its own: ``pip download --no-deps``, and
#: ``python -m hdrbench.report.viewer_browser ... --ev 2`` (a developer tool with its own argparse options).
FOREIGN = re.compile(r"(?<![\w-])(?:pip|python -m) [^'\"`);\n]*")
MENTION = re.compile(r"(?<![\w-])hdrbench(?: [a-z][a-z-]*)+[^'\"`);\n]*")


def bare_options(text: str) -> list[str]:
    """The ``--options`` of ``text`` outside any ``hdrbench <command> ...`` or foreign-program mention."""
    return [o for o in OPTION.findall(FOREIGN.sub("", MENTION.sub("", text))) if o.startswith("--")]


def literals_outside_docstrings(source: str) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """``(messages, docstrings)``: multi-word string literals that are not docstrings, and the docstrings."""
    tree = ast.parse(source)
    docs = {id(n.body[0].value): n.body[0].value for n in ast.walk(tree)
            if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and n.body
            and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)
            and isinstance(n.body[0].value.value, str)}
    parts = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    messages = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            messages.append((node.lineno, "".join(v.value if isinstance(v, ast.Constant) else "{}"
                                                  for v in node.values)))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs.keys() | parts:
            messages.append((node.lineno, node.value))
    return ([(n, t) for n, t in messages if len(t.split()) > 1],  # one token: an argv element, an option's name
            [(d.lineno, d.value) for d in docs.values()])


def product_files() -> list[Path]:
    return sorted(p for d in PRODUCT for p in (ROOT / d).rglob("*.py"))


def test_the_checker_catches_an_option_that_does_not_exist():
    known = commands()
    source = ('MSG = "pass --fresh"\n'
              'A = f"cannot resume; rerun \'hdrbench run {cfg} --fresh\' or \'hdrbench run --out DIR\'"\n'
              'B = "see \'hdrbench data info --skip-unpaired\'"\n'
              'C = "hdrbench data synth --hdr-dir D --out O --root R"\n'
              'D = "\'hdrbench train --fresh --out X\' (or hdrbench score --no-crf --protocol scene)"\n'
              'E = "hdrbench --version, hdrbench reads tensors, hdrbench\'s cache, hdrbench-chromium-"\n'
              'F = "hdrbench --verbose"\n')
    found = [p for _, text in string_literals(source) for p in wrong_options(text, known)]
    assert sorted(set(found)) == ["hdrbench --verbose", "hdrbench data info --skip-unpaired",
                                  "hdrbench data synth --root", "hdrbench run --fresh", "hdrbench run --out"]


def test_every_command_option_named_in_the_source_exists():
    known = commands()
    problems = [f"{path.relative_to(ROOT)}:{line}: {p}" for path in product_files()
                for line, text in string_literals(path.read_text(encoding="utf-8"), str(path))
                for p in wrong_options(text, known)]
    assert not problems, "\n".join(problems)
    mentions = sum("hdrbench " in text and "--" in text for path in product_files()
                   for _, text in string_literals(path.read_text(encoding="utf-8")))
    assert mentions > 10  # the messages really were read


def test_each_commands_help_names_only_its_own_options():
    problems = []
    for path, command in commands().items():
        texts = [command.help or ""] + [getattr(p, "help", None) or "" for p in command.params]
        own = option_names(command)
        problems += [f"{path}: {o}" for text in texts for o in OPTION.findall(text.replace("'hdrbench", ""))
                     if o.startswith("--") and o not in own and "hdrbench " not in text]
    assert not problems, problems


def test_a_refused_pth_says_what_hdrbench_reads_and_never_advises_unpickling(tmp_path):
    import argparse

    import torch

    from hdrbench.errors import HDRBenchError
    from hdrbench.official import read_official_state

    path = tmp_path / "release.pth"
    torch.save({"args": argparse.Namespace(lr=1), "w": torch.zeros(1)}, path)
    with pytest.raises(HDRBenchError) as exc:
        read_official_state(path)
    message = str(exc.value)
    assert "'argparse.Namespace'" in message and "reads only tensors" in message and "state_dict" in message
    assert "weights_only=False" not in message.replace(" ", "") and "set to False" not in message
    assert "trust" not in message and "\x1b" not in message


def test_an_xyz_exr_is_called_what_it_is(tmp_path):
    import OpenEXR

    from hdrbench import io
    from hdrbench.errors import HDRBenchError

    plane = np.ones((4, 4), np.float32)
    for channels, held in [("XYZ", "CIE XYZ colour (channels X, Y, Z)"), ("Y", "luminance only (channel Y)")]:
        path = tmp_path / f"{channels}.exr"
        OpenEXR.File({"type": OpenEXR.scanlineimage}, {c: plane for c in channels}).write(str(path))
        with pytest.raises(HDRBenchError, match=re.escape(held)):
            io.read_hdr(path)


def test_library_messages_name_the_command_of_each_option():
    """A message raised outside a command's own module (hdrbench/cli/) can reach the user through several
    commands ('pass --fresh' reached 'hdrbench run', which has none): it names the command with the option.
    Docstrings only name options that some command has."""
    known = commands()
    every = set().union(*(option_names(c) for c in known.values()))
    problems = []
    for path in product_files():
        messages, docs = literals_outside_docstrings(path.read_text(encoding="utf-8"))
        where = path.relative_to(ROOT)
        if where.parts[:2] != ("hdrbench", "cli"):
            problems += [f"{where}:{line}: bare {o} in {text!r}" for line, text in messages for o in bare_options(text)]
        problems += [f"{where}:{line}: docstring names {o}, no command has it" for line, text in docs
                     for o in bare_options(text) if o not in every]
    assert not problems, "\n".join(problems)


def test_the_library_rule_catches_a_bare_option():
    source = ('"""Docs: --vgg-weights."""\nMSG = f"cannot resume: pass --fresh to retrain ({x})"\n'
              'OK = "retrain with \'hdrbench train --fresh\'; or \'pip download --no-deps x\'"\n')
    messages, docs = literals_outside_docstrings(source)
    assert [o for _, t in messages for o in bare_options(t)] == ["--fresh"]
    assert [o for _, t in docs for o in bare_options(t)] == ["--vgg-weights"]
