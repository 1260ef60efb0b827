"""PSNR-L, PSNR-μ, NTIRE 2021 formulas and PU21 against scikit-image, hand-derived values and the published code."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio

from hdrbench.metrics import create_metric
from hdrbench.metrics.protocols import get_protocol
from hdrbench.metrics.transforms import PU21_BANDING_GLARE, percentile, pu21_decode, pu21_encode


def t(a: np.ndarray) -> torch.Tensor:
    """(H, W, 3) numpy → (1, 3, H, W) tensor."""
    return torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None]


def test_psnr_l_matches_skimage(rng):
    gt = rng.random((37, 53, 3))
    pred = np.clip(gt + rng.normal(0, 0.05, gt.shape), 0, 1)
    ours = float(create_metric("psnr-l")(t(pred), t(gt))[0])
    assert ours == pytest.approx(peak_signal_noise_ratio(gt, pred, data_range=1.0), abs=1e-4)


def test_psnr_l_hand_derived_and_batched():
    gt = torch.full((2, 3, 8, 8), 0.5)
    pred = gt.clone()
    pred[0] += 0.1  # MSE 0.01 → 20 dB
    pred[1, 0] += 0.3  # one channel off by 0.3: MSE 0.09/3 = 0.03 → 15.2288 dB
    out = create_metric("psnr-l")(pred, gt)
    assert out.shape == (2,)
    assert float(out[0]) == pytest.approx(20.0, abs=1e-4)
    assert float(out[1]) == pytest.approx(-10 * math.log10(0.03), abs=1e-4)
    assert math.isinf(float(create_metric("psnr-l")(gt, gt)[0]))


def test_psnr_mu_hand_derived():
    # gt = 0, pred = 0.1 everywhere: T(0.1) = log(2)/log(11) with μ = 10; PSNR = -20·log10(T(0.1))
    gt = torch.zeros(1, 3, 4, 4)
    pred = torch.full((1, 3, 4, 4), 0.1)
    expected = -20 * math.log10(math.log(2) / math.log(11))
    assert float(create_metric("psnr-mu", mu=10)(pred, gt)[0]) == pytest.approx(expected, abs=1e-4)


def _ntire_reference(pred_gamma: np.ndarray, gt_gamma: np.ndarray) -> tuple[float, float]:
    """The NTIRE 2021 organisers' formulas (HDRUNet ``scripts/metrics.py``) in numpy, on gamma-encoded data."""
    norm = np.max(gt_gamma)
    psnr_l = -10 * np.log10(np.mean((pred_gamma / norm - gt_gamma / norm) ** 2))
    pred_lin, gt_lin = pred_gamma**2.24, gt_gamma**2.24
    p99 = np.percentile(gt_lin, 99)

    def tonemap(x):
        return np.log(1 + 5000 * np.tanh(x / p99)) / np.log(1 + 5000)

    psnr_mu = -10 * np.log10(np.mean((tonemap(pred_lin) - tonemap(gt_lin)) ** 2))
    return float(psnr_l), float(psnr_mu)


def test_ntire2021_protocol_matches_the_organisers_formulas(rng):
    gt_gamma = rng.random((9, 11, 3)) * 0.8 + 0.1
    pred_gamma = np.clip(gt_gamma + rng.normal(0, 0.03, gt_gamma.shape), 0.01, None)
    proto = get_protocol("ntire2021")
    gt, pred = t(gt_gamma**2.24), t(pred_gamma**2.24)  # the harness passes linear HDR
    ref_l, ref_mu = _ntire_reference(pred_gamma, gt_gamma)
    assert float(proto.create("psnr-l")(pred, gt)[0]) == pytest.approx(ref_l, abs=1e-4)
    assert float(proto.create("psnr-mu")(pred, gt)[0]) == pytest.approx(ref_mu, abs=1e-4)


def test_ntire_psnr_l_hand_derived():
    # gamma-encoded gt: 1.0 and 0.5; prediction 0.5 where gt is 1.0 → normalised error 0.5 on half the pixels
    gt_gamma = np.ones((2, 2, 3))
    gt_gamma[0] = 0.5
    pred_gamma = np.full((2, 2, 3), 0.5)
    expected = -10 * math.log10(0.5 * 0.25)
    out = get_protocol("ntire2021").create("psnr-l")(t(pred_gamma**2.24), t(gt_gamma**2.24))
    assert float(out[0]) == pytest.approx(expected, abs=1e-4)


def test_percentile_matches_numpy(rng):
    x = rng.random((2, 3, 17, 13))
    ours = percentile(torch.from_numpy(x), 99.0).numpy()
    np.testing.assert_allclose(ours, [np.percentile(x[i], 99) for i in range(2)], rtol=1e-12)


def test_dcdr_normalises_and_clips():
    proto = get_protocol("dcdr")
    gt = torch.full((1, 3, 4, 4), 0.5)
    pred = gt.clone()
    pred[..., 0, 0] = 3.0  # overshoot is clipped to 1 → error 0.5 on 1 pixel in 16
    p, g = proto.prepare(pred, gt)
    assert float(p.max()) == 1.0 and torch.equal(g, gt)  # gt in [0,1] kept as is
    assert float(proto.create("psnr-l")(p, g)[0]) == pytest.approx(-10 * math.log10(0.25 / 16), abs=1e-4)
    p2, g2 = proto.prepare(pred * 4, gt * 4)  # gt max 2 > 1 → both divided by 2
    assert float(g2.max()) == pytest.approx(1.0)


def test_pu21_known_values():
    y = torch.tensor([0.005, 1.0, 100.0, 10000.0], dtype=torch.float64)
    v = pu21_encode(y)
    assert float(v[0]) == pytest.approx(0.0, abs=1e-6)  # L_min maps to 0 (by construction of banding_glare)
    assert float(v[2]) == pytest.approx(256.0, abs=0.5)  # 100 cd/m² ≈ 256: the PU21 paper's anchoring to sRGB
    p = PU21_BANDING_GLARE  # hand evaluation at Y = 1 cd/m²: Y**p4 = 1
    assert float(v[1]) == pytest.approx(p[7] * (((p[1] + p[2]) / (1 + p[3])) ** p[5] - p[6]), rel=1e-12)
    assert torch.all(torch.diff(pu21_encode(torch.logspace(-2.3, 4, 50, dtype=torch.float64))) > 0)
    np.testing.assert_allclose(pu21_decode(v[1:]).numpy(), y[1:].numpy(), rtol=1e-8)


def test_pu21_psnr_anchors_gt_max(rng):
    gt = rng.random((16, 16, 3)) + 0.01
    pred = gt * 1.1
    sc = 4000 / gt.max()
    enc = PU21_BANDING_GLARE
    def pu(y):  # noqa: E306
        y = np.clip(y, 0.005, 10000) ** enc[4]
        return enc[7] * (((enc[1] + enc[2] * y) / (1 + enc[3] * y)) ** enc[5] - enc[6])
    expected = peak_signal_noise_ratio(pu(gt * sc), pu(pred * sc), data_range=256)
    assert float(create_metric("pu21-psnr")(t(pred), t(gt))[0]) == pytest.approx(expected, abs=1e-4)
