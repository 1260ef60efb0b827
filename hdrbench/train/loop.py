"""The training loop: any registered method, its recipe, resumable checkpoints, DDP, CSV/TensorBoard logs.

One call trains one method into a run folder (``<output>/checkpoints/<method id>/``, see :mod:`hdrbench.runs`)::

    final.safetensors      finished weights (metadata: recipe plan, seed, weight substitutions)
    latest.json            the newest complete checkpoint (see :mod:`hdrbench.train.state`)
    step_<n>.safetensors   weights at step n;  step_<n>.state.pt  optimizer, scheduler, RNG states
    train_log.csv          step, stage, lr, loss (and the method's other logged terms), seconds
    tb/                    TensorBoard events (same scalars)

Re-running the same call after a crash resumes from ``latest.json``; on CPU the resumed loss curve equals
an uninterrupted run's, because patches are a pure function of the sample index
(:mod:`hdrbench.train.data`) and every RNG state is restored. The stages come from
:meth:`hdrbench.method.Method.stages` (one for most methods); each stage's recipe, parameters and
``training_loss(..., stage)`` come from its :class:`~hdrbench.method.Stage`. Tensors follow
:mod:`hdrbench.method`: ``ldr`` display-referred [0, 1], ``hdr`` linear, both ``(B, 3, P, P)``.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from hdrbench.datasets.base import PairedDataset
from hdrbench.defaults import PRECISIONS as PRECISION_NAMES
from hdrbench.distributed import DistInfo, barrier, init_distributed, mean_over_ranks, rank_device
from hdrbench.errors import HDRBenchError
from hdrbench.method import Method, Stage, check_recipe_overrides
from hdrbench.runs import FINAL, LATEST
from hdrbench.sections import TrainSettings
from hdrbench.train.data import training_batches
from hdrbench.train.optim import build_optimizer, build_scheduler, scale_schedule
from hdrbench.train.state import earlier_name, load_checkpoint, save_checkpoint, set_rng_state, write_final
from hdrbench.weights import substitutions

LOG_FILE = "train_log.csv"
#: Metadata keys added after the first release: a run that did not record one is taken to match it (it cannot
#: say), so finished runs of earlier versions are not retrained on upgrade.
SINCE_LATER = ("dataset",)
#: ``[train] precision``: the dtype of the forward/loss under ``torch.autocast`` (``fp32``: no autocast; fp32
#: matmuls may use TF32 tensor cores on CUDA). ``fp16`` scales the loss (``torch.amp.GradScaler``).
PRECISIONS = dict(zip(PRECISION_NAMES, (None, torch.bfloat16, torch.float16), strict=True))


@dataclass
class _What:
    """What a training job trains, on what, into where (the first three fields of :class:`TrainJob`)."""

    method: Method
    dataset: PairedDataset
    run_dir: Path


@dataclass
class TrainJob(TrainSettings, _What):
    """Everything one training run needs: ``TrainJob(method, dataset, run_dir, **settings)``; ``overrides`` are
    Recipe fields set by the benchmark/CLI; the :class:`~hdrbench.config.TrainSettings` say how it is carried
    out (dataclass fields are ordered from the last base: method, dataset, run_dir come first)."""

    recipes: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    train_split: str | None = None
    seed: int = 0
    device: str = "cpu"
    patch_cache: bool = True  # read patches from the split's memory-mapped cache (built on first use)
    progress: bool = True
    #: A run folder holding a training with other settings: ``error`` (say so, as ``hdrbench train`` does) or
    #: ``keep`` (move it aside to ``<folder>.earlier-<n>`` and train again, as ``hdrbench run`` does).
    on_change: str = "error"


@dataclass
class TrainResult:
    weights: Path | None  # None for a method with nothing to train
    steps: int
    resumed_from: int
    seconds: float
    skipped: bool = False
    net: nn.Module | None = None  # the trained network (None when skipped)
    #: where an earlier training with other settings was moved (``on_change="keep"``), and what had changed
    moved: Path | None = None
    changes: list[str] = field(default_factory=list)

    @property
    def untrainable(self) -> bool:
        """The method has nothing to train (``Method.trainable`` is false): no weights were written."""
        return self.weights is None


def stage_plan(method: Method, recipes: str | None, overrides: dict[str, Any]) -> list[Stage]:
    """The method's stages (recipes chosen by ``recipes``) with the recipe ``overrides`` applied to each.

    An ``iterations`` override is the total budget, shared among stages in proportion to their own
    iterations; each recipe's schedule is scaled to its budget (:func:`scale_schedule`). Overrides of a wrong
    type or range, a budget below one iteration per stage, and a patch size the network cannot take (not a
    multiple of the method's ``pad_multiple``) are one-line errors.
    """
    check_recipe_overrides(overrides)
    rest = {k: v for k, v in overrides.items() if k != "iterations"}
    if "betas" in rest:
        rest["betas"] = tuple(rest["betas"])
    if "milestones" in rest:
        rest["milestones"] = tuple(rest["milestones"])
    plan = [dataclasses.replace(s, recipe=s.recipe.replace(**rest)) for s in method.stages(recipes)]
    if "iterations" in overrides:
        total = sum(s.recipe.iterations for s in plan) or 1
        budget = int(overrides["iterations"])
        if budget < len(plan):
            raise HDRBenchError(f"recipe iterations={budget} is fewer than one per training stage of method "
                                f"'{method.name}' ({len(plan)} stages); give at least {len(plan)}")
        plan = [dataclasses.replace(s, recipe=scale_schedule(s.recipe, max(1, round(budget * s.recipe.iterations
                                                                                    / total)))) for s in plan]
    m = max(1, method.pad_multiple)
    for s in plan:
        if s.recipe.patch_size % m:
            p = s.recipe.patch_size
            raise HDRBenchError(f"recipe patch_size={p} must be a multiple of {m} for method '{method.name}' (its "
                                f"network's input side must be; e.g. {max(m, p // m * m)} or {(p // m + 1) * m})")
    return plan


class _Log:
    """CSV (and optionally TensorBoard) scalars; rows past ``start`` are dropped on resume."""

    def __init__(self, run_dir: Path, start: int, tensorboard: bool):
        run_dir.mkdir(parents=True, exist_ok=True)
        self.path = run_dir / LOG_FILE
        rows: list[dict[str, str]] = []
        if self.path.is_file():
            with open(self.path, newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= start]
        self.fields: list[str] = list(rows[0]) if rows else []
        self.rows = rows
        self._rewrite()
        self.tb = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(log_dir=str(run_dir / "tb"), purge_step=start + 1)

    def _rewrite(self) -> None:
        import io as pyio

        from hdrbench.io import write_text

        buf = pyio.StringIO(newline="")
        if self.fields:
            w = csv.DictWriter(buf, fieldnames=self.fields)
            w.writeheader()
            w.writerows(self.rows)
        write_text(self.path, buf.getvalue())  # whole or not at all; disk full is one line

    def add(self, row: dict[str, Any]) -> None:
        row = {k: (f"{v:.9g}" if isinstance(v, float) else v) for k, v in row.items()}
        if not self.fields or set(row) - set(self.fields):
            self.fields = self.fields + [k for k in row if k not in self.fields]
            self.rows.append(row)
            self._rewrite()
        else:
            self.rows.append(row)
            with open(self.path, "a", newline="") as f:
                csv.DictWriter(f, fieldnames=self.fields).writerow(row)
        if self.tb is not None:
            for k, v in row.items():
                if k not in ("step", "stage"):
                    self.tb.add_scalar(f"train/{k}", float(v), int(row["step"]))

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


def _seed_all(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


@dataclass
class _Run:
    """What every stage of one :func:`train` call shares."""

    job: TrainJob
    info: DistInfo
    device: torch.device
    net: nn.Module
    loss_fn: nn.Module
    split: str
    meta: dict[str, Any]
    log: _Log | None
    bar: tqdm
    on_step: Callable[[int], None] | None


def train(job: TrainJob, *, fresh: bool = False, on_step: Callable[[int], None] | None = None) -> TrainResult:
    """Train ``job.method`` on ``job.dataset``; resume from the run folder's latest checkpoint if any.

    ``fresh`` deletes the run folder first. ``on_step(step)`` is called after every completed step
    (tests use it to simulate a crash).
    """
    t0 = time.perf_counter()
    method, run_dir = job.method, Path(job.run_dir)
    if not method.trainable:
        return TrainResult(None, 0, 0, 0.0, skipped=True)
    if job.precision not in PRECISIONS:
        raise HDRBenchError(f"unknown training precision '{job.precision}' (use {', '.join(PRECISIONS)})")
    info = init_distributed(job.device)
    device = rank_device(job.device, info)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True  # fp32 training: TF32 tensor-core matmuls/convs allowed
        torch.backends.cudnn.allow_tf32 = True
    plan = stage_plan(method, job.recipes, job.overrides)
    meta = {"plan": [[s.name, s.recipe.to_dict()] for s in plan], "seed": job.seed, "world_size": info.world_size,
            "options": method.options, "dataset": job.dataset.identity()}
    if job.precision != "fp32":  # fp32 runs keep the metadata of runs made before the option existed
        meta["precision"] = job.precision
    if fresh and info.is_main and run_dir.exists():
        shutil.rmtree(run_dir)
    changes = settings_changed(run_dir, meta) if job.on_change == "keep" else []
    moved = None
    if changes:
        moved = earlier_name(run_dir)
        if info.is_main:
            run_dir.rename(moved)
    barrier(info)
    total = sum(s.recipe.iterations for s in plan)
    final = run_dir / FINAL
    if final.is_file() and _final_matches(final, meta):
        return TrainResult(final, total, total, time.perf_counter() - t0, skipped=True)

    _seed_all(job.seed)
    net = method.build_network()
    loss_fn = method.build_loss()
    resume = load_checkpoint(run_dir, net, method=method.name, meta=meta)
    start = resume.step if resume else 0
    if resume:
        set_rng_state(resume.state["rng"])
    net.to(device)
    loss_fn.to(device)
    bar = tqdm(total=total, initial=start, desc=f"train {method.name}", unit="it", disable=not (job.progress and
               info.is_main), dynamic_ncols=True, leave=True)
    run = _Run(job, info, device, net, loss_fn, split=job.train_split or job.dataset.train_split, meta=meta,
               log=_Log(run_dir, start, job.tensorboard) if info.is_main else None, bar=bar, on_step=on_step)
    bounds = np.cumsum([0] + [s.recipe.iterations for s in plan]).tolist()
    try:
        for si, stage in enumerate(plan):
            s0, s1 = bounds[si], bounds[si + 1]
            if start >= s1:
                continue
            resume_here = resume if (resume and resume.stage == si and s0 < resume.step < s1) else None
            _run_stage(run, si, stage, s0, s1, max(start, s0), resume_here)
    finally:
        bar.close()
        if run.log is not None:
            run.log.close()
    if info.is_main:
        write_final(run_dir, net, method=method.name, options=method.options,
                    meta={**meta, "iterations": total, "substitutions": substitutions(net, loss_fn)})
    barrier(info)
    return TrainResult(final, total, start, time.perf_counter() - t0, net=net, moved=moved, changes=changes)


def settings_changed(run_dir: Path, meta: dict[str, Any]) -> list[str]:
    """What differs between the training in ``run_dir`` (finished or not) and ``meta`` (``["key: old -> new"]``);
    empty when the folder holds no training or the same one."""
    from hdrbench.checkpoint import read_weights
    from hdrbench.train.state import differences

    final, latest = run_dir / FINAL, run_dir / LATEST
    if final.is_file():
        if _final_matches(final, meta):
            return []
        _, raw = read_weights(final)
        saved = {k: json.loads(raw[k]) for k in meta if k in raw}
    elif latest.is_file():
        saved = json.loads(latest.read_text())
    else:
        return []
    want = json.loads(json.dumps(meta, default=str))
    out = [d for k, v in want.items() if k in saved or k not in SINCE_LATER
           for d in differences(saved.get(k), v, k)]
    return out or ["the earlier run's metadata"]


def _final_matches(final: Path, meta: dict[str, Any]) -> bool:
    from hdrbench.checkpoint import read_weights

    _, saved = read_weights(final)
    want = json.loads(json.dumps(meta, default=str))
    return all(json.loads(saved.get(k, "null")) == v for k, v in want.items()
               if k in saved or k not in SINCE_LATER)


def _run_stage(run: _Run, si: int, stage: Stage, s0: int, s1: int, begin: int, resume: Any) -> None:
    """Steps ``begin`` … ``s1`` (global step numbers) of stage ``si``, which spans ``s0`` … ``s1``."""
    job, info, device, net, recipe = run.job, run.info, run.device, run.net, stage.recipe
    method = job.method
    params = stage.parameters(net)
    model: nn.Module = net
    if info.active:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None,
                                        find_unused_parameters=bool(stage.trains))
    opt = build_optimizer(params, recipe)
    sched = build_scheduler(opt, recipe)
    dtype = PRECISIONS[job.precision]
    scaler = torch.amp.GradScaler(device.type) if dtype is torch.float16 else None
    if resume is not None:
        opt.load_state_dict(resume.state["optimizer"])
        sched.load_state_dict(resume.state["scheduler"])
        if scaler is not None and resume.state.get("scaler"):
            scaler.load_state_dict(resume.state["scaler"])
    batches = training_batches(job.dataset, run.split, recipe, job.seed * 1000 + si, begin - s0, s1 - s0, device,
                               info.rank, info.world_size, job.num_workers, job.patch_cache)
    step = begin
    tick = time.perf_counter()
    for ldr, hdr in batches:
        opt.zero_grad(set_to_none=True)
        loss, terms = _accumulated_backward(method, model, run.loss_fn, ldr, hdr, stage, dtype, scaler, job.run_dir)
        if scaler is not None:
            scaler.unscale_(opt)
        if recipe.grad_clip:
            torch.nn.utils.clip_grad_norm_(params, recipe.grad_clip)
        if scaler is not None:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()
        sched.step()
        step += 1
        run.bar.update(1)
        # The loss is read back (a host sync) only when it is logged or a checkpoint is written; a non-finite
        # loss is caught there, before any checkpoint could keep its weights.
        if step % job.log_every == 0 or step % job.checkpoint_every == 0 or step == s1:
            value = float(loss)
            if not math.isfinite(value):
                raise HDRBenchError(f"training loss of '{method.name}' became {value} at step {step} (checked at "
                                    "every log and checkpoint step); lower recipe.lr or check the data (the last "
                                    "good checkpoint is kept)", job.run_dir)
        if step % job.log_every == 0 or step == s1:
            now = time.perf_counter()
            logged = {k: mean_over_ranks(float(v), info) for k, v in terms.items()}
            if run.log is not None:
                run.log.add({"step": step, "stage": stage.name or "", "lr": opt.param_groups[0]["lr"], **logged,
                             "seconds": now - tick})
            tick = now
            run.bar.set_postfix(loss=f"{logged.get('loss', value):.4g}", refresh=False)
        if step % job.checkpoint_every == 0 or step == s1:
            if info.is_main:
                save_checkpoint(job.run_dir, net, step=step, stage=si, method=method.name, options=method.options,
                                opt=opt, sched=sched, scaler=scaler, meta=run.meta, keep=job.keep_checkpoints)
            barrier(info)
        if run.on_step is not None:
            run.on_step(step)


def _accumulated_backward(method: Method, model: nn.Module, loss_fn: nn.Module, ldr: torch.Tensor,
                          hdr: torch.Tensor, stage: Stage, dtype: torch.dtype | None,
                          scaler: torch.amp.GradScaler | None, run_dir: Path) -> tuple[torch.Tensor, dict[str, Any]]:
    """Forward and backward of one batch in ``stage.recipe.accumulate`` micro-batches (gradients summed, each
    loss scaled by its share) under autocast to ``dtype`` (None: fp32, no autocast), scaled by ``scaler`` (fp16);
    returns the detached batch loss and the logged terms, still on the device."""
    recipe = stage.recipe
    parts = max(1, min(recipe.accumulate, ldr.shape[0]))
    total: torch.Tensor | None = None
    logged: dict[str, Any] = {}
    for x, y in zip(ldr.chunk(parts), hdr.chunk(parts)):
        share = x.shape[0] / ldr.shape[0]
        with torch.autocast(device_type=ldr.device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            try:
                loss, terms = method.training_loss(model, loss_fn, x, y, stage)
            except ValueError as exc:  # BatchNorm on a 1×1 feature map of a single sample, and the like
                if "more than 1 value per channel" not in str(exc):
                    raise
                raise HDRBenchError(f"'{method.name}' cannot train on batch {x.shape[0]} of "
                                    f"{recipe.patch_size}² patches (its BatchNorm sees one value per channel); "
                                    "raise recipe.batch_size or recipe.patch_size", run_dir) from None
        part = loss * share if parts > 1 else loss
        (scaler.scale(part) if scaler is not None else part).backward()
        total = loss.detach() * share if total is None else total + loss.detach() * share
        for k, v in terms.items():
            v = v.detach() if isinstance(v, torch.Tensor) else v
            logged[k] = v * share if k not in logged else logged[k] + v * share
    assert total is not None
    return total, logged
