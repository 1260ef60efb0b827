"""The visual pathway of HDR-VDP 2.2.x for a batch of images (``hdrvdp_visual_pathway.m``).

Colour encoding -> optical glare (eye MTF) -> photoreceptor responses (L, M, rods) -> JND non-linearity
-> achromatic response P -> steerable pyramid. The base band's CSF filtering needs the reference image's
pad value, so it is done by :func:`filter_base_band` once test and reference are both decomposed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from hdrbench.errors import HDRBenchError
from hdrbench.metrics.hdrvdp2.csf import neural_csf
from hdrbench.metrics.hdrvdp2.optics import cycdeg_grid, fft_filter_padded, optical_glare
from hdrbench.metrics.hdrvdp2.params import HDRVDPParams
from hdrbench.metrics.hdrvdp2.photoreceptors import JNDTransducer
from hdrbench.metrics.hdrvdp2.pyramid import build_steerable_pyramid

ENCODINGS = ("rgb-native", "rgb-bt.709", "luminance", "luma-display", "srgb-display", "xyz")
_XYZ_TO_RGB = torch.tensor([[3.240708, -1.537259, -0.498570], [-0.969257, 1.875995, 0.041555],
                            [0.055636, -0.203996, 1.057069]], dtype=torch.float64)


def encode(img: torch.Tensor, color_encoding: str) -> torch.Tensor:
    """Pixel values ``(N, C, H, W)`` -> absolute luminance/radiance units the model works in (cd/m^2).

    ``rgb-native`` and ``rgb-bt.709`` and ``luminance``: values already absolute (no transform; in 2.2.x
    ``rgb-native`` matches no case of the encoding switch and behaves as ``rgb-bt.709``).
    ``luma-display``: ``99 V^2.2 + 1``. ``srgb-display``: sRGB EOTF then ``99 x + 1``. ``xyz``: CIE XYZ to linear RGB.
    """
    enc = color_encoding.lower()
    channels = img.shape[1]
    need = {"luminance": 1, "luma-display": 1, "srgb-display": 3, "rgb-bt.709": 3, "rgb-native": 3, "xyz": 3}
    if enc not in need:
        raise HDRBenchError(f"hdrvdp2: unknown color_encoding '{color_encoding}' (known: {', '.join(ENCODINGS)})")
    if channels != need[enc]:
        raise HDRBenchError(f"hdrvdp2: color_encoding '{color_encoding}' needs {need[enc]} channel(s), got {channels}")
    if enc == "luma-display":
        return 99.0 * img.clamp(min=0) ** 2.2 + 1.0
    if enc == "srgb-display":
        lin = torch.where(img <= 0.04045, img / 12.92, ((img + 0.055) / 1.055).clamp(min=0) ** 2.4)
        return 99.0 * lin + 1.0
    if enc == "xyz":
        return torch.einsum("rc,nchw->nrhw", _XYZ_TO_RGB.to(img), img)
    return img


@dataclass
class PathwayOutput:
    """Per-image outputs: ``bands`` (list, finest first, each ``(N, K, h, w)``), ``l_adapt`` ``(N, H, W)`` cd/m^2."""

    bands: list[torch.Tensor]
    l_adapt: torch.Tensor
    band_freq: np.ndarray


def visual_pathway(img: torch.Tensor, lmsr: np.ndarray, params: HDRVDPParams) -> PathwayOutput:
    """Run ``img`` (``(N, C, H, W)``, absolute units, float64) up to the multi-scale decomposition."""
    l_o = optical_glare(img, params)
    m = torch.as_tensor(lmsr, dtype=img.dtype, device=img.device)[:, [0, 1, 3]]  # (C, 3): L, M, rods (S unused)
    r_lmr = torch.einsum("nchw,ck->nkhw", l_o, m)
    l_adapt = r_lmr[:, 0] + r_lmr[:, 1]
    transducer = JNDTransducer(params)
    p_cone = transducer(r_lmr[:, 0], 0) + transducer(r_lmr[:, 1], 0)
    p_rod = transducer(r_lmr[:, 2], 1)
    p = (p_cone - p_cone.mean(dim=(-2, -1), keepdim=True)) + (p_rod - p_rod.mean(dim=(-2, -1), keepdim=True))
    bands = build_steerable_pyramid(p[:, None])
    band_freq = 2.0 ** -np.arange(len(bands)) * params.pix_per_deg / 2
    return PathwayOutput(bands, l_adapt, band_freq)


def filter_base_band(base: torch.Tensor, l_mean: torch.Tensor, pad_value: torch.Tensor, base_freq: float,
                     params: HDRVDPParams) -> torch.Tensor:
    """CSF-filter the low-pass band ``base`` ``(N, 1, h, w)`` at each image's mean adapting luminance ``l_mean`` (N,).

    The filter lattice is ``2h x 2w`` at ``base_freq * 2 * sqrt(2)`` pixels per degree (upstream's choice);
    ``pad_value`` (N,) is the mean of the *reference* base band, shared by test and reference.
    """
    h, w = base.shape[-2:]
    rho = cycdeg_grid(2 * h, 2 * w, base_freq * 2 * math.sqrt(2), half=True)
    lums = l_mean.detach().cpu().double().numpy()
    csf = torch.from_numpy(np.stack([neural_csf(rho, lum, params) for lum in lums]))[:, None]  # (N,1,2h,w+1)
    return fft_filter_padded(base, csf.to(base), pad_value.reshape(-1, 1), (2 * h, 2 * w))
