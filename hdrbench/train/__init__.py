"""Training: :func:`train` runs one method's recipe into a resumable run folder (see :mod:`.loop`).

:func:`job_for` turns an entry of a resolved :class:`~hdrbench.plan.Plan` into a :class:`TrainJob`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hdrbench.config import BenchConfig, MethodEntry, TrainSettings
from hdrbench.plan import Plan, as_plan
from hdrbench.train.loop import TrainJob, TrainResult, stage_plan, train


def job_for(plan: Plan | BenchConfig, entry: MethodEntry, **changes: Any) -> TrainJob:
    """The training job of ``entry`` (a method entry of the plan's benchmark; global then per-method recipe
    overrides) on the plan's dataset (a config is resolved first)."""
    from hdrbench.method import create_method

    plan = as_plan(plan, "train")
    cfg, t = plan.cfg, plan.cfg.train
    recipes = changes.pop("recipes", None) or entry.recipes or t.recipes
    job = TrainJob(
        method=create_method(entry.name, recipes=recipes, **entry.options),
        dataset=plan.dataset,
        run_dir=cfg.runs.checkpoint_dir(entry.id), recipes=recipes,
        overrides={**t.recipe, **entry.recipe}, train_split=cfg.dataset.train_split, seed=cfg.benchmark.seed,
        device=plan.device, **{f.name: getattr(t, f.name) for f in dataclasses.fields(TrainSettings)},
    )
    for key, value in changes.items():
        if value is not None:
            setattr(job, key, value)
    return job


__all__ = ["TrainJob", "TrainResult", "job_for", "stage_plan", "train"]
