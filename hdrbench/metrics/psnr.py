"""PSNR metrics: PSNR-L (linear or gamma-encoded), PSNR-μ (μ-law, optionally NTIRE's tanh form), PU21-PSNR.

Inputs are linear HDR tensors ``(N, 3, H, W)``; each metric returns ``(N,)`` in dB (higher is better,
``inf`` for identical images). The mean squared error is taken over all channels and pixels, in float64.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch

from hdrbench.errors import HDRBenchError
from hdrbench.metrics.base import Metric
from hdrbench.metrics.transforms import ANCHORS, NORMS, absolute_from_params, pu21_encode, reference_factor, tanh_mu_law


def psnr(pred: torch.Tensor, gt: torch.Tensor, peak: float) -> torch.Tensor:
    """``10·log10(peak² / MSE)`` per image ``(N,)`` (float64) of same-shaped tensors ``(N, ...)``."""
    mse = (pred - gt).double().pow_(2).flatten(1).mean(dim=1)  # float32 difference: rounding error ~1e-7 relative
    return 10.0 * torch.log10(peak**2 / mse)


def hdrunet_psnr_params(mu: float) -> dict[str, dict[str, Any]]:
    """``psnr-l`` / ``psnr-mu`` parameters giving HDRUNet's definitions (Chen et al., CVPRW 2021; the NTIRE 2021
    organisers' ``metrics.py``) for linear inputs.

    PSNR-L: both images gamma-encoded ``x**(1/2.24)``, divided by the encoded ground truth's maximum, peak 1.
    PSNR-μ: both linear images divided by the ground truth's 99th percentile, ``log(1+μ·tanh(x))/log(1+μ)``,
    peak 1. NTIRE 2021 uses μ = 5000; the DCDR-UNet paper, which cites HDRUNet for its PSNRs, reports μ = 10.
    """
    return {"psnr-l": {"gamma": 2.24, "norm": "gt-max", "peak": 1.0},
            "psnr-mu": {"mu": float(mu), "norm": "gt-p99", "tanh": True}}


class PSNRL(Metric):
    """PSNR on linear values (or on gamma-encoded values, NTIRE 2021) after an optional normalisation.

    ``gamma``: if set, both images are first encoded as ``x**(1/gamma)`` (NTIRE stores HDR that way and
    scores PSNR-L on it); ``norm``: divide both by a ground-truth reference (see
    :func:`hdrbench.metrics.transforms.reference_factor`, taken after the gamma encoding); ``peak``: the
    signal peak in the normalised units.
    """

    label = "PSNR-L"
    decimals = 2
    lower_better: ClassVar[bool] = False
    domain: ClassVar[str] = "linear"
    default_params: ClassVar[dict[str, Any]] = {"norm": "none", "peak": 1.0, "gamma": None}

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.check_choice("norm", NORMS)
        if self.params["gamma"]:
            self.domain = f"gamma {self.params['gamma']}"

    @property
    def peak(self) -> float:
        return float(self.params["peak"])

    def difference(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        """The per-value difference ``(N, 3, H, W)`` whose mean square the PSNR takes (normalised units)."""
        if self.params["gamma"]:
            pred, gt = pred ** (1.0 / self.params["gamma"]), gt ** (1.0 / self.params["gamma"])
        f = reference_factor(gt, self.params["norm"])
        return pred / f - gt / f

    def compute(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        d = self.difference(pred, gt)
        return psnr(d, torch.zeros_like(d), self.peak)


class PSNRMu(Metric):
    """PSNR after μ-law tone mapping ``log(1+μx)/log(1+μ)`` of the normalised images, peak 1.

    ``tanh=True`` gives NTIRE 2021's ``log(1+μ·tanh(x))/log(1+μ)`` (with ``norm='gt-p99'``, ``mu=5000``).
    """

    label = "PSNR-μ"
    label_latex = r"PSNR-$\mu$"
    decimals = 2
    lower_better: ClassVar[bool] = False
    domain: ClassVar[str] = "mu-law"
    default_params: ClassVar[dict[str, Any]] = {"mu": 10.0, "norm": "none", "tanh": False}

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.check_choice("norm", NORMS)
        if float(self.params["mu"]) <= 0:
            raise HDRBenchError(f"metric '{self.name}': mu must be > 0 (got {self.params['mu']})")

    peak = 1.0

    def difference(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        """``T(pred) − T(gt)`` per value ``(N, 3, H, W)``: what the PSNR's mean square is taken of."""
        f = reference_factor(gt, self.params["norm"])
        mu = float(self.params["mu"])
        if self.params["tanh"]:
            pred, gt = pred.double() / f, gt.double() / f
            return tanh_mu_law(pred, mu) - tanh_mu_law(gt, mu)
        # T(p) - T(g) = log1p(μ(p - g) / (1 + μg)) / log(1 + μ): exact in float32, no cancellation
        pred, gt = pred / f, gt / f
        return torch.log1p(mu * (pred - gt) / (1 + mu * gt)) / math.log1p(mu)

    def compute(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        d = self.difference(pred, gt)
        return psnr(d, torch.zeros_like(d), 1.0)


class PU21PSNR(Metric):
    """PSNR on PU21-encoded RGB (``banding_glare``), peak 256, as gfxdisp/pu21 ``pu21_metric(…, 'PSNR')``.

    PU21 needs absolute luminance: with ``anchor='gt-max'`` the ground truth's maximum is mapped to
    ``peak_luminance`` cd/m² (both images, one factor); with ``anchor='absolute'`` values × ``scale`` are cd/m².
    """

    lower_better: ClassVar[bool] = False
    domain: ClassVar[str] = "pu21"
    default_params: ClassVar[dict[str, Any]] = {"anchor": "gt-max", "peak_luminance": 4000.0, "scale": 1.0}

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.check_choice("anchor", ANCHORS)

    def compute(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        pred, gt = absolute_from_params(pred, gt, self.params)
        return psnr(pu21_encode(pred), pu21_encode(gt), 256.0)
