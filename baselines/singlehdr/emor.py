"""The inverse EMoR model of camera response (Grossberg & Nayar), as SingleHDR's Linearization-Net uses it.

An inverse camera response ``g`` (pixel value → relative irradiance, both in [0, 1]) is modelled as
``g = g0 + Σ_{n=1..11} w_n·h_n`` sampled at 1024 evenly spaced pixel values. ``g0`` (the mean inverse curve)
and ``h_1…h_11`` (the principal components) come from the DoRF/EMoR distribution's ``invemor.txt``, as shipped
in ``alex04072000/SingleHDR``; see ``data/EMOR_SOURCE.md`` for the source, its terms and how our data file
was made: it keeps every 4th of the 1024 samples plus the last one (257 knots per curve), and
:func:`load_inverse_emor` restores the 1024 samples with a cubic spline through them.

Tensors: coefficients ``(N, 11)`` → curves ``(N, 1024)``; images ``(N, C, H, W)`` in [0, 1].
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from hdrbench.errors import HDRBenchError
from hdrbench.nn.shapes import building_shapes_only

N_SAMPLES = 1024
N_COMPONENTS = 11
DATA_FILE = Path(__file__).with_name("data") / "invemor_knots.txt"


def read_knots(path: str | Path = DATA_FILE) -> tuple[np.ndarray, np.ndarray]:
    """``(sample indices (K,), values (K, 12))`` from the shipped table: columns ``g0, h1 … h11``."""
    try:
        table = np.loadtxt(path, comments="#", dtype=np.float64)
    except (OSError, ValueError) as exc:
        raise HDRBenchError(f"cannot read the inverse EMoR table ({exc}); reinstall hdrbench", path) from None
    if table.ndim != 2 or table.shape[1] != 1 + 1 + N_COMPONENTS:
        raise HDRBenchError(f"inverse EMoR table has shape {table.shape}, expected (K, 13); reinstall hdrbench", path)
    index = table[:, 0].astype(np.int64)
    if index[0] != 0 or index[-1] != N_SAMPLES - 1 or np.any(np.diff(index) <= 0):
        raise HDRBenchError("inverse EMoR table: sample indices must rise from 0 to 1023", path)
    return index, table[:, 1:]


@lru_cache(maxsize=2)
def load_inverse_emor(path: str | Path = DATA_FILE) -> tuple[np.ndarray, np.ndarray]:
    """``g0`` ``(1024,)`` and ``H`` ``(1024, 11)``: the inverse EMoR mean curve and basis at all samples."""
    from scipy.interpolate import CubicSpline

    index, values = read_knots(path)
    full = CubicSpline(index, values, axis=0)(np.arange(N_SAMPLES))
    full[index] = values  # the knots exactly as published
    return full[:, 0].copy(), full[:, 1:].copy()


class InverseEMoR(nn.Module):
    """``w`` ``(N, 11)`` → inverse CRF ``g0 + H·w`` ``(N, 1024)`` (constants kept out of the state dict)."""

    def __init__(self, path: str | Path = DATA_FILE):
        super().__init__()
        if building_shapes_only():  # shapes only: the table (and scipy's spline) are not needed
            g0, basis = torch.empty(N_SAMPLES), torch.empty(N_SAMPLES, N_COMPONENTS)
        else:
            g0, basis = (torch.from_numpy(a).float() for a in load_inverse_emor(path))
        self.register_buffer("g0", g0, persistent=False)
        self.register_buffer("basis", basis, persistent=False)

    def forward(self, weights: torch.Tensor) -> torch.Tensor:
        return self.g0 + weights @ self.basis.T


def make_increasing(curve: torch.Tensor) -> torch.Tensor:
    """The official ``_increase``: shift the differences to be ≥ 0, normalise their sum to 1, integrate from 0.

    ``curve`` ``(N, K)`` → a non-decreasing curve ``(N, K)`` from 0 to 1.
    """
    steps = curve[:, 1:] - curve[:, :-1]
    steps = steps + torch.relu(-steps.amin(dim=1, keepdim=True))
    steps = steps / steps.sum(dim=1, keepdim=True).clamp_min(1e-12)
    return torch.nn.functional.pad(torch.cumsum(steps, dim=1), (1, 0))


def apply_response(image: torch.Tensor, curve: torch.Tensor) -> torch.Tensor:
    """Map ``image`` ``(N, C, H, W)`` in [0, 1] through ``curve`` ``(N, K)`` by linear interpolation.

    The official ``apply_rf``/``interp_1d``: position ``x·(K − 1)``, neighbours ``floor`` and ``floor + 1``
    (clamped to the table), differentiable in both the image and the curve.
    """
    n, k = curve.shape
    pos = image.clamp(0, 1).reshape(n, -1) * (k - 1)
    lo = pos.floor()
    w_hi = pos - lo
    lo_i = lo.long().clamp(0, k - 1)
    hi_i = (lo_i + 1).clamp(max=k - 1)
    out = (1 - w_hi) * torch.gather(curve, 1, lo_i) + w_hi * torch.gather(curve, 1, hi_i)
    return out.reshape(image.shape)
