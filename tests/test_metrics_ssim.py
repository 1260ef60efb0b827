"""Our torch SSIM against scikit-image's ``structural_similarity`` (float64 inputs), to 1e-4."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from hdrbench.errors import HDRBenchError
from hdrbench.metrics import create_metric
from hdrbench.metrics.ssim import ssim
from hdrbench.metrics.transforms import luminance, pu21_encode


def t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None]


def structured(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.stack([0.5 + 0.4 * np.sin(12 * x), 0.3 + 0.3 * (y > 0.4), 0.2 + 0.6 * x * y], axis=-1)
    return img.astype(np.float64)


SETTINGS = [
    {"gaussian": True, "use_sample_covariance": False},  # Wang et al. (our default)
    {"gaussian": False, "use_sample_covariance": True, "win_size": 7},  # scikit-image's default
    {"gaussian": False, "use_sample_covariance": True, "win_size": 11},
]


@pytest.mark.parametrize("size", [(11, 11), (33, 47), (64, 96), (101, 77)])
@pytest.mark.parametrize("kind", ["random", "structured"])
def test_ssim_matches_skimage(size, kind, rng):
    gt = rng.random((*size, 3)) if kind == "random" else structured(*size)
    pred = np.clip(gt + rng.normal(0, 0.05, gt.shape) + 0.02, 0, 1)
    for s in SETTINGS:
        if s.get("win_size", 11) > min(size):
            continue
        ref = structural_similarity(gt, pred, data_range=1.0, channel_axis=-1, gaussian_weights=s["gaussian"],
                                    sigma=1.5, use_sample_covariance=s["use_sample_covariance"],
                                    win_size=None if s["gaussian"] else s["win_size"])
        ours = float(ssim(t(pred), t(gt), 1.0, **s)[0])
        assert ours == pytest.approx(ref, abs=1e-4), s


def test_ssim_metric_domains_and_batch(rng):
    gt = rng.random((2, 40, 30, 3))
    pred = np.clip(gt * 0.9 + 0.03, 0, 1)
    batch = torch.from_numpy(pred).permute(0, 3, 1, 2), torch.from_numpy(gt).permute(0, 3, 1, 2)
    lin = create_metric("ssim")(*batch)
    mu = create_metric("ssim", domain="mu-law", mu=10)(*batch)
    for i in range(2):
        kw = {"data_range": 1.0, "channel_axis": -1, "gaussian_weights": True, "sigma": 1.5,
              "use_sample_covariance": False}
        assert float(lin[i]) == pytest.approx(structural_similarity(gt[i], pred[i], **kw), abs=1e-4)
        tm = lambda x: np.log1p(10 * x) / np.log(11)  # noqa: E731
        assert float(mu[i]) == pytest.approx(structural_similarity(tm(gt[i]), tm(pred[i]), **kw), abs=1e-4)


def test_pu21_ssim_matches_skimage_on_pu_luminance(rng):
    gt = rng.random((48, 40, 3)) + 0.01
    pred = gt * (1 + rng.normal(0, 0.05, gt.shape)).clip(0.5, None)
    sc = 4000 / gt.max()
    yt = pu21_encode(luminance(t(gt * sc)))[0, 0].numpy()
    yp = pu21_encode(luminance(t(pred * sc)))[0, 0].numpy()
    ref = structural_similarity(yt, yp, data_range=256, gaussian_weights=True, sigma=1.5,
                                use_sample_covariance=False)
    # border="crop": the scikit-image convention (the default is MATLAB's, tests/test_sihdr_exact.py)
    assert float(create_metric("pu21-ssim", border="crop")(t(pred), t(gt))[0]) == pytest.approx(ref, abs=1e-4)


def test_ssim_too_small_and_bad_params():
    with pytest.raises(HDRBenchError, match="at least 11"):
        ssim(torch.rand(1, 3, 8, 20), torch.rand(1, 3, 8, 20), 1.0)
    with pytest.raises(HDRBenchError, match="domain"):
        create_metric("ssim", domain="log")
    with pytest.raises(HDRBenchError, match="unknown parameter"):
        create_metric("ssim", gausian=True)
