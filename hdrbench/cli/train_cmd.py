"""``hdrbench train``: train one method (its recipe, resumable checkpoints, DDP under torchrun)."""

from __future__ import annotations

from pathlib import Path

import click

from hdrbench.checks import MAX_SEED, MIN_PATCH
from hdrbench.cli.options import Command, device_option
from hdrbench.errors import HDRBenchError


@click.command("train", cls=Command)
@click.option("--method", "method_id", required=True, help="Method: a registered name, or a method id of --config.")
@click.option("--dataset", default=None, help="Registered dataset (default: the config's, else 'demo').")
@click.option("--root", type=click.Path(file_okay=False), default=None, help="Dataset root folder.")
@click.option("--config", "config", type=click.Path(dir_okay=False), default=None,
              help="bench.toml: budgets, dataset and output folder come from it.")
@click.option("--iterations", type=click.IntRange(min=1), default=None,
              help="Total iterations, >= 1 (overrides the recipe; shared among a method's stages).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Batch size per process, >= 1 (overrides the recipe).")
@click.option("--patch-size", type=click.IntRange(min=MIN_PATCH), default=None,
              help=f"Training patch side in pixels, >= {MIN_PATCH} and a multiple of the method's pad multiple "
                   "(overrides the recipe).")
@click.option("--recipes", default=None,
              help="'official' (each method's recipe), 'paper' (DCDR-UNet's §4.1.3 recipe on every method) or "
                   "'paper-patches' (§4.4.1: the official recipe on 512² grid patches).")
@click.option("--protocol", "old_recipes", default=None, hidden=True, help="Deprecated spelling of --recipes.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Run folder (default: <output>/checkpoints/<method> with --config, else results/train/<method>).")
@click.option("--checkpoint-every", type=click.IntRange(min=1), default=None,
              help="Checkpoint period in iterations, >= 1.")
@device_option(default=None, help_text="auto, cpu, cuda, cuda:N or mps (default: the config's, else auto).")
@click.option("--seed", type=click.IntRange(0, MAX_SEED), default=None,
              help="Seed of initialisation, patches and dropout (>= 0).")
@click.option("--precision", type=click.Choice(["fp32", "bf16", "fp16"]), default=None,
              help="Training precision (default: the config's, else fp32; bf16/fp16 = autocast).")
@click.option("--fresh", is_flag=True, help="Delete the run folder and start over instead of resuming.")
def train_cmd(method_id: str, dataset: str | None, root: str | None, config: str | None, iterations: int | None,
              batch_size: int | None, patch_size: int | None, recipes: str | None, old_recipes: str | None,
              out: str | None, checkpoint_every: int | None, device: str | None, seed: int | None,
              precision: str | None, fresh: bool) -> None:
    """Train METHOD; rerunning the same command after a crash resumes from the last checkpoint."""
    from hdrbench.config import MethodEntry, load_config, parse_config
    from hdrbench.plan import build_plan
    from hdrbench.train import job_for, train

    if old_recipes:
        click.echo("hdrbench train: --protocol is deprecated; use --recipes", err=True)
        recipes = recipes or {"dcdr": "paper"}.get(old_recipes, old_recipes)

    if config:
        cfg = load_config(config)
        entry = next((m for m in cfg.methods if m.id == method_id), None)
        if entry is None:
            entry = next((m for m in cfg.methods if m.name == method_id), None) or cfg.method(method_id)
        if entry.external:
            raise HDRBenchError(f"method '{entry.id}' is external (predictions made elsewhere): nothing to train")
    else:
        cfg = parse_config({"dataset": {"name": dataset or "demo"},
                            "methods": [{"name": method_id, "train": True}]}, Path.cwd() / "cli.toml")
        entry = cfg.methods[0]
    cfg.dataset.name = dataset or cfg.dataset.name
    cfg.dataset.root = root or cfg.dataset.root
    overrides = {k: v for k, v in {"iterations": iterations, "batch_size": batch_size,
                                    "patch_size": patch_size}.items() if v is not None}
    entry = MethodEntry(**{**entry.__dict__, "recipe": {**entry.recipe, **overrides}})
    run_dir = Path(out) if out else (cfg.runs.checkpoint_dir(entry.id) if config else Path("results/train") / entry.id)
    cfg.benchmark.device = device or cfg.benchmark.device
    plan = build_plan(cfg, "train", methods=[entry.id])
    job = job_for(plan, entry, run_dir=run_dir, recipes=recipes, checkpoint_every=checkpoint_every,
                  device=device, seed=seed, precision=precision)
    if config and not out:  # training into the benchmark's own folder: hold it, and check what it was built for
        cfg.runs.check_built_for(plan.dataset_identity, write=False)
        with cfg.runs.lock():
            cfg.runs.check_built_for(plan.dataset_identity, write=True)
            result = train(job, fresh=fresh)
    else:
        result = train(job, fresh=fresh)
    if result.untrainable:
        click.echo(f"{entry.id}: nothing to train (method '{entry.name}' has no parameters)")
    elif result.skipped:
        click.echo(f"{entry.id}: already trained ({result.weights}); --fresh retrains")
    else:
        resumed = f", resumed at step {result.resumed_from}" if result.resumed_from else ""
        click.echo(f"{entry.id}: {result.steps} iterations in {result.seconds:.1f} s{resumed} -> {result.weights}")
