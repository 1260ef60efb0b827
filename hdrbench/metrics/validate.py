"""Checks on a (prediction, ground truth) pair before scoring: shapes, NaN/inf, negatives, black references.

Used by ``hdrbench score`` and by the evaluation runner, so bad input always fails the same way: one
:class:`HDRBenchError` line naming the file and the fix, never silently wrong numbers.
"""

from __future__ import annotations

import numpy as np
import torch

from hdrbench.errors import HDRBenchError

CLAMP_POLICY = "NaN -> 0, -inf -> 0, +inf -> the ground truth's maximum, negatives -> 0"
#: Ground-truth negatives no lower than ``-GT_NEGATIVE_EPS * max(1, max(gt))`` are float noise of renderers and
#: EXR writers (e.g. -3e-6): always clipped to 0, with a counted note.
GT_NEGATIVE_EPS = 1e-4


def _as_tensor(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    return x if isinstance(x, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(x))


def _finite_range(x: torch.Tensor) -> tuple[float | None, float | None]:
    """``(min, max)`` of ``x``, or ``(None, None)`` when it holds NaN or inf (one pass: a NaN makes both NaN,
    an inf makes one of them infinite)."""
    low, high = (float(v) for v in torch.aminmax(x))
    return (low, high) if np.isfinite(low) and np.isfinite(high) else (None, None)


def _clip_gt_negatives(g: torch.Tensor, gt_name: str, clamp_gt: bool, notes: list[str] | None) -> torch.Tensor:
    neg = g < 0
    n = int(neg.sum())
    if not n:
        return g
    low = float(g.min())
    tiny = low >= -GT_NEGATIVE_EPS * max(1.0, float(g.max()))
    if not (tiny or clamp_gt):
        raise HDRBenchError(f"ground truth has {n} negative values (min {low:.3g}); linear HDR must be >= 0: clip "
                            "it when preparing the data, or score with 'hdrbench score --clamp-gt' (clamp_gt=True) "
                            "to clip them to 0",
                            gt_name)
    if notes is not None:
        notes.append(f"{gt_name}: ground truth: clipped {n} negative values (min {low:.3g}) to 0")
    return g.clamp_min(0.0)


def check_pair(pred: np.ndarray | torch.Tensor, gt: np.ndarray | torch.Tensor, pred_name: str = "prediction",
               gt_name: str = "ground truth", clamp: bool = False, clamp_gt: bool = False,
               notes: list[str] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate and return ``(pred, gt)`` as float32 tensors of the input layout (``(H, W, 3)`` or ``(N, 3, H, W)``).

    Both are linear HDR. Errors: different shapes; a ground truth with NaN/inf or negative values (tiny
    negatives above ``-GT_NEGATIVE_EPS`` relative are clipped; ``clamp_gt`` clips all), or all zeros; a
    prediction with NaN/inf or negative values unless ``clamp``, which repairs it as :data:`CLAMP_POLICY`
    says. Every repair appends one counted line to ``notes`` (when given).
    """
    p, g = _as_tensor(pred).float(), _as_tensor(gt).float()
    if p.shape != g.shape:
        raise HDRBenchError(f"prediction {tuple(p.shape)} and ground truth {tuple(g.shape)} ({gt_name}) differ in "
                            "shape; predictions must have the ground truth's size", pred_name)
    g_low, g_high = _finite_range(g)
    if g_low is None:
        raise HDRBenchError(f"ground truth has {int((~torch.isfinite(g)).sum())} NaN/inf values; fix or exclude "
                            "this image", gt_name)
    if g_low < 0:
        g = _clip_gt_negatives(g, gt_name, clamp_gt, notes)
    if not g_high > 0:
        raise HDRBenchError("ground truth is all zeros: no metric is defined against a black image; exclude it",
                            gt_name)
    p_low, _ = _finite_range(p)
    if p_low is not None and p_low >= 0:  # the common case: one pass over each image, nothing to repair
        return p, g
    bad = ~torch.isfinite(p)
    neg = p < 0
    n_bad, n_neg = int(bad.sum()), int(neg.sum())
    if n_bad or n_neg:
        what = []
        if n_bad:
            what.append(f"{n_bad} NaN/inf")
        if n_neg:
            what.append(f"{n_neg} negative (min {float(p[~bad].min()):.3g})")
        if not clamp:
            raise HDRBenchError(f"prediction has {' and '.join(what)} values; fix the method, or score with "
                                f"'hdrbench score --clamp' ({CLAMP_POLICY})", pred_name)
        p = torch.nan_to_num(p, nan=0.0, posinf=float(g.max()), neginf=0.0).clamp_min(0.0)
        if notes is not None:
            notes.append(f"{pred_name}: clamping repaired {' and '.join(what)} values ({CLAMP_POLICY})")
    return p, g
