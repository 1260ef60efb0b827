"""``hdrbench evaluate``: score a benchmark's methods into ``<output>/results.sqlite`` (resumable)."""

from __future__ import annotations

import click

from hdrbench.cli.options import Command, device_option


@click.command("evaluate", cls=Command)
@click.argument("config", type=click.Path(dir_okay=False), default="bench.toml")
@click.option("--method", "methods", multiple=True, help="Method id(s) of the config to score (default: all).")
@click.option("--save-predictions", is_flag=True, help="Also write every prediction as EXR under predictions/.")
@device_option(default=None, help_text="auto, cpu, cuda, cuda:N or mps (default: the config's).")
def evaluate_cmd(config: str, methods: tuple[str, ...], save_predictions: bool, device: str | None) -> None:
    """Run every method of CONFIG on every test image and store its metrics; a rerun skips what is stored."""
    from hdrbench.config import load_config
    from hdrbench.evaluate import evaluate
    from hdrbench.plan import build_plan

    cfg = load_config(config)
    cfg.evaluate.save_predictions = save_predictions or cfg.evaluate.save_predictions
    cfg.benchmark.device = device or cfg.benchmark.device
    plan = build_plan(cfg, "evaluate", methods=list(methods) or None)
    cfg.runs.check_built_for(plan.dataset_identity, write=False)
    with cfg.runs.lock():
        cfg.runs.check_built_for(plan.dataset_identity, write=True)
        summary = evaluate(plan)
    misfit = f"; {summary.misfit_images} do not fit the protocol (see warnings)" if summary.misfit_images else ""
    click.echo(f"{summary.describe()}{misfit} -> {cfg.runs.results}")
