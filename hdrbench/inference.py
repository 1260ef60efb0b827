"""Whole-image and tiled inference for any registered method, with bounded memory.

``tiled_predict`` cuts the input into tiles of ``tile`` pixels, each grown by ``overlap`` pixels of
context on every side (clamped at the image border), runs :meth:`Method.predict` on each, and keeps only
the tile's core. Tile origins are multiples of the method's ``pad_multiple`` so every tile sees the same
down-sampling grid as the whole image; with ``overlap`` ≥ the network's receptive margin the result
equals whole-image inference up to float rounding (``tests/test_tiling.py``: ≤ 1e-4 for DCDR-UNet).

A deformable convolution's reach depends on its offsets: DCDR-UNet's receptive radius is about 83 px
with zero offsets plus up to 48 px per pixel of offset magnitude (16 deformable convs at ×0.5/×0.25), so
a model with large learned offsets needs a larger ``overlap`` than its class's ``receptive_margin``.
Peak memory scales with ``(tile + 2·overlap)²`` instead of the image area.

Tensors: ``ldr`` (1, 3, H, W) display-referred [0, 1] → linear HDR (1, 3, H, W).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from hdrbench.defaults import DEFAULT_TILE
from hdrbench.errors import HDRBenchError
from hdrbench.method import Method


def _starts(size: int, tile: int) -> list[int]:
    return list(range(0, size, tile)) if size > tile else [0]


@torch.no_grad()
def tiled_predict(method: Method, net: nn.Module, ldr: torch.Tensor, *, tile: int = DEFAULT_TILE,
                  overlap: int | None = None) -> torch.Tensor:
    """Predict ``ldr`` (N, 3, H, W) tile by tile; ``tile <= 0`` or a small image runs whole. A negative
    ``overlap`` is an error (it would crop each tile's core from the wrong place)."""
    if overlap is not None and overlap < 0:
        raise HDRBenchError(f"tiled inference: overlap={overlap} must be >= 0 (pixels of context on each tile side)")
    n, _, h, w = ldr.shape
    if tile <= 0 or (h <= tile and w <= tile):
        return method.predict(net, ldr)
    m = max(1, method.pad_multiple)
    tile = max(m, (tile // m) * m)
    overlap = method.receptive_margin if overlap is None else overlap
    overlap = int(math.ceil(overlap / m) * m)
    out: torch.Tensor | None = None
    for y0 in _starts(h, tile):
        for x0 in _starts(w, tile):
            y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
            ya, xa = max(0, y0 - overlap), max(0, x0 - overlap)
            yb, xb = min(h, y1 + overlap), min(w, x1 + overlap)
            pred = method.predict(net, ldr[..., ya:yb, xa:xb])
            if out is None:
                out = torch.empty((n, pred.shape[1], h, w), dtype=pred.dtype, device=pred.device)
            out[..., y0:y1, x0:x1] = pred[..., y0 - ya:y1 - ya, x0 - xa:x1 - xa]
    assert out is not None
    return out
