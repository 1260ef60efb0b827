"""HDRTV-domain metrics on PQ-coded BT.2020 (HDR10) frames: PQ-PSNR, PQ-SSIM, SR-SIM, ΔE_ITP, HDR-VDP-2 (luminance).

Every metric first makes the HDR10 code values an HDRTV paper compares (HDRTVNet, Chen et al. 2021; Deep
SR-ITM, Kim et al. 2019): the linear inputs become absolute luminance (``anchor='gt-max'``: the ground
truth's maximum → ``peak_luminance`` cd/m², 1000 by default, one factor for both images; ``absolute``: values
× ``scale`` are cd/m²), BT.709 primaries are re-expressed in BT.2020 (``primaries='bt709'``, ITU-R BT.2087;
``bt2020``: already BT.2020), clamped to [0, 10⁴] cd/m², SMPTE ST 2084 (PQ) encoded to [0, 1] and, with
``bits`` (16 in the ``hdrtv`` preset, as the 16-bit PNGs those papers score), rounded to integer codes.

- ``pq-psnr``: PSNR of the PQ RGB values, peak 1 (HDRTVNet ``codes/utils/util.py`` ``calculate_psnr``).
- ``pq-ssim``: SSIM of the PQ RGB values, data range 1, mean over channels (HDRTVNet++ ``metrics/DeltaE_ITP.py``:
  ``piq.ssim(gt, pred, data_range=65535, downsample=False)`` on the 16-bit codes: 11-tap Gaussian σ = 1.5,
  'valid' filtering — :func:`hdrbench.metrics.ssim.ssim` with ``border='crop'``).
- ``sr-sim``: piq ``srsim(gt, pred, data_range=1)`` of the PQ values (the same file: ``data_range=65535`` on the
  16-bit codes), grayscale (piq's default, as HDRTVNet's ``SR_SIM.m``: Y = 0.299R + 0.587G + 0.114B); the PQ
  values on SR-SIM's 0–255 scale (its constants assume it; ``SR_SIM.m``'s caller is not published).
  ``channel_order='bgr'``: HDRTVNet++'s BGR quirk.
- ``delta-e-itp``: ITU-R BT.2124 ΔE_ITP, mean over pixels, lower is better (HDRTVNet ``metrics/DeltaE_ITP.py``:
  PQ codes → ``colour.models.eotf_ST2084`` → ``colour.RGB_to_ICtCp`` → ``720·√(ΔI² + ¼ΔCt² + ΔCp²)``), with
  colour-science's ``eotf_ST2084``, ``RGB_to_ICtCp`` (BT.2100 PQ) and ``colour.difference.delta_E_ITP``.
- ``hdrvdp2-pq``: HDR-VDP-2 Q on the PQ-decoded BT.2020 luminance (Y = 0.2627R + 0.6780G + 0.0593B of the
  linear cd/m² RGB), ``'luminance'``, 30 pixels per degree (Deep SR-ITM #24). ``gt_first=True`` passes the
  ground truth as HDR-VDP's *test* image, as that issue's code does (``hdrvdp(HDR_Ylin, pred_Ylin, ...)``);
  the default ``False`` is HDR-VDP's documented order (prediction = test).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from hdrbench.errors import HDRBenchError
from hdrbench.metrics.base import Metric
from hdrbench.metrics.psnr import psnr
from hdrbench.metrics.pu21_metrics import piq_unchecked
from hdrbench.metrics.ssim import _SSIM_SETTINGS, BORDERS, _ssim_kwargs, ssim
from hdrbench.metrics.transforms import (
    ANCHORS,
    LUMINANCE_WEIGHTS_BT2020,
    absolute_from_params,
    bt709_to_bt2020,
    luminance,
    pq_decode,
    pq_encode,
    quantize,
)

#: Primaries of the linear input: BT.709 (converted to the BT.2020 container) or already BT.2020.
PRIMARIES = ("bt709", "bt2020")
#: Grading peak of HDR10 content in the HDRTV papers (HDRTVNet #17: KOEO to 1000 cd/m², as Deep SR-ITM).
HDRTV_PEAK = 1000.0
PQ_PARAMS: dict[str, Any] = {"anchor": "gt-max", "peak_luminance": HDRTV_PEAK, "scale": 1.0, "primaries": "bt709",
                             "bits": None}


def pq_frames(pred: torch.Tensor, gt: torch.Tensor, params: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
    """PQ code values in [0, 1] (float64, BT.2020 RGB) of linear ``pred``/``gt`` ``(N, 3, H, W)``, per ``params``
    (``anchor``, ``peak_luminance``, ``scale``, ``primaries``, ``bits``: see the module docstring)."""
    pred, gt = absolute_from_params(pred, gt, params)
    if params["primaries"] == "bt709":
        pred, gt = bt709_to_bt2020(pred), bt709_to_bt2020(gt)
    bits = params["bits"]
    return quantize(pq_encode(pred), bits), quantize(pq_encode(gt), bits)


class _PQ(Metric):
    """Common part: parameters and the PQ code values."""

    lower_better: ClassVar[bool] = False
    domain: ClassVar[str] = "pq"
    decimals = 4
    default_params: ClassVar[dict[str, Any]] = dict(PQ_PARAMS)

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.check_choice("anchor", ANCHORS)
        self.check_choice("primaries", PRIMARIES)
        bits = self.params["bits"]
        if bits is not None and not (isinstance(bits, int) and 1 <= bits <= 32):
            raise HDRBenchError(f"metric '{self.name}': bits must be None or an integer in 1..32 (got {bits!r})")

    def frames(self, pred: torch.Tensor, gt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return pq_frames(pred, gt, self.params)


class PQPSNR(_PQ):
    """PSNR of PQ-coded BT.2020 RGB, peak 1 (HDRTVNet's PSNR)."""

    label = "PQ-PSNR"
    decimals = 2

    def compute(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        return psnr(*self.frames(pred, gt), 1.0)


class PQSSIM(_PQ):
    """SSIM of PQ-coded BT.2020 RGB, data range 1, mean over channels (HDRTVNet++'s piq SSIM); window settings
    and ``border`` as ``ssim``."""

    label = "PQ-SSIM"
    default_params: ClassVar[dict[str, Any]] = {**PQ_PARAMS, **_SSIM_SETTINGS, "win_size": 11}

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.check_choice("border", BORDERS)

    def compute(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        p, g = self.frames(pred, gt)
        return ssim(p, g, 1.0, **_ssim_kwargs(self.params))


class SRSIM(_PQ):
    """SR-SIM (piq, grayscale; ``chromatic=True``: piq's colour variant) of PQ-coded BT.2020 RGB, data range 1.

    ``channel_order='bgr'`` hands piq the channels reversed, as HDRTVNet++'s script does (``cv2.imread`` arrays
    straight into ``piq.srsim``: its grayscale becomes 0.299B + 0.587G + 0.114R); the default ``rgb`` is
    HDRTVNet's ``SR_SIM.m`` (MATLAB ``imread``, RGB).
    """

    label = "SR-SIM"
    default_params: ClassVar[dict[str, Any]] = {**PQ_PARAMS, "chromatic": False, "channel_order": "rgb"}

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.check_choice("channel_order", ("rgb", "bgr"))

    def compute(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        p, g = self.frames(pred, gt)
        if self.params["channel_order"] == "bgr":
            p, g = p.flip(1), g.flip(1)
        return piq_unchecked("srsim")(g, p, data_range=1.0, chromatic=bool(self.params["chromatic"]),
                                      reduction="none")


def delta_e_itp_map(pq_a: np.ndarray, pq_b: np.ndarray) -> np.ndarray:
    """Per-pixel ΔE_ITP ``(..., )`` of two PQ-coded BT.2020 RGB arrays ``(..., 3)`` (colour-science)."""
    try:
        import colour
    except ImportError:
        raise HDRBenchError("metric 'delta-e-itp' needs colour-science: pip install colour-science") from None
    ictcp = [colour.RGB_to_ICtCp(colour.models.eotf_ST2084(v), method="ITU-R BT.2100-2 PQ") for v in (pq_a, pq_b)]
    return colour.difference.delta_E_ITP(*ictcp)


class DeltaEITP(_PQ):
    """ITU-R BT.2124 ΔE_ITP between the PQ-coded BT.2020 frames, mean over pixels (colour-science); lower is better."""

    label = "ΔE_ITP"
    label_latex = r"$\Delta E_{ITP}$"
    decimals = 2
    lower_better: ClassVar[bool] = True

    def compute(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        p, g = (v.permute(0, 2, 3, 1).cpu().numpy() for v in self.frames(pred, gt))
        return torch.from_numpy(delta_e_itp_map(p, g).reshape(p.shape[0], -1).mean(axis=1)).double()


class HDRVDP2PQ(_PQ):
    """HDR-VDP-2 Q on PQ-decoded BT.2020 luminance in cd/m² (``'luminance'``, 30 ppd: Deep SR-ITM's setting)."""

    label = "HDR-VDP2 (PQ)"
    decimals = 2
    default_params: ClassVar[dict[str, Any]] = {**PQ_PARAMS, "pixels_per_degree": 30.0, "gt_first": False}

    def compute(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        from hdrbench.metrics.hdrvdp2.metric import hdrvdp2

        p, g = (luminance(pq_decode(v), LUMINANCE_WEIGHTS_BT2020) for v in self.frames(pred, gt))
        test, ref = (g, p) if self.params["gt_first"] else (p, g)
        return hdrvdp2(test, ref, "luminance", float(self.params["pixels_per_degree"]), 1.0,
                       compute_p_map=False).Q.double()
