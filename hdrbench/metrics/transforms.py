"""Pixel-value transforms used by the metrics: μ-law, NTIRE tanh μ-law, PU21, PQ, BT.2020, luminance, scaling.

All functions take and return torch tensors ``(N, C, H, W)`` (any float dtype, CPU or CUDA) unless stated.
Inputs are **linear** HDR values (relative, or absolute cd/m² where said); outputs are the encoded values.
"""

from __future__ import annotations

import math

import torch

from hdrbench.errors import HDRBenchError

#: BT.709 / sRGB primaries, relative luminance weights (as in gfxdisp/pu21 ``get_luminance``).
LUMINANCE_WEIGHTS = (0.212656, 0.715158, 0.072186)

#: PU21 ``banding_glare`` parameters (Mantiuk & Azimi 2021, gfxdisp/pu21 ``pu21_encoder``).
PU21_BANDING_GLARE = (0.0, 0.353487901, 0.3734658629, 8.277049286e-05, 0.9062562627, 0.09150303166,
                      0.9099517204, 596.3148142)
PU21_L_MIN, PU21_L_MAX = 0.005, 10000.0

#: SMPTE ST 2084 (PQ) constants, exact (m1 = 2610/16384, m2 = 2523/4096·128, c1 = 3424/4096, c2 = 2413/4096·32,
#: c3 = 2392/4096·32); absolute luminance 10000 cd/m² is code value 1.
PQ_M1, PQ_M2, PQ_C1, PQ_C2, PQ_C3 = 0.1593017578125, 78.84375, 0.8359375, 18.8515625, 18.6875
PQ_L_MAX = 10000.0
#: Linear BT.709 RGB → linear BT.2020 RGB (ITU-R BT.2087 M₂, from the primaries and D65 at full precision, as
#: colour-science's ``matrix_RGB_to_RGB``; BT.2087 prints it to 4 decimals: 0.6274 0.3293 0.0433 ...).
BT709_TO_BT2020 = ((0.6274038959346989, 0.3292830383778837, 0.04331306568741725),
                   (0.0690972893582321, 0.9195403950754585, 0.01136231556630918),
                   (0.01639143887515023, 0.08801330787722575, 0.8955952532476239))
#: BT.2020 luminance weights (ITU-R BT.2020 Table 4: K_R = 0.2627, K_B = 0.0593).
LUMINANCE_WEIGHTS_BT2020 = (0.2627, 0.6780, 0.0593)

#: How a per-image reference factor is taken from the ground truth (see :func:`reference_factor`).
NORMS = ("none", "gt-max", "max1", "gt-p99")


def mu_law(x: torch.Tensor, mu: float) -> torch.Tensor:
    """``T(x) = log(1 + μx) / log(1 + μ)``: maps linear ``[0, 1]`` to ``[0, 1]`` (values > 1 map above 1)."""
    return torch.log1p(mu * x) / math.log1p(mu)


def tanh_mu_law(x: torch.Tensor, mu: float) -> torch.Tensor:
    """NTIRE 2021's ``log(1 + μ·tanh(x)) / log(1 + μ)`` (``x`` already normalised): ``[0, ∞) → [0, 1)``."""
    return torch.log1p(mu * torch.tanh(x)) / math.log1p(mu)


def luminance(rgb: torch.Tensor, weights: tuple[float, float, float] = LUMINANCE_WEIGHTS) -> torch.Tensor:
    """Relative luminance ``(N, 1, H, W)`` of linear RGB ``(N, 3, H, W)`` (same units as the input); BT.709
    weights unless ``weights`` says otherwise (:data:`LUMINANCE_WEIGHTS_BT2020`)."""
    w = torch.tensor(weights, dtype=rgb.dtype, device=rgb.device).view(1, 3, 1, 1)
    return (rgb * w).sum(dim=1, keepdim=True)


def bt709_to_bt2020(rgb: torch.Tensor) -> torch.Tensor:
    """Linear BT.709 RGB ``(N, 3, H, W)`` expressed in BT.2020 primaries (same units; white stays white)."""
    m = torch.tensor(BT709_TO_BT2020, dtype=rgb.dtype, device=rgb.device)
    return torch.einsum("rc,nchw->nrhw", m, rgb)


def pq_encode(y: torch.Tensor) -> torch.Tensor:
    """SMPTE ST 2084 inverse EOTF: absolute linear values (cd/m², clamped to [0, 10000]) → PQ code values [0, 1]."""
    yp = (y.clamp(0.0, PQ_L_MAX) / PQ_L_MAX) ** PQ_M1
    return ((PQ_C1 + PQ_C2 * yp) / (1 + PQ_C3 * yp)) ** PQ_M2


def pq_decode(v: torch.Tensor) -> torch.Tensor:
    """SMPTE ST 2084 EOTF: PQ code values in [0, 1] → absolute linear values in cd/m²."""
    e = v.clamp(0.0, 1.0) ** (1 / PQ_M2)
    return PQ_L_MAX * ((e - PQ_C1).clamp_min(0) / (PQ_C2 - PQ_C3 * e)) ** (1 / PQ_M1)


