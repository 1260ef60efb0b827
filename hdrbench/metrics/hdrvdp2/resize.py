"""``imresize(X, [M N])`` as GNU Octave's image package (>= 2.14, the MATLAB-compatible rewrite) computes it.

Bicubic kernel (a = -0.5); when shrinking an axis the kernel is widened by ``1/scale`` and scaled by
``scale`` (anti-aliasing); borders are padded symmetrically (mirror including the edge pixel). Like Octave,
the weights are *not* renormalised. An axis whose size does not change is left untouched. The reference
values of HDR-VDP 2.2.1 were produced under Octave, so this is the resize that reproduces them.

Speed: halving and doubling (every band of an image with power-of-two sides) have the same weights for every
output of a phase, so they run as a few weighted sums of strided slices of the symmetrically padded input;
other ratios gather their taps.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch


def _cubic(h: np.ndarray) -> np.ndarray:
    a = np.abs(h)
    return np.where(a <= 1, 1.5 * a**3 - 2.5 * a**2 + 1, np.where(a <= 2, -0.5 * a**3 + 2.5 * a**2 - 4 * a + 2, 0.0))


def _symmetric(i: np.ndarray, size: int) -> np.ndarray:
    """0-based index of 1-based position ``i`` after symmetric (edge-repeating) padding."""
    idx = i - 1
    m = np.mod(idx, size)
    odd = np.mod(np.floor_divide(idx, size), 2) == 1
    return np.where(odd, size - 1 - m, m)


def resize_weights(n_in: int, n_out: int, scale: float | None = None,
                   normalize: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Gather indices ``(taps, n_out)`` and weights ``(taps, n_out)`` of the 1-D resize ``n_in -> n_out``.

    ``scale`` (default ``n_out / n_in``) places the samples; ``normalize`` makes each output's weights sum
    to 1 (MATLAB does, Octave does not).
    """
    raw, w = _raw_taps(n_in, n_out, scale)
    if normalize:
        w = w / w.sum(axis=0, keepdims=True)
    return _symmetric(raw + 1, n_in), w


