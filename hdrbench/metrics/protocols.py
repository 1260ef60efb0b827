"""Named scoring protocols, so that numbers compare with the literature they claim to follow.

A :class:`Protocol` fixes what happens to a (prediction, ground truth) pair of linear HDR images before
the metrics see it (a normalisation, an optional clip of the prediction, optional CRF correction) and
the parameters of each metric. Every stored score records the protocol's :meth:`Protocol.describe`.

``dcdr`` — DCDR-UNet (Kim et al., CVPRW 2024, §4.1.2):
    HDR normalised to [0, 1]: both images are divided by ``max(1, max(gt))`` (Cityscapes 16-bit data,
    read as value/65535, is already in [0, 1] and is kept as is; brighter data is scaled by its maximum),
    then the prediction is **clipped to [0, 1]**: the paper's results live on the 16-bit [0, 1] scale, on
    which an overshoot above the ground truth's peak cannot be represented; clipping never rewards a
    wrong value (the ground truth is in [0, 1], so a clipped overshoot is closer to it by definition).
    PSNR-L on linear values, peak 1; PSNR-μ with ``log(1+μx)/log(1+μ)``, μ = 10, peak 1; SSIM on the linear
    [0, 1] values (data range 1; the paper does not say; FHDR's convention); LPIPS (AlexNet) on the μ-law
    (μ = 10) image mapped to [-1, 1] (the paper does not say; the usual "LPIPS on tone-mapped"); HDR-VDP-2
    with the [0, 1] values taken as absolute luminance (scale 1 cd/m²), 'rgb-native', 24 pixels per degree.
``dcdr-hdrunet`` — the ``dcdr`` protocol with the PSNR definitions of HDRUNet, the paper the DCDR-UNet paper
    cites for PSNR-L and PSNR-μ ([1]): PSNR-L on gamma-encoded values (``x**(1/2.24)``) ÷ the ground truth's
    maximum; PSNR-μ on values ÷ the ground truth's 99th percentile, ``log(1+μ·tanh(x))/log(1+μ)``, with the
    DCDR paper's μ = 10 (see :func:`hdrbench.metrics.psnr.hdrunet_psnr_params`). Same preparation (÷ max(1,
    max gt), prediction clipped to [0, 1]) and other metrics as ``dcdr``. The paper does not say which of the
    two it computed; ``dcdr`` is the literal reading of its text (linear PSNR, μ-law without tanh).
``ntire2021`` — NTIRE 2021 HDR challenge (organisers' ``metrics.py``):
    PSNR-L on the gamma-encoded images (``x**(1/2.24)`` of the linear inputs) normalised by the ground
    truth's maximum; PSNR-μ after normalisation by the ground truth's 99th percentile, ``tanh``, μ = 5000.
    No clipping. (SSIM/LPIPS are not part of it; asked for, they run on values / max(gt).)
``sihdr`` — SI-HDR benchmark (Hanji et al. 2022): PU21-PSNR, PU21-SSIM and ColorVideoVDP on absolute
    luminance (ground-truth maximum → 4000 cd/m²; cvvdp: 1500 cd/m², its display's peak), reported with
    and without CRF correction.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import torch

from hdrbench.errors import HDRBenchError
from hdrbench.metrics.base import Metric, create_metric
from hdrbench.metrics.crf import crf_correct
from hdrbench.metrics.psnr import hdrunet_psnr_params
from hdrbench.metrics.transforms import reference_factor, to_absolute

#: Protocol-level parameter names → the names a metric declares for them (first match is used; a name
#: without an entry, or without a match, is passed as it is).
PARAM_ALIASES: dict[str, tuple[str, ...]] = {
    "ppd": ("pixels_per_degree",),
    "scale": ("scale", "input_scale"),
}
CRF_DEFAULTS: dict[str, Any] = {"peak_luminance": 4000.0, "deg": 3, "lam": 0.01, "ptf": "pq", "cspace": "luv"}


@dataclass(frozen=True)
class Protocol:
    """How a pair is prepared and how each metric is parameterised.

    ``normalize``: divisor taken from the ground truth (``none``, ``max1``, ``gt-max``; see
    :func:`hdrbench.metrics.transforms.reference_factor`) applied to both images; ``clip``: clip the
    normalised prediction to [0, 1]; ``metrics``: the protocol's default metric list; ``params``: per-metric
    parameters; ``crf_correction``: also report every metric on the CRF-corrected prediction.
    """

    name: str
    summary: str
    metrics: tuple[str, ...]
    normalize: str = "none"
    clip: bool = False
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    crf_correction: bool = False
    crf_params: dict[str, Any] = field(default_factory=lambda: dict(CRF_DEFAULTS))

    def metric_params(self, name: str, **overrides: Any) -> dict[str, Any]:
        """The protocol's parameters for metric ``name`` with ``overrides`` on top (protocol-level names)."""
        return {**self.params.get(name, {}), **overrides}

    def create(self, name: str, **overrides: Any) -> Metric:
        """Build metric ``name`` with this protocol's parameters; protocol-level names (``ppd``, ``scale``,
        ``color_encoding``) are mapped to the name the metric declares."""
        from hdrbench.registry import METRICS

        declared = METRICS.get(name).default_params
        params = {}
        for key, value in self.metric_params(name, **overrides).items():
            target = next((k for k in PARAM_ALIASES.get(key, (key,)) if k in declared), key)
            params[target] = value
        return create_metric(name, **params)

    def prepare(self, pred: torch.Tensor, gt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalise (and clip) a validated pair ``(N, 3, H, W)`` as the protocol says."""
        f = reference_factor(gt, self.normalize)
        pred, gt = pred / f, gt / f
        return (pred.clamp(0.0, 1.0) if self.clip else pred), gt

    def correct(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        """CRF-corrected prediction (:func:`hdrbench.metrics.crf.crf_correct`), fitted in absolute units
        (ground-truth maximum → ``crf_params['peak_luminance']`` cd/m²) and returned in the prepared units."""
        c = dict(self.crf_params)
        peak = float(c.pop("peak_luminance"))
        pa, ga = to_absolute(pred.double(), gt.double(), "gt-max", peak, 1.0)
        out = crf_correct(pa, ga, **c) * (reference_factor(gt.double(), "gt-max") / peak)
        out = out.to(pred.dtype)
        return out.clamp(0.0, 1.0) if self.clip else out

    def describe(self) -> dict[str, Any]:
        """A JSON-able record of the protocol, stored with every score."""
        return {"name": self.name, "summary": self.summary, "normalize": self.normalize, "clip": self.clip,
                "metrics": list(self.metrics), "params": {k: dict(v) for k, v in self.params.items()},
                "crf_correction": self.crf_correction, "crf_params": dict(self.crf_params)}


PROTOCOLS: dict[str, Protocol] = {
    "dcdr": Protocol(
        name="dcdr",
        summary="DCDR-UNet paper: [0,1] linear HDR (÷max(1,max gt)), prediction clipped to [0,1]; PSNR-L peak 1; "
                "PSNR-μ μ=10; SSIM linear; LPIPS μ-law(10); HDR-VDP-2 rgb-native 24 ppd, 1.0 = 1 cd/m²",
        metrics=("psnr-l", "psnr-mu", "ssim", "lpips", "hdrvdp2"),
        normalize="max1",
        clip=True,
        params={
            "psnr-l": {"norm": "none", "peak": 1.0},
            "psnr-mu": {"mu": 10.0, "norm": "none"},
            "ssim": {"domain": "linear", "data_range": 1.0},
            "lpips": {"domain": "mu-law", "mu": 10.0},
            "hdrvdp2": {"color_encoding": "rgb-native", "ppd": 24.0, "scale": 1.0},
        },
    ),
    "ntire2021": Protocol(
        name="ntire2021",
        summary="NTIRE 2021 HDR challenge: PSNR-L on x**(1/2.24) ÷ max(gt); PSNR-μ ÷ p99(gt), tanh, μ=5000",
        metrics=("psnr-l", "psnr-mu"),
        params={
            "psnr-l": {"gamma": 2.24, "norm": "gt-max", "peak": 1.0},
            "psnr-mu": {"mu": 5000.0, "norm": "gt-p99", "tanh": True},
            "ssim": {"norm": "gt-max"},
            "lpips": {"norm": "gt-max"},
        },
    ),
    "sihdr": Protocol(
        name="sihdr",
        summary="SI-HDR (Hanji et al. 2022): PU21-PSNR/SSIM (max gt → 4000 cd/m²) and ColorVideoVDP, "
                "raw and CRF-corrected",
        metrics=("pu21-psnr", "pu21-ssim", "cvvdp"),
        crf_correction=True,
    ),
}

PROTOCOLS["dcdr-hdrunet"] = replace(
    PROTOCOLS["dcdr"], name="dcdr-hdrunet",
    summary="dcdr with HDRUNet's PSNRs (the paper's citation [1]): PSNR-L on x**(1/2.24) ÷ max(gt); "
            "PSNR-μ ÷ p99(gt), tanh, μ=10",
    params={**PROTOCOLS["dcdr"].params, **hdrunet_psnr_params(10.0)})


def get_protocol(name: str) -> Protocol:
    """The protocol registered under ``name``."""
    try:
        return PROTOCOLS[name.lower()]
    except KeyError:
        raise HDRBenchError(f"unknown protocol '{name}' (known: {', '.join(sorted(PROTOCOLS))})") from None
