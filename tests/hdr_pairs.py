"""Real HDR test pairs for the exactness tests: the demo set's ground truths with synthetic predictions.

26 ground truths (the 8 test views and every 4th train view: 26 scenes), each with one of 8 distortions in
turn: noise, blur, exposure up/down one stop, clipping, highlight overshoot, colour cast, noise + blur.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from scipy.ndimage import gaussian_filter

DISTORTIONS = ("noise", "blur", "exposure+1", "exposure-1", "clip", "overshoot", "cast", "noise+blur")


def distort(gt: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """``gt`` ``(H, W, 3)`` (linear, >= 0) with distortion ``kind``; float32, >= 0."""
    blur = lambda x: gaussian_filter(x, sigma=(1.5, 1.5, 0), mode="reflect")  # noqa: E731
    noise = lambda x: x * (1 + 0.1 * rng.standard_normal(x.shape)) + 0.002 * x.max() * rng.random(x.shape)  # noqa: E731
    hi = np.percentile(gt, 90)
    out = {"noise": noise, "blur": blur, "exposure+1": lambda x: 2.0 * x, "exposure-1": lambda x: 0.5 * x,
           "clip": lambda x: np.minimum(x, np.percentile(x, 95)),
           "overshoot": lambda x: x + 2.0 * np.maximum(x - hi, 0),
           "cast": lambda x: x * np.array([1.15, 1.0, 0.85]),
           "noise+blur": lambda x: noise(blur(x))}[kind](gt.astype(np.float64))
    return np.maximum(out, 0).astype(np.float32)


@cache
def demo_pairs() -> tuple[tuple[str, np.ndarray, np.ndarray], ...]:
    """``((label, pred, gt), ...)``: 26 pairs of ``(256, 256, 3)`` float32 linear HDR."""
    from hdrbench.datasets.base import create_dataset

    ds = create_dataset("demo")
    pairs = list(ds.pairs("test")) + list(ds.pairs("train"))[::4]
    rng = np.random.default_rng(2022)
    out = []
    for i, p in enumerate(pairs):
        _, gt = ds.load_pair(p)
        kind = DISTORTIONS[i % len(DISTORTIONS)]
        out.append((f"{p.id}/{kind}", distort(gt, kind, rng), np.asarray(gt, dtype=np.float32)))
    return tuple(out)


def nchw(a: np.ndarray):
    """``(H, W, C)`` numpy → ``(1, C, H, W)`` torch tensor (same dtype)."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None]
