"""The ``hdrtv`` protocol: SDRTV→HDRTV papers (HDRTVNet, Chen et al. ICCV 2021; HDRTVNet++; Deep SR-ITM, Kim et al.
ICCV 2019), which score HDR10 frames: PQ-coded BT.2020 RGB.

Preparation (every metric, see :mod:`hdrbench.metrics.pq`): linear BT.709 RGB, the ground truth's maximum → 1000
cd/m² (both images, one factor), BT.709 → BT.2020 primaries (ITU-R BT.2087), SMPTE ST 2084 PQ code values in
[0, 1], rounded to 16 bits. Metrics: PSNR (peak 1) and SSIM (data range 1, RGB mean) of the PQ values, SR-SIM
(piq, grayscale), ΔE_ITP (ITU-R BT.2124, colour-science), HDR-VDP-2 Q on PQ-decoded luminance.

Readings where the sources leave a choice:

- **Peak 1000 cd/m²**: HDRTVNet issue #17 (the user's pipeline, following Deep SR-ITM: KOEO to a 1000 cd/m²
  peak, BT.709 → BT.2020, PQ, 16-bit PNG; the author adds only the SDR input's EOTF/OETF steps). Linear HDR has
  no absolute scale of its own, so the ground-truth maximum is taken as the grading peak.
- **16-bit codes**: HDRTVNet's ``test.py`` scores ``tensor2img(..., np.uint16) / 65535`` of prediction and
  ground truth, and HDRTVNet++'s metric script reads 16-bit PNGs; ``bits=16`` reproduces that rounding.
- **SSIM, SR-SIM**: the HDRTVNet repository has no SSIM code; HDRTVNet++'s ``metrics/DeltaE_ITP.py`` (the same
  group's released metric script) calls ``piq.ssim(gt, pred, data_range=65535, downsample=False)`` and
  ``piq.srsim(gt, pred, data_range=65535)`` on the 16-bit codes: followed here (``pq-ssim`` is hdrbench's SSIM
  with scikit-image's borders, which equals piq's; ``sr-sim`` is piq's).
- **HDR-VDP**: HDRTVNet reports HDR-VDP-3 (``calculate_hdrvdp3.m``: ``hdrvdp3('side-by-side', LQ, GT,
  'rgb-bt.2020', 50, {'rgb_display', 'led-lcd-wcg'})``), which exists only in MATLAB. The preset uses Deep
  SR-ITM's HDR-VDP-2 setting instead (issue #24: HDR-VDP-2.2.2, ``'luminance'``, 30 ppd, on the Y of the
  PQ-decoded linear BT.2020 RGB) with hdrbench's HDR-VDP-2.2 port. That issue's code passes the ground truth
  first (``hdrvdp(HDR_Ylin, pred_Ylin, 'luminance', 30)``), i.e. as HDR-VDP's test image; the preset follows
  the code (``gt_first=True``): it is what produced the published numbers. ``gt_first=False`` gives HDR-VDP's
  documented order. Its scores are not comparable with HDRTVNet's HDR-VDP-3 column.
"""

from __future__ import annotations

from hdrbench.metrics.literature.base import LiteratureProtocol
from hdrbench.metrics.pq import HDRTV_PEAK, PQ_PARAMS

_PQ16 = {**PQ_PARAMS, "bits": 16}

PROTOCOLS: dict[str, LiteratureProtocol] = {
    "hdrtv": LiteratureProtocol(
        name="hdrtv",
        source="chxy95/HDRTVNet README and #17 (metrics); HDRTVNet++ metrics/DeltaE_ITP.py (piq SSIM, SR-SIM); "
               "sooyekim/Deep-SR-ITM #14, #24 (HDR-VDP on PQ-decoded luminance, 30 ppd)",
        summary="values as given, each metric PQ-codes BT.2020 at max gt → 1000 cd/m², 16-bit: PSNR, SSIM, "
                "SR-SIM, ΔE_ITP on PQ values; HDR-VDP-2 luminance 30 ppd on PQ-decoded Y (gt first)",
        metrics=("pq-psnr", "pq-ssim", "sr-sim", "delta-e-itp", "hdrvdp2-pq"),
        params={
            "pq-psnr": dict(_PQ16),
            "pq-ssim": dict(_PQ16),
            "sr-sim": dict(_PQ16),
            "delta-e-itp": dict(_PQ16),
            "hdrvdp2-pq": {**_PQ16, "pixels_per_degree": 30.0, "gt_first": True},
        },
        assumes=f"linear BT.709 HDR whose maximum is the grading peak ({HDRTV_PEAK:g} cd/m²)",
    ),
}
