"""``hdrbench run``: the whole benchmark, train → evaluate → report → plot, skipping what is done."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hdrbench.cli.options import Command, device_option
from hdrbench.errors import HDRBenchError

if TYPE_CHECKING:
    from hdrbench.plan import Plan


def _has_results(folder: Path) -> bool:
    """Whether ``folder`` holds anything worth keeping (a checkpoint or a result store)."""
    return any(p.suffix in (".safetensors", ".pt", ".sqlite") for p in folder.rglob("*") if p.is_file())


@click.command("run", cls=Command)
@click.argument("config", type=click.Path(dir_okay=False), default="bench.toml")
@click.option("--skip-train", is_flag=True, help="Evaluate existing checkpoints only.")
@device_option(default=None, help_text="auto, cpu, cuda, cuda:N or mps (default: the config's).")
def run_cmd(config: str, skip_train: bool, device: str | None) -> None:
    """Run the benchmark CONFIG end to end. Killed mid-way, the same command resumes: finished trainings and
    stored scores are kept, an interrupted training continues from its last checkpoint.

    Everything that could fail later (dataset root, splits, test sets, external folders, checkpoints, device,
    figure formats) is checked before the first training step; a run that fails leaves no output folder it
    created without results in it."""

    from hdrbench.config import load_config
    from hdrbench.plan import build_plan

    cfg = load_config(config)
    cfg.benchmark.device = device or cfg.benchmark.device
    plan = build_plan(cfg, "evaluate" if skip_train else "train")
    cfg.runs.check_built_for(plan.dataset_identity, write=False)
    existed = cfg.output.exists()
    try:
        with cfg.runs.lock():
            cfg.runs.check_built_for(plan.dataset_identity, write=True)
            _run(plan, skip_train)
    except (HDRBenchError, click.ClickException):
        if not existed and cfg.output.is_dir() and not _has_results(cfg.output):
            shutil.rmtree(cfg.output, ignore_errors=True)
        raise


def _run(plan: Plan, skip_train: bool) -> None:
    from hdrbench import io
    from hdrbench.distributed import init_distributed
    from hdrbench.evaluate import evaluate
    from hdrbench.plan import build_plan
    from hdrbench.report.plots import write_figures
    from hdrbench.report.regions import write_region_outputs
    from hdrbench.report.tables import write_reports
    from hdrbench.report.viewer import describe, write_viewer
    from hdrbench.train import job_for, train

    cfg = plan.cfg
    t0 = time.perf_counter()
    info = init_distributed(plan.device)
    timings: dict[str, float] = {}
    say = click.echo if info.is_main else (lambda *a, **k: None)
    if not skip_train:
        for entry in plan.entries:
            if entry.kind == "train":
                result = train(job_for(plan, entry.config, on_change="keep"))
                if result.moved is not None:
                    say(f"train {entry.id}: settings changed ({'; '.join(result.changes[:3])}); the earlier training "
                        f"is kept in {result.moved}")
                timings[f"train/{entry.id}"] = round(result.seconds, 2)
                state = ("nothing to train" if result.untrainable else "done before" if result.skipped
                         else f"{result.steps} it, {result.seconds:.1f} s")
                say(f"train {entry.id}: {state}")
            elif entry.kind == "untrained":
                say(f"train {entry.id}: nothing to train")
    t = time.perf_counter()
    plan = build_plan(cfg, "evaluate")  # the trained entries now have their weights
    summary = evaluate(plan)
    timings["evaluate"] = round(time.perf_counter() - t, 2)
    misfit = f", {summary.misfit_images} images do not fit the protocol (see warnings)" if summary.misfit_images else ""
    say(f"evaluate: {summary.describe()}{misfit}")
    if info.is_main:
        t = time.perf_counter()
        paths = write_reports(plan) + write_region_outputs(plan)
        if cfg.report.protocols:
            from hdrbench.report.protocols import protocol_report

            paths += protocol_report(cfg, cfg.report.protocols)
        timings["report"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        paths += write_figures(plan)
        timings["plot"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        viewer = write_viewer(plan)
        paths += viewer.files
        timings["viewer"] = round(time.perf_counter() - t, 2)
        timings["total"] = round(time.perf_counter() - t0, 2)
        log_path = cfg.runs.timings  # one entry per run: a resumed run adds its own
        runs = json.loads(log_path.read_text()) if log_path.is_file() else []
        runs.append({"finished": time.strftime("%Y-%m-%dT%H:%M:%S"), **timings})
        io.write_text(log_path, json.dumps(runs, indent=1))
        say((cfg.runs.reports / "table1.md").read_text(encoding="utf-8"))
        say(describe(viewer))
        say(f"{cfg.name}: {timings['total']:.0f} s this run; wrote {len(paths)} files to {cfg.output}")
