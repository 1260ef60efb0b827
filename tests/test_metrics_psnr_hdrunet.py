"""The ``dcdr-hdrunet`` protocol: HDRUNet's PSNR-L / PSNR-μ (the DCDR paper's citation [1]) with μ = 10,
against a numpy hand computation of the NTIRE 2021 organisers' formulas (HDRUNet ``scripts/metrics.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from hdrbench.metrics.protocols import get_protocol
from hdrbench.metrics.scoring import Scorer


def _hdrunet_psnrs(pred_lin: np.ndarray, gt_lin: np.ndarray, mu: float) -> tuple[float, float]:
    """Organisers' formulas on gamma-encoded data (their files store x**(1/2.24); they linearise with **2.24)."""
    pred_gamma, gt_gamma = pred_lin ** (1 / 2.24), gt_lin ** (1 / 2.24)
    norm = np.max(gt_gamma)
    psnr_l = -10 * np.log10(np.mean((pred_gamma / norm - gt_gamma / norm) ** 2))
    p99 = np.percentile(gt_gamma**2.24, 99)

    def tonemap(x: np.ndarray) -> np.ndarray:
        return np.log(1 + mu * np.tanh(x / p99)) / np.log(1 + mu)

    psnr_mu = -10 * np.log10(np.mean((tonemap(pred_gamma**2.24) - tonemap(gt_gamma**2.24)) ** 2))
    return float(psnr_l), float(psnr_mu)


@pytest.mark.parametrize("peak", [0.7, 3.0])
def test_dcdr_hdrunet_psnrs_equal_the_organisers_formulas_with_mu_10(peak):
    """After the dcdr preparation (÷ max(1, max gt), prediction clipped to [0, 1]), done here by hand."""
    rng = np.random.default_rng(3)
    gt = rng.random((20, 24, 3)) ** 3 * peak + 1e-3
    pred = np.clip(gt * (1 + rng.normal(0, 0.1, gt.shape)) + 0.3 * (gt > 0.8 * peak), 0, None)  # overshoots
    f = max(1.0, gt.max())
    ref_l, ref_mu = _hdrunet_psnrs(np.clip(pred / f, 0, 1), gt / f, 10.0)
    scores = Scorer("dcdr-hdrunet", ["psnr-l", "psnr-mu"]).score_arrays(pred.astype(np.float32),
                                                                        gt.astype(np.float32), "pred", "gt")
    assert scores["psnr-l"] == pytest.approx(ref_l, abs=2e-4)
    assert scores["psnr-mu"] == pytest.approx(ref_mu, abs=2e-4)
    dcdr = Scorer("dcdr", ["psnr-l", "psnr-mu"]).score_arrays(pred.astype(np.float32), gt.astype(np.float32),
                                                              "pred", "gt")
    assert abs(dcdr["psnr-l"] - scores["psnr-l"]) > 0.1  # a different definition, not a renamed one


def test_dcdr_hdrunet_keeps_everything_else_of_dcdr():
    dcdr, variant = get_protocol("dcdr"), get_protocol("dcdr-hdrunet")
    assert variant.metrics == dcdr.metrics and variant.normalize == dcdr.normalize and variant.clip
    assert {k: v for k, v in variant.params.items() if not k.startswith("psnr")} == \
        {k: v for k, v in dcdr.params.items() if not k.startswith("psnr")}
    assert variant.params["psnr-mu"] == {"mu": 10.0, "norm": "gt-p99", "tanh": True}
