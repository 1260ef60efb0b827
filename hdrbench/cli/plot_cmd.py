"""``hdrbench plot``: the Figure-5-style comparison grids and metric distributions (PNG and PDF)."""

from __future__ import annotations

from pathlib import Path

import click

from hdrbench.cli.options import Command


@click.command("plot", cls=Command)
@click.argument("config", type=click.Path(dir_okay=False), default="bench.toml")
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Folder (default: the output folder).")
@click.option("--tonemapper", "tonemappers", multiple=True, metavar="NAME",
              help="Tone-mapping operator of figure5_tonemapped (repeat for one figure each; default: [plot] "
                   "tonemapper): p99-gamma, reinhard-global, reinhard-local, drago, mu-law.")
def plot_cmd(config: str, out: str | None, tonemappers: tuple[str, ...]) -> None:
    """Draw figure5 (linear), figure5_tonemapped and figure5_metrics for CONFIG."""
    from hdrbench.config import load_config
    from hdrbench.errors import HDRBenchError
    from hdrbench.io import check_folder
    from hdrbench.plan import build_plan
    from hdrbench.report.plots import write_figures
    from hdrbench.report.tonemappers import tonemapper_names

    cfg = load_config(config)
    if tonemappers:
        try:
            names = tonemapper_names(list(tonemappers))
        except HDRBenchError as exc:  # the command line's names, not the bench file's
            raise HDRBenchError(f"--tonemapper: {exc.message}") from None
        cfg.plot.tonemapper = names
        cfg.plot.tonemapped = True
    if out:
        check_folder(out)
    paths = write_figures(build_plan(cfg, "report"), Path(out) if out else None)
    click.echo("wrote " + ", ".join(str(p) for p in paths))
