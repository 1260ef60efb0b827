"""``hdrbench explain``: where a benchmark's networks look (effective receptive fields, deformable sampling)."""

from __future__ import annotations

from pathlib import Path

import click

from hdrbench.cli.options import Command


def _pixels(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> list[tuple[int, int]]:
    """``--pixels y,x`` parsed at parse time: a bad value is one line, exit 2."""
    from hdrbench.report.receptive import parse_pixel

    return [parse_pixel(v) for v in value]


@click.command("explain", cls=Command)
@click.argument("config", type=click.Path(dir_okay=False), default="bench.toml")
@click.option("--method", "methods", multiple=True, metavar="ID", help="Method entry id (repeatable; default: all).")
@click.option("--pixels", multiple=True, metavar="Y,X", callback=_pixels,
              help="Output pixel, row,column (repeatable; default: the centre of each figure image's largest "
                   "overexposed region).")
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Folder (default: the output folder).")
def explain_cmd(config: str, methods: tuple[str, ...], pixels: list[tuple[int, int]], out: str | None) -> None:
    """Draw receptive_field.png/.pdf (and .json) for CONFIG: per figure image and method, the effective
    receptive field of a pixel (|d out / d in|, autograd, float32 on the CPU) and, for deformable convolutions,
    their sampling locations there."""
    from hdrbench.config import load_config
    from hdrbench.plan import build_plan
    from hdrbench.report.receptive import explain_plan

    plan = build_plan(load_config(config), "evaluate", methods=list(methods) or None)
    done = explain_plan(plan, list(methods) or None, pixels or None, Path(out) if out else None)
    for line in done.lines:
        click.echo(line)
    click.echo("wrote " + ", ".join(str(p) for p in done.paths))