def _raw_taps(n_in: int, n_out: int, scale: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """0-based source indices *before* symmetric folding ``(taps, n_out)`` and their weights."""
    scale = n_out / n_in if scale is None else scale
    pos = 0.5 + 1 / scale / 2 + np.arange(n_out) / scale  # 1-based source coordinates
    base = np.floor(pos)
    frac = pos - base
    size = 4.0 / scale if scale < 1 else 4.0
    half = math.ceil(size / 2)
    shifts = np.arange(1 - half, half + 1)[:, None]
    h = shifts - frac[None, :]
    w = scale * _cubic(scale * h) if scale < 1 else _cubic(h)
    return (base[None, :] + shifts - 1).astype(np.int64), w


@lru_cache(maxsize=64)
def _phases(n_in: int, n_out: int) -> tuple[list[tuple[int, np.ndarray, np.ndarray, int]], int, int, int, int] | None:
    """Polyphase form of a resize whose ratio is ``P/S`` with ``P <= 2`` (halving, doubling, integer shrinks).

    Output ``i = ph + P m`` is ``sum_t w_ph[t] x_pad[r_ph[t] + S m]`` with the same weights for every ``m``;
    returns ``([(ph, r_ph, w_ph, count)], P, S, lo, hi)`` (``lo..hi``: the unfolded source range), or None
    when the weights are not exactly periodic.
    """
    g = math.gcd(n_in, n_out)
    period, step = n_out // g, n_in // g
    if period > 2:
        return None
    raw, w = _raw_taps(n_in, n_out)
    keep = np.abs(w).max(axis=1) > 0  # the widened kernel's outermost taps can be exactly zero
    raw, w = raw[keep], w[keep]
    phases = []
    for ph in range(min(period, n_out)):
        m = np.arange(ph, n_out, period)
        same_w = (w[:, m] == w[:, ph:ph + 1]).all()
        same_r = (raw[:, m] - raw[:, ph:ph + 1] == step * np.arange(len(m))[None, :]).all()
        if not (same_w and same_r):
            return None
        phases.append((ph, raw[:, ph], w[:, ph], len(m)))
    return phases, period, step, int(raw.min()), int(raw.max())


def _along(t: torch.Tensor, dim: int, start: int, stop: int | None, step: int) -> torch.Tensor:
    index = [slice(None)] * t.ndim
    index[dim] = slice(start, stop, step)
    return t[tuple(index)]


def _resize_dim(x: torch.Tensor, dim: int, n_out: int) -> torch.Tensor:
    """Resize dimension ``dim`` of ``x`` to ``n_out``: polyphase shifted-slice sums, else the generic gather."""
    n_in = x.shape[dim]
    poly = _phases(n_in, n_out)
    if poly is None:
        return _resize_gather(x, dim, n_out)
    phases, period, step, lo, hi = poly
    src = torch.from_numpy(_symmetric(np.arange(lo, hi + 1) + 1, n_in)).to(x.device)
    xp = x.index_select(dim, src)  # symmetric padding: every tap is then a plain strided slice
    shape = list(x.shape)
    shape[dim] = n_out
    out = x.new_empty(shape)
    for ph, r, w, count in phases:
        o = _along(out, dim, ph, None, period)
        for t in range(len(w)):
            s = int(r[t]) - lo
            v = _along(xp, dim, s, s + step * (count - 1) + 1, step)
            if t == 0:
                torch.mul(v, float(w[0]), out=o)
            else:
                o.add_(v, alpha=float(w[t]))
    return out


def _resize_gather(x: torch.Tensor, dim: int, n_out: int, **weights: float | bool | None) -> torch.Tensor:
    """Generic resize of ``dim``: gather the taps' source slices and add them, weighted (``weights``: see
    :func:`resize_weights`)."""
    idx, w = resize_weights(x.shape[dim], n_out, **weights)
    idx_t = torch.from_numpy(idx).to(x.device)
    shape = [1] * x.ndim
    shape[dim] = n_out
    w_t = torch.from_numpy(w).to(device=x.device, dtype=x.dtype).reshape(len(w), *shape)
    out = x.index_select(dim, idx_t[0]) * w_t[0]
    for k in range(1, idx.shape[0]):
        out.add_(x.index_select(dim, idx_t[k]) * w_t[k])
    return out


def imresize(x: torch.Tensor, out_hw: tuple[int, int]) -> torch.Tensor:
    """Resize the last two dims of ``x`` to ``out_hw`` (Octave ``imresize(x, out_hw)``, bicubic); same dtype.

    Octave resizes the columns first; when both axes shrink the rows go first here (less data to transpose),
    which changes nothing but the float rounding (the two 1-D resizes commute).
    """
    if out_hw[0] < x.shape[-2] and out_hw[1] < x.shape[-1]:
        x = _resize_dim(x.contiguous(), -2, out_hw[0])
    if x.shape[-1] != out_hw[1]:
        if out_hw[1] > x.shape[-1]:  # enlarging: strided writes along the rows are cheap
            x = _resize_dim(x, -1, out_hw[1])
        else:  # shrinking: work on whole contiguous rows of the transpose
            x = _resize_dim(x.transpose(-1, -2).contiguous(), -2, out_hw[1]).transpose(-1, -2)
    if x.shape[-2] != out_hw[0]:
        x = _resize_dim(x.contiguous(), -2, out_hw[0])
    return x


def imresize_by_scale(x: torch.Tensor, scale: float) -> torch.Tensor:
    """MATLAB's ``imresize(x, scale)`` (bicubic, anti-aliased when shrinking, weights normalised, output
    ``ceil(size * scale)``) of the last two dims, rows first: what the ``imresize_np`` of the BasicSR-era
    codebases (HDRTVNet's condition image) computes."""
    for dim in (-2, -1):
        x = _resize_gather(x, dim, math.ceil(x.shape[dim] * scale), scale=scale, normalize=True)
    return x
