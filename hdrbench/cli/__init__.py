"""The ``hdrbench`` command line: one click group, one module per sub-command.

Every :class:`hdrbench.errors.HDRBenchError` becomes one line on stderr and exit code 2, never a
traceback. Sub-commands are imported lazily so ``hdrbench --help`` stays fast.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

import click

from hdrbench.errors import HDRBenchError

#: sub-command name -> "module:attribute"; each module holds one click command.
COMMANDS: dict[str, str] = {
    "list": "hdrbench.cli.list_cmd:list_cmd",
    "predict": "hdrbench.cli.predict_cmd:predict_cmd",
    "weights": "hdrbench.cli.weights_cmd:weights_cmd",
    "data": "hdrbench.cli.data_cmd:data_cmd",
    "score": "hdrbench.cli.score_cmd:score_cmd",
    "train": "hdrbench.cli.train_cmd:train_cmd",
    "evaluate": "hdrbench.cli.evaluate_cmd:evaluate_cmd",
    "report": "hdrbench.cli.report_cmd:report_cmd",
    "plot": "hdrbench.cli.plot_cmd:plot_cmd",
    "run": "hdrbench.cli.run_cmd:run_cmd",
}


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported only when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, target in COMMANDS.items()
                      if importlib.util.find_spec(target.split(":")[0]) is not None)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None or importlib.util.find_spec(target.split(":")[0]) is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hdrbench")
def cli() -> None:
    """hdrbench: train, score and compare single-image HDR reconstruction methods."""


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the CLI, turning HDRBenchError into one line and exit code 2."""
    try:
        cli.main(args=argv, prog_name="hdrbench", standalone_mode=False)
    except HDRBenchError as exc:
        click.echo(f"hdrbench: error: {exc}", err=True)
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
