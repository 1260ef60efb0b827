"""Checks on a (prediction, ground truth) pair before scoring: shapes, NaN/inf, negatives, black references.

Used by ``hdrbench score`` and by the evaluation runner, so bad input always fails the same way: one
:class:`HDRBenchError` line naming the file and the fix, never silently wrong numbers.
"""

from __future__ import annotations

import numpy as np
import torch

from hdrbench.errors import HDRBenchError

CLAMP_POLICY = "NaN -> 0, -inf -> 0, +inf -> the ground truth's maximum, negatives -> 0"


def _as_tensor(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    return x if isinstance(x, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(x))


def check_pair(pred: np.ndarray | torch.Tensor, gt: np.ndarray | torch.Tensor, pred_name: str = "prediction",
               gt_name: str = "ground truth", clamp: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate and return ``(pred, gt)`` as float32 tensors of the input layout (``(H, W, 3)`` or ``(N, 3, H, W)``).

    Both are linear HDR. Errors: different shapes; a ground truth with NaN/inf or negative values, or all
    zeros; a prediction with NaN/inf or negative values unless ``clamp``, which repairs it as
    :data:`CLAMP_POLICY` says (a ground truth is never repaired).
    """
    p, g = _as_tensor(pred).float(), _as_tensor(gt).float()
    if p.shape != g.shape:
        raise HDRBenchError(f"prediction {tuple(p.shape)} and ground truth {tuple(g.shape)} ({gt_name}) differ in "
                            "shape; predictions must have the ground truth's size", pred_name)
    if not bool(torch.isfinite(g).all()):
        raise HDRBenchError(f"ground truth has {int((~torch.isfinite(g)).sum())} NaN/inf values; fix or exclude "
                            "this image", gt_name)
    if bool((g < 0).any()):
        raise HDRBenchError(f"ground truth has {int((g < 0).sum())} negative values (min {float(g.min()):.3g}); "
                            "linear HDR must be >= 0: clip it when preparing the data", gt_name)
    if not bool((g > 0).any()):
        raise HDRBenchError("ground truth is all zeros: no metric is defined against a black image; exclude it",
                            gt_name)
    bad = ~torch.isfinite(p)
    neg = p < 0
    if not clamp and (bool(bad.any()) or bool(neg.any())):
        what = []
        if bool(bad.any()):
            what.append(f"{int(bad.sum())} NaN/inf")
        if bool(neg.any()):
            what.append(f"{int(neg.sum())} negative (min {float(p[~bad].min()):.3g})")
        raise HDRBenchError(f"prediction has {' and '.join(what)} values; fix the method or pass --clamp "
                            f"({CLAMP_POLICY})", pred_name)
    if clamp:
        p = torch.nan_to_num(p, nan=0.0, posinf=float(g.max()), neginf=0.0).clamp_min(0.0)
    return p, g
