"""The ``hdrbench`` command line: one click group, one module per sub-command.

Every :class:`hdrbench.errors.HDRBenchError` and every click usage error (a bad option value, an unknown
option, a missing argument) becomes one line on stderr and exit code 2, never a traceback. Sub-commands are
imported lazily so ``hdrbench --help`` stays fast.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import threading

import click

from hdrbench.errors import HDRBenchError

#: sub-command name -> ("module:attribute", one-line help shown by ``hdrbench --help``); each module holds one
#: click command. The help lines live here so that ``hdrbench --help`` imports no command module (and no torch).
COMMANDS: dict[str, tuple[str, str]] = {
    "list": ("hdrbench.cli.list_cmd:list_cmd", "List registered methods, metrics and datasets."),
    "predict": ("hdrbench.cli.predict_cmd:predict_cmd", "Linear HDR from 8-bit LDR image(s) with a method."),
    "weights": ("hdrbench.cli.weights_cmd:weights_cmd", "Offline ImageNet backbones for losses and LPIPS."),
    "data": ("hdrbench.cli.data_cmd:data_cmd", "Datasets: layouts, split sizes, test-set lists, virtual-camera pairs."),
    "score": ("hdrbench.cli.score_cmd:score_cmd", "Score HDR prediction(s) against ground truth."),
    "train": ("hdrbench.cli.train_cmd:train_cmd", "Train a method (resumable checkpoints, DDP under torchrun)."),
    "evaluate": ("hdrbench.cli.evaluate_cmd:evaluate_cmd", "Score a benchmark's methods into its result store."),
    "report": ("hdrbench.cli.report_cmd:report_cmd", "Write a benchmark's tables (CSV, Markdown, LaTeX)."),
    "plot": ("hdrbench.cli.plot_cmd:plot_cmd", "Draw a benchmark's comparison figures (PNG, PDF)."),
    "run": ("hdrbench.cli.run_cmd:run_cmd", "Run a benchmark end to end: train, evaluate, report, plot."),
    "explain": ("hdrbench.cli.explain_cmd:explain_cmd", "Where networks look: receptive fields, deformable sampling."),
}


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported only when used (``--help`` imports none of them)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None or importlib.util.find_spec(target[0].split(":")[0]) is None:
            return None
        module, attr = target[0].split(":")
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name][1]) for name in self.list_commands(ctx)])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hdrbench")
def cli() -> None:
    """hdrbench: train, score and compare single-image HDR reconstruction methods."""


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Python warnings as one line on stderr (no source excerpt): ``hdrbench: warning: ...``."""
    text = " ".join(str(message).split()).removeprefix("hdrbench: ")
    click.echo(f"hdrbench: warning: {text}", err=True)


def _command_path(args: list[str]) -> str:
    """``hdrbench train`` for ``["train", "--method", ...]``: the leading words of ``args`` that name commands."""
    path, command, ctx = ["hdrbench"], cli, click.Context(cli)
    for word in args:
        sub = command.get_command(ctx, word) if isinstance(command, click.Group) else None
        if sub is None:
            break
        path.append(word)
        command = sub
    return " ".join(path)


def usage_error_line(exc: click.UsageError, args: list[str]) -> str:
    """A click usage error as one line: ``hdrbench: error: hdrbench predict: Invalid value for '--tile': ...
    (see 'hdrbench predict --help')``. ``args``: the command line, for errors click raises without a context."""
    path = exc.ctx.command_path if exc.ctx is not None else _command_path(args)
    text = " ".join(exc.format_message().split())
    return f"hdrbench: error: {path}: {text} (see '{path} --help')"


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the CLI, turning HDRBenchError into one line and exit code 2 and every
    warning into one line."""
    import warnings

    warnings.showwarning = _one_line_warning
    try:
        cli.main(args=argv, prog_name="hdrbench", standalone_mode=False)
    except HDRBenchError as exc:
        click.echo(f"hdrbench: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.NoArgsIsHelpError as exc:  # ``hdrbench`` or ``hdrbench data`` alone: the help text
        exc.show()
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        click.echo(usage_error_line(exc, sys.argv[1:] if argv is None else argv), err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("hdrbench: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("hdrbench: interrupted", err=True)
        sys.exit(130)


def entry() -> None:
    """The ``hdrbench`` console script and ``python -m hdrbench``: :func:`main`, then a fast exit.

    Once a command has finished, the interpreter's teardown of torch's thousands of modules and objects costs
    about 0.4 s of a 2 s command; it frees nothing the operating system would not. So exit handlers (logging,
    temporary folders, worker pools) are run, the standard streams flushed, and the process ends with
    ``os._exit``. Not when another non-daemon thread still runs, nor with ``HDRBENCH_FULL_EXIT=1``.
    Before the command, malloc is set to reuse freed memory (:mod:`hdrbench.cli.allocator`).
    """
    from hdrbench.cli.allocator import retain_freed_memory

    retain_freed_memory()
    try:
        main()
        code: int | str | None = 0
    except SystemExit as exc:
        code = exc.code
    if os.environ.get("HDRBENCH_FULL_EXIT") or any(
            t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(code)
    if isinstance(code, str):  # SystemExit("message"): printed, exit status 1, as the interpreter does
        print(code, file=sys.stderr)
        code = 1
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (hdrbench list | head) or stream: nothing left to say
            pass
    os._exit(int(code or 0) & 0xFF)
