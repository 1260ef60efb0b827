"""Every single-valued option of every command is refused when given twice (click alone keeps the last value
silently: ``predict --encode pq --encode ultrahdr`` would write one of the two files and say nothing)."""

from __future__ import annotations

import click
import pytest

from hdrbench.cli import COMMANDS, cli
from hdrbench.cli.options import Command, Group


def _commands() -> list[tuple[str, click.Command]]:
    """``("predict", cmd)``, ``("data export-hdr", cmd)``, ...: every leaf command under the top-level group."""
    out, ctx = [], click.Context(cli)
    todo = [(name, cli.get_command(ctx, name)) for name in COMMANDS]
    while todo:
        path, cmd = todo.pop()
        if isinstance(cmd, click.Group):
            assert isinstance(cmd, Group), path
            todo += [(f"{path} {sub}", cmd.get_command(ctx, sub)) for sub in cmd.list_commands(ctx)]
        else:
            out.append((path, cmd))
    return sorted(out, key=lambda item: item[0])


COMMAND_LIST = _commands()


def _single_valued(cmd: click.Command) -> list[click.Option]:
    return [p for p in cmd.params if isinstance(p, click.Option) and not (p.multiple or p.count or p.is_eager)]


def test_every_command_is_the_strict_command_class():
    assert len(COMMAND_LIST) >= len(COMMANDS)
    for path, cmd in COMMAND_LIST:
        assert isinstance(cmd, Command), path


@pytest.mark.parametrize("path, cmd", COMMAND_LIST, ids=[p for p, _ in COMMAND_LIST])
def test_a_single_valued_option_given_twice_is_a_one_line_usage_error(path, cmd, run_main):
    options = _single_valued(cmd)
    if not options:
        pytest.skip(f"hdrbench {path} has no single-valued option")
    for opt in options:
        name = opt.opts[0]
        once = [name] if opt.is_flag else [name, "1"]
        code, out, err = run_main(*path.split(), *once, *once)
        lines = [ln for ln in err.strip().splitlines() if ln]
        assert code == 2 and len(lines) == 1, (path, name, err)
        assert lines[0].startswith(f"hdrbench: error: hdrbench {path}: {name}"), lines[0]
        assert "given more than once" in lines[0], lines[0]


def test_multiple_options_still_repeat_and_a_value_given_once_still_parses(tmp_path, run_main):
    code, out, err = run_main("list", "--kind", "method", "--json")
    assert code == 0, err
    code, _, err = run_main("score", "--no-such-option")  # click's own usage errors are unchanged
    assert code == 2 and "no-such-option" in err and "more than once" not in err
