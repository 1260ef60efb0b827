"""``hdrbench report``: Table 1 (and the configured ablation tables) as CSV, Markdown and LaTeX, and the
interactive viewer ``index.html``."""

from __future__ import annotations

from pathlib import Path

import click

from hdrbench.cli.options import Command


@click.command("report", cls=Command)
@click.argument("config", type=click.Path(dir_okay=False), default="bench.toml")
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Folder (default: the output folder).")
@click.option("--quiet", is_flag=True, help="Do not print Table 1.")
@click.option("--protocols", default=None,
              help="Comma-separated protocols to score the same predictions under (e.g. dcdr,dcdr-hdrunet,sihdr): "
                   "writes protocols.csv/.md with ranks and Kendall's tau (default: [report] protocols).")
def report_cmd(config: str, out: str | None, quiet: bool, protocols: str | None) -> None:
    """Write the tables of CONFIG from its result store and print Table 1 (Markdown)."""
    from hdrbench.config import load_config
    from hdrbench.plan import build_plan
    from hdrbench.report.regions import write_region_outputs
    from hdrbench.report.tables import write_reports
    from hdrbench.report.viewer import describe, write_viewer

    cfg = load_config(config)
    if out:
        from hdrbench.io import check_folder

        check_folder(out)
    if protocols is not None:
        cfg.report.protocols = [p.strip() for p in protocols.split(",") if p.strip()]
        from hdrbench.config import check_names

        check_names(cfg)
    plan = build_plan(cfg, "report")
    paths = write_reports(plan, Path(out) if out else None)
    paths += write_region_outputs(plan, Path(out) if out else None)
    if cfg.report.protocols:
        from hdrbench.report.protocols import protocol_report

        with cfg.runs.lock():  # it scores what is missing under each protocol
            paths += protocol_report(cfg, cfg.report.protocols, Path(out) if out else None, progress=True)
    viewer = write_viewer(plan, Path(out) if out else None)
    if not quiet:
        md = next(p for p in paths if p.name == "table1.md")
        click.echo(md.read_text(encoding="utf-8"))
    click.echo("wrote " + ", ".join(str(p) for p in paths))
    click.echo(describe(viewer))
