"""Training checkpoints that survive ``kill -9``: weights, optimizer, scheduler and RNG states.

A checkpoint at step ``s`` is two files in the run folder, written to temporary names and renamed:
``step_<s>.safetensors`` (network weights, :mod:`hdrbench.checkpoint` format) and ``step_<s>.state.pt``
(optimizer, scheduler, AMP scaler and the torch/CUDA/numpy/python RNG states). Only then is
``latest.json`` (which names both) replaced atomically, so a crash at any instant leaves the previous
complete checkpoint in force. ``final.safetensors`` marks a finished run.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from hdrbench.checkpoint import load_weights, save_weights
from hdrbench.errors import HDRBenchError
from hdrbench.official import load_failure
from hdrbench.runs import FINAL, LATEST


def rng_state() -> dict[str, Any]:
    """Every RNG a training step may draw from."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state: dict[str, Any] = {"torch": torch.get_rng_state(), "python": random.getstate(),
                             "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss)}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _atomic_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as JSON, whole or not at all (:func:`hdrbench.io.write_text`: disk full is one line)."""
    from hdrbench.io import write_text

    write_text(path, json.dumps(data, indent=1, default=str))


@dataclass
class Resume:
    """What a checkpoint restores: the global ``step`` reached, and the state dicts."""

    step: int
    stage: int
    state: dict[str, Any]
    meta: dict[str, Any]


def save_checkpoint(run_dir: Path, net: nn.Module, *, step: int, stage: int, method: str, options: dict,
                    opt: torch.optim.Optimizer, sched: Any, scaler: Any | None, meta: dict[str, Any],
                    keep: int = 2) -> Path:
    """Write the step-``step`` checkpoint and point ``latest.json`` at it; prune older ones beyond ``keep``."""
    run_dir.mkdir(parents=True, exist_ok=True)
    stem = f"step_{step:08d}"
    weights = save_weights(net, run_dir / f"{stem}.safetensors", method=method, options=options, step=step)
    state = {"optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "rng": rng_state(),
             "scaler": scaler.state_dict() if scaler is not None else None, "step": step, "stage": stage}
    from hdrbench.io import atomic_write

    with atomic_write(run_dir / f"{stem}.state.pt") as f:
        torch.save(state, f)
    _atomic_json(run_dir / LATEST, {"step": step, "stage": stage, "weights": weights.name,
                                    "state": f"{stem}.state.pt", **meta})
    for old in sorted(run_dir.glob("step_*.safetensors"))[:-max(1, keep)]:
        old.unlink(missing_ok=True)
        (run_dir / old.name.replace(".safetensors", ".state.pt")).unlink(missing_ok=True)
    return weights


def differences(saved: Any, now: Any, where: str) -> list[str]:
    """``["where.key: saved -> now", ...]`` for the leaves that differ between two JSON values."""
    if isinstance(saved, dict) and isinstance(now, dict):
        return [d for k in sorted(set(saved) | set(now), key=str)
                for d in differences(saved.get(k), now.get(k), f"{where}.{k}")]
    if isinstance(saved, list) and isinstance(now, list) and len(saved) == len(now):
        if len(saved) == 2 and (saved[0] is None or isinstance(saved[0], str)) and saved[0] == now[0]:
            return differences(saved[1], now[1], where)  # a plan entry: [stage name, recipe]
        return [d for i, (a, b) in enumerate(zip(saved, now)) for d in differences(a, b, f"{where}[{i}]")]
    return [] if saved == now else [f"{where}: {saved!r} -> {now!r}"]


def load_checkpoint(run_dir: Path, net: nn.Module, *, method: str, meta: dict[str, Any]) -> Resume | None:
    """Load the latest checkpoint into ``net``; None when there is none. ``meta`` must match the saved one."""
    latest = run_dir / LATEST
    if not latest.is_file():
        return None
    info = json.loads(latest.read_text())
    for key, value in meta.items():
        now = json.loads(json.dumps(value, default=str))
        if key == "dataset" and key not in info:  # recorded since a later version: an older run cannot say
            continue
        if now != info.get(key):
            changes = "; ".join(differences(info.get(key), now, key)[:3])
            raise HDRBenchError(f"this run folder holds a training with other settings ({changes}), so it cannot "
                                "resume: retrain ('hdrbench train --fresh', or delete the folder) or train elsewhere "
                                "('hdrbench train --out DIR'; for 'hdrbench run': another [benchmark] output)",
                                run_dir)
    load_weights(net, run_dir / info["weights"], method=method)
    try:
        state = torch.load(run_dir / info["state"], map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError) as exc:
        raise HDRBenchError(f"unreadable training state ({load_failure(exc)}); delete the run folder to start over "
                            "('hdrbench train --fresh' does)", run_dir / info["state"]) from None
    return Resume(step=int(info["step"]), stage=int(info["stage"]), state=state, meta=info)


def write_final(run_dir: Path, net: nn.Module, *, method: str, options: dict, meta: dict[str, Any]) -> Path:
    """The finished run's weights, with the recipe and substitutions as metadata."""
    return save_weights(net, run_dir / FINAL, method=method, options=options,
                        **{k: v for k, v in meta.items() if k not in ("method", "options")})


def earlier_name(run_dir: Path) -> Path:
    """A free name beside ``run_dir`` for an earlier training moved aside: ``<name>.earlier-<n>``."""
    n = 1
    while run_dir.with_name(f"{run_dir.name}.earlier-{n}").exists():
        n += 1
    return run_dir.with_name(f"{run_dir.name}.earlier-{n}")
