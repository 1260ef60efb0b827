"""SI-HDR CRF correction: a tone-curved prediction scores near-perfect after correction; structure stays penalised."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hdrbench.metrics.crf import _design, _luv2rgb, _ptf, _rgb2luv, crf_correct
from hdrbench.metrics.psnr import psnr
from hdrbench.metrics.scoring import Scorer
from hdrbench.metrics.transforms import pu21_encode


def scene(h: int = 72, w: int = 96) -> torch.Tensor:
    """A smooth, coloured absolute-luminance image (1, 3, H, W), peak 4000 cd/m²."""
    y, x = torch.meshgrid(torch.linspace(0, 1, h, dtype=torch.float64), torch.linspace(0, 1, w, dtype=torch.float64),
                          indexing="ij")
    base = 0.02 + 0.5 * x + 0.3 * y + 0.5 * torch.exp(-((x - 0.6) ** 2 + (y - 0.4) ** 2) / 0.02)
    img = torch.stack([base, 0.8 * base + 0.05 * torch.sin(20 * x), 0.7 * base + 0.05 * torch.cos(15 * y)])[None]
    img = img.clamp_min(1e-3)
    return img / img.max() * 4000


def pu_psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(psnr(pu21_encode(a), pu21_encode(b), 256.0)[0])


def test_crf_recovers_a_gamma_tone_curve():
    gt = scene()
    pred = (gt / 4000) ** 0.7 * 4000  # a wrong global tone curve, otherwise perfect
    raw, corrected = pu_psnr(pred, gt), pu_psnr(crf_correct(pred, gt), gt)
    assert raw < 25 and corrected > 40  # ~19.5 dB → ~42.5 dB
    assert pu_psnr(crf_correct(pred, gt, cspace="rgb"), gt) > 40


def test_crf_keeps_structural_errors():
    gt = scene()
    pred = gt.clone()
    pred[..., 20:40, 30:60] = pred[..., 20:40, 30:60].clamp(max=500)  # clipped highlight: not a tone curve
    assert pu_psnr(crf_correct(pred, gt), gt) < pu_psnr(crf_correct((gt / 4000) ** 0.7 * 4000, gt), gt) - 5


def test_crf_identity_and_helpers():
    gt = scene(40, 50)
    np.testing.assert_allclose(crf_correct(gt, gt).numpy(), gt.numpy(), rtol=2e-3)
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    # [x^3, x^2, cross product, x, 1] as in crf_correction.m's lin_matrix
    expected = [[1, 8, 1, 4, 2, 1, 2, 1], [27, 64, 9, 16, 12, 3, 4, 1]]
    np.testing.assert_array_equal(_design(x, 3).numpy(), expected)
    lum = torch.logspace(-2, 4, 7, dtype=torch.float64)[:, None]
    np.testing.assert_allclose(_ptf(_ptf(lum, "pq", True), "pq", False).numpy(), lum.numpy(), rtol=1e-9)
    rgb = gt[0].flatten(1).T
    np.testing.assert_allclose(_luv2rgb(_rgb2luv(rgb)).numpy(), rgb.numpy(), rtol=1e-6)


def test_scorer_reports_raw_and_corrected_side_by_side():
    gt = scene(48, 64) / 4000
    pred = gt**0.6  # a wrong tone curve: what CRF correction forgives
    scorer = Scorer("sihdr", ["pu21-psnr", "pu21-ssim"], crf=True)
    assert scorer.columns == ["pu21-psnr", "pu21-ssim", "pu21-psnr@crf", "pu21-ssim@crf"]
    out = scorer.score(pred.float(), gt.float())
    assert float(out["pu21-psnr@crf"][0]) > float(out["pu21-psnr"][0]) + 10
    assert scorer.describe()["crf_correction"] is True


def test_crf_is_applied_only_where_its_source_defines_it():
    """SI-HDR's correction floors corrected pixels at 0.005 cd/m² and fits in PQ: under another protocol it is
    refused, and under sihdr a metric outside its list gets no @crf column (with a warning)."""
    from hdrbench.errors import HDRBenchError, HDRBenchWarning

    with pytest.raises(HDRBenchError, match="CRF correction is part of the SI-HDR protocol.*'dcdr' does not"):
        Scorer("dcdr", ["psnr-l"], crf=True)
    with pytest.warns(HDRBenchWarning, match="psnr-l reported without it"):
        scorer = Scorer("sihdr", ["pu21-psnr", "psnr-l"], crf=True)
    assert scorer.columns == ["pu21-psnr", "psnr-l", "pu21-psnr@crf"]


@pytest.mark.parametrize("normalize", [True, False])
def test_crf_normalize_option_restores_units(normalize):
    gt = scene(32, 40) / 40  # relative units, peak 100
    out = crf_correct(gt, gt, normalize=normalize)
    assert float(out.max()) == pytest.approx(float(gt.max()), rel=0.02)