def quantize(v: torch.Tensor, bits: int | None) -> torch.Tensor:
    """Code values in [0, 1] rounded to ``bits``-bit integers and back (``round(v·(2^bits−1))/(2^bits−1)``, as
    a 16-bit PNG stores them); ``None``: unchanged."""
    if not bits:
        return v
    levels = float(2 ** int(bits) - 1)
    return torch.round(v.clamp(0.0, 1.0) * levels) / levels


def pu21_encode(y: torch.Tensor) -> torch.Tensor:
    """PU21 (``banding_glare``) code values of **absolute** luminance ``y`` in cd/m².

    ``y`` is clamped to [0.005, 10000] cd/m²; the result spans about 0 … 595 (100 cd/m² ≈ 256, the
    8-bit sRGB scale).
    """
    p = PU21_BANDING_GLARE
    yp = y.clamp(PU21_L_MIN, PU21_L_MAX) ** p[4]
    return (p[7] * (((p[1] + p[2] * yp) / (1 + p[3] * yp)) ** p[5] - p[6])).clamp_min(0)  # max(…, 0) as the original


def pu21_decode(v: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`pu21_encode`: absolute luminance in cd/m² from PU21 code values."""
    p = PU21_BANDING_GLARE
    vp = (v / p[7] + p[6]).clamp_min(0) ** (1 / p[5])
    return ((vp - p[1]).clamp_min(0) / (p[2] - p[3] * vp)) ** (1 / p[4])


def percentile(x: torch.Tensor, q: float) -> torch.Tensor:
    """Per-image ``q``-th percentile ``(N,)`` of ``x`` (all channels), linear interpolation like ``np.percentile``.

    Uses a sort rather than ``torch.quantile``, which refuses inputs above 16 M elements.
    """
    flat = x.flatten(1).sort(dim=1).values
    pos = (flat.shape[1] - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return flat[:, lo] + (flat[:, hi] - flat[:, lo]) * (pos - lo)


def reference_factor(gt: torch.Tensor, norm: str) -> torch.Tensor:
    """Per-image divisor ``(N, 1, 1, 1)`` taken from the ground truth ``gt`` ``(N, C, H, W)``.

    ``none`` → 1; ``gt-max`` → max(gt); ``max1`` → max(1, max(gt)) (data already in [0, 1] is kept, brighter
    data is brought into [0, 1]); ``gt-p99`` → the 99th percentile of gt (NTIRE 2021).
    """
    n = gt.shape[0]
    if norm == "none":
        f = torch.ones(n, dtype=gt.dtype, device=gt.device)
    elif norm == "gt-max":
        f = gt.flatten(1).amax(dim=1)
    elif norm == "max1":
        f = gt.flatten(1).amax(dim=1).clamp_min(1.0)
    elif norm == "gt-p99":
        f = percentile(gt, 99.0)
    else:
        raise HDRBenchError(f"unknown normalisation '{norm}' (known: {', '.join(NORMS)})")
    if not bool((f > 0).all()):
        raise HDRBenchError(f"normalisation '{norm}': the ground truth's reference value is 0 (an all-black image?)")
    return f.view(n, 1, 1, 1)


#: How relative linear values become absolute cd/m² for PU21, cvvdp and CRF correction.
ANCHORS = ("gt-max", "absolute")


def to_absolute(pred: torch.Tensor, gt: torch.Tensor, anchor: str, peak_luminance: float,
                scale: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Map relative linear ``pred``/``gt`` to absolute luminance (cd/m²), the same factor for both.

    ``gt-max``: the ground truth's maximum becomes ``peak_luminance`` (SI-HDR / gfxdisp/pu21 convention,
    4000 cd/m² there); ``absolute``: the values times ``scale`` are already cd/m².
    """
    if anchor == "gt-max":
        f = peak_luminance / reference_factor(gt, "gt-max")
    elif anchor == "absolute":
        f = torch.full((gt.shape[0], 1, 1, 1), float(scale), dtype=gt.dtype, device=gt.device)
    else:
        raise HDRBenchError(f"unknown luminance anchor '{anchor}' (known: {', '.join(ANCHORS)})")
    return pred * f, gt * f


def encode_domain(pred: torch.Tensor, gt: torch.Tensor, params: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Both images ÷ the ``params['norm']`` ground-truth reference, then μ-law encoded (``params['mu']``) when
    ``params['domain'] == 'mu-law'``; ``linear`` leaves them normalised."""
    f = reference_factor(gt, params["norm"])
    pred, gt = pred / f, gt / f
    if params["domain"] == "mu-law":
        pred, gt = mu_law(pred, float(params["mu"])), mu_law(gt, float(params["mu"]))
    return pred, gt


def absolute_from_params(pred: torch.Tensor, gt: torch.Tensor, params: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`to_absolute` (float64) with a metric's ``anchor``, ``peak_luminance`` and ``scale`` parameters."""
    return to_absolute(pred.double(), gt.double(), params["anchor"], float(params["peak_luminance"]),
                       float(params["scale"]))
