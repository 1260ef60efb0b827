"""HDR-VDP 2.2.x in torch: :func:`hdrvdp2` (Q, P_det, P_map, C_max) and the registered metric ``hdrvdp2``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hdrbench.errors import HDRBenchError
from hdrbench.metrics.base import Metric
from hdrbench.metrics.hdrvdp2.masking import mask_and_pool
from hdrbench.metrics.hdrvdp2.params import HDRVDPParams
from hdrbench.metrics.hdrvdp2.pathway import encode, filter_base_band, visual_pathway
from hdrbench.metrics.hdrvdp2.photoreceptors import default_lmsr_matrix, lmsr_matrix_from_hdrvdp_dir
from hdrbench.metrics.hdrvdp2.recon import reconstruct_steerable_pyramid_matlab


@dataclass
class HDRVDP2Result:
    """Outputs per image: ``Q`` (N,) quality (100 = identical), ``P_det`` (N,) detection probability,
    ``P_map`` (N, H, W) per-pixel detection probability, ``C_max`` (N,) max threshold-normalised contrast."""

    Q: torch.Tensor
    P_det: torch.Tensor
    P_map: torch.Tensor
    C_max: torch.Tensor


def _as_nchw(x: torch.Tensor | np.ndarray, name: str) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if t.ndim == 2:
        t = t[None, None]
    elif t.ndim == 3:  # (H, W, C) as in MATLAB
        t = t.permute(2, 0, 1)[None]
    if t.ndim != 4:
        raise HDRBenchError(f"hdrvdp2: {name} must be (H, W), (H, W, C) or (N, C, H, W), got {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise HDRBenchError(f"hdrvdp2: {name} contains NaN or inf values")
    return t if t.is_floating_point() else t.to(torch.float64)


def hdrvdp2(test: torch.Tensor | np.ndarray, reference: torch.Tensor | np.ndarray, color_encoding: str = "rgb-native",
            pixels_per_degree: float = 24.0, input_scale: float = 1.0, *, surround_l: float = 1e-5,
            hdrvdp_dir: str | Path | None = None, rgb_display: str = "ccfl-lcd", compute_p_map: bool = True,
            lmsr: np.ndarray | None = None, params: HDRVDPParams | None = None,
            dtype: torch.dtype = torch.float32) -> HDRVDP2Result:
    """HDR-VDP 2.2.x of ``test`` against ``reference`` (test first, as ``hdrvdp(test, reference, ...)``).

    Images: ``(N, C, H, W)`` tensors, or one ``(H, W[, C])`` array. ``input_scale``: the luminance in cd/m^2
    of a pixel value of 1.0 (applied before the absolute encodings ``rgb-native``, ``rgb-bt.709``,
    ``luminance``, ``xyz``; ignored by the display encodings). ``rgb_display``: the emission spectra of
    3-channel input (``ccfl-lcd``, HDR-VDP 2.2.1's default; ``led-lcd``; ``crt``). The photoreceptor matrix is
    built from HDR-VDP 2.2.1's own data files, shipped with hdrbench, or from those of ``hdrvdp_dir`` (a copy
    of an HDR-VDP 2.2.x folder: files next to ``hdrvdp.m`` or in ``data/``); ``lmsr`` (``(C, 4)``) gives it
    directly. ``dtype``: precision of the image-sized computations
    (float32 by default: it changes Q by < 1e-3 on the reference cases; pooling sums are always float64).
    """
    t, r = _as_nchw(test, "test"), _as_nchw(reference, "reference")
    if t.shape != r.shape:
        raise HDRBenchError(f"hdrvdp2: test {tuple(t.shape)} and reference {tuple(r.shape)} differ in shape")
    # the encoding and the 0.1 % difference mask in the wider of the input's dtype and ``dtype``
    work = torch.promote_types(torch.promote_types(t.dtype, r.dtype), dtype)
    t, r = t.to(work), r.to(work)
    params = params or HDRVDPParams(pix_per_deg=float(pixels_per_degree), surround_l=surround_l)
    if color_encoding.lower() not in ("luma-display", "srgb-display"):
        t, r = t * input_scale, r * input_scale
    t, r = encode(t, color_encoding), encode(r, color_encoding)
    diff_mask = ((t - r).abs() / r > 0.001).any(dim=1).to(dtype)  # pixels that differ by more than 0.1 %
    t, r = t.to(dtype), r.to(dtype)
    n, channels = t.shape[:2]
    if lmsr is None:
        lmsr = lmsr_matrix_from_hdrvdp_dir(hdrvdp_dir, channels, rgb_display) if hdrvdp_dir else \
            default_lmsr_matrix(channels, rgb_display)
    out = visual_pathway(torch.cat([r, t]), lmsr, params)  # reference first: its base band sets the pad value
    bands_r = [b[:n] for b in out.bands]
    bands_t = [b[n:] for b in out.bands]
    l_mean = out.l_adapt.mean(dim=(-2, -1))
    pad = bands_r[-1].mean(dim=(1, 2, 3))
    base = filter_base_band(torch.cat([bands_r[-1], bands_t[-1]]), l_mean, torch.cat([pad, pad]),
                            float(out.band_freq[-1]), params)
    bands_r[-1], bands_t[-1] = base[:n], base[n:]
    l_adapt = (out.l_adapt[n:] + out.l_adapt[:n]) / 2
    q, d_bands = mask_and_pool(bands_t, bands_r, l_adapt, diff_mask, out.band_freq, params,
                               return_bands=compute_p_map)
    if not compute_p_map:
        nan = torch.full_like(q, float("nan"))
        return HDRVDP2Result(q, nan, torch.empty(0), nan)
    s_map = reconstruct_steerable_pyramid_matlab(d_bands)[:, 0].abs()
    if params.do_spatial_pooling:
        s_map = s_map.sum(dim=(-2, -1), keepdim=True) / (s_map.amax(dim=(-2, -1), keepdim=True) + 1e-12) * s_map
    p_map = 1 - torch.exp(np.log(0.5) * s_map)
    return HDRVDP2Result(q, p_map.amax(dim=(-2, -1)), p_map, s_map.amax(dim=(-2, -1)))


class HDRVDP2(Metric):
    """HDR-VDP-2 quality Q (2.2.1+ scale, 100 = identical, higher is better), torch port or original under Octave."""

    label = "HDR-VDP2"
    decimals = 2
    lower_better = False
    domain = "linear"
    default_params: dict[str, Any] = {"pixels_per_degree": 24.0, "input_scale": 1.0, "color_encoding": "rgb-native",
                                      "surround_l": 1e-5, "rgb_display": "ccfl-lcd", "hdrvdp_dir": None,
                                      "backend": "torch", "octave_path": None}

    def __init__(self, **params: Any):
        super().__init__(**params)
        #: Set by a caller that wants the per-pixel detection probabilities of the next call (``last_p_map``,
        #: ``(N, H, W)``; torch backend only): the overexposed-region scores average them over each bin.
        self.keep_p_map = False
        self.last_p_map: torch.Tensor | None = None
        if self.params["backend"] not in ("torch", "octave"):
            raise HDRBenchError(f"metric 'hdrvdp2': parameter 'backend' must be 'torch' or 'octave', "
                                f"got '{self.params['backend']}'")

    def compute(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        p = self.params
        if p["backend"] == "octave":
            from hdrbench.metrics.hdrvdp2.octave import hdrvdp2_octave

            return torch.tensor([hdrvdp2_octave(pr, g, p["octave_path"], p["color_encoding"], p["pixels_per_degree"],
                                                p["input_scale"], rgb_display=p["rgb_display"])["Q"]
                                  for pr, g in zip(pred, gt)],
                                dtype=torch.float64)
        res = hdrvdp2(pred, gt, p["color_encoding"], p["pixels_per_degree"], p["input_scale"],
                      surround_l=p["surround_l"], hdrvdp_dir=p["hdrvdp_dir"], rgb_display=p["rgb_display"],
                      compute_p_map=self.keep_p_map)
        self.last_p_map = res.P_map if self.keep_p_map else None
        return res.Q
