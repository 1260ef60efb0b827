"""``hdrbench plot``: the Figure-5-style comparison grids and metric distributions (PNG and PDF)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("plot")
@click.argument("config", type=click.Path(dir_okay=False), default="bench.toml")
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Folder (default: the output folder).")
def plot_cmd(config: str, out: str | None) -> None:
    """Draw figure5 (linear), figure5_tonemapped and figure5_metrics for CONFIG."""
    from hdrbench.config import load_config
    from hdrbench.plan import build_plan
    from hdrbench.report.plots import write_figures

    paths = write_figures(build_plan(load_config(config), "report"), Path(out) if out else None)
    click.echo("wrote " + ", ".join(str(p) for p in paths))
