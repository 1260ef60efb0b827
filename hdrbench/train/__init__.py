"""Training: :func:`train` runs one method's recipe into a resumable run folder (see :mod:`.loop`).

:func:`job_for` turns a ``bench.toml`` method entry into a :class:`TrainJob`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hdrbench.config import BenchConfig, MethodEntry, TrainSettings
from hdrbench.train.loop import TrainJob, TrainResult, stage_plan, train


def job_for(cfg: BenchConfig, entry: MethodEntry, **changes: Any) -> TrainJob:
    """The training job of ``entry`` in benchmark ``cfg`` (global then per-method recipe overrides)."""
    from hdrbench.datasets.base import create_dataset
    from hdrbench.method import create_method

    t = cfg.train
    recipes = changes.pop("recipes", None) or entry.recipes or t.recipes
    job = TrainJob(
        method=create_method(entry.name, recipes=recipes, **entry.options),
        dataset=create_dataset(cfg.dataset.name, cfg.dataset.root, **cfg.dataset.options),
        run_dir=cfg.runs.checkpoint_dir(entry.id), recipes=recipes,
        overrides={**t.recipe, **entry.recipe}, train_split=cfg.dataset.train_split, seed=cfg.benchmark.seed,
        device=cfg.resolved_device(), **{f.name: getattr(t, f.name) for f in dataclasses.fields(TrainSettings)},
    )
    for key, value in changes.items():
        if value is not None:
            setattr(job, key, value)
    return job


__all__ = ["TrainJob", "TrainResult", "job_for", "stage_plan", "train"]
