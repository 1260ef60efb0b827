"""Highlight masks: where an image is (nearly) saturated."""

from __future__ import annotations

import torch


def highlight_mask(image: torch.Tensor, threshold: float = 0.95) -> torch.Tensor:
    """Weight ``α = clip((max_c image − threshold) / (1 − threshold), 0, 1)``, shape ``(N, 1, H, W)``.

    ``image`` ``(N, C, H, W)``, display-referred LDR or linear HDR in saturation units (1 = clipping level).
    Pixels whose brightest channel is ≤ ``threshold`` get 0, a saturated pixel (1.0) gets 1, linear between.
    Used by HDRCNN (blend and loss mask, τ = 0.95), HDRTV (HG mask, r = 0.95) and SingleHDR (1 − 0.12).
    """
    peak = image.amax(dim=1, keepdim=True)
    return ((peak - threshold) / (1.0 - threshold)).clamp(0.0, 1.0)
