"""SI-HDR's PU21 metrics against transcriptions of gfxdisp/pu21 ``pu21_metric.m`` (commit 78340c0) on 26 real pairs.

References, transcribed here in numpy from the sources (not from hdrbench):

- ``pu21_metric.m``: absolute values; ``get_luminance`` (0.212656, 0.715158, 0.072186) for the luminance-only
  metrics (PSNRY, SSIM, MSSSIM); ``pu21_encoder.encode`` (``banding_glare``: clamp to [0.005, 10000], then
  ``max(p7·(((p1 + p2·Y^p4)/(1 + p3·Y^p4))^p5 − p6), 0)``); PSNR/PSNRY ``psnr(T, R, 256)``; SSIM
  ``ssim(T, R, 'DynamicRange', 256)``; MSSSIM ``multissim(…, 'DynamicRange', 256)``; FSIM ``m_fsim(T, R)``
  (first output: grayscale FSIM); VSI ``m_vsi(T, R)``. Absolute units as ``ex_sihdr.m``: gt max → 4000 cd/m².
- MATLAB's ``ssim.m`` (Image Processing Toolbox, © 2013-2014 The MathWorks; a copy in rwenqi/GFN-dehazing
  ``ssim.m`` @ 13e5185): ``gaussFilt = fspecial('gaussian', 2·ceil(3·1.5)+1, 1.5)``; ``imfilter(·, gaussFilt,
  'conv', 'replicate')`` for μx, μy, E[x²], E[y²], E[xy]; C1 = (0.01L)², C2 = (0.03L)², C3 = C2/2, eq. 13;
  ``ssimval = mean(ssimmap(:))``. ``fspecial``: ``exp(−(x²+y²)/2σ²)``, values below eps·max set to 0, ÷ sum.
- MS-SSIM, FSIM, VSI: piq 0.8.0 called directly on the transcribed PU values (``data_range`` 256 / 255 / 255),
  with only its value-range assertion switched off (PU values exceed 255 above 100 cd/m²).

Run as a script to print the table of maximum differences (docs/protocols-sihdr-hdrtv.md):
``PYTHONPATH=. .venv/bin/python tests/test_sihdr_exact.py``.
"""

from __future__ import annotations

import importlib
import math
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.ndimage import correlate

sys.path.insert(0, str(Path(__file__).parent))
from hdr_pairs import demo_pairs, nchw  # noqa: E402

from hdrbench.metrics import create_metric  # noqa: E402

PU21_PAR = (0.353487901, 0.3734658629, 8.277049286e-05, 0.9062562627, 0.09150303166, 0.9099517204, 596.3148142)
L_PEAK = 4000.0


def pu21_encode(y: np.ndarray) -> np.ndarray:
    p1, p2, p3, p4, p5, p6, p7 = PU21_PAR
    y = np.minimum(np.maximum(y, 0.005), 10000.0)
    return np.maximum(p7 * (((p1 + p2 * y**p4) / (1 + p3 * y**p4)) ** p5 - p6), 0)


def get_luminance(img: np.ndarray) -> np.ndarray:
    return img[:, :, 0] * 0.212656 + img[:, :, 1] * 0.715158 + img[:, :, 2] * 0.072186


def fspecial_gaussian(size: int, sigma: float) -> np.ndarray:
    r = (size - 1) / 2
    x, y = np.meshgrid(np.arange(-r, r + 1), np.arange(-r, r + 1))
    h = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    h[h < np.finfo(float).eps * h.max()] = 0
    return h / h.sum()


def matlab_ssim(a: np.ndarray, ref: np.ndarray, dynamic_range: float, radius: float = 1.5) -> float:
    """MATLAB ``ssim(A, REF, 'DynamicRange', L)`` of 2-D images (ssim.m, special case C3 = C2/2, exponents 1)."""
    filt = fspecial_gaussian(2 * math.ceil(radius * 3) + 1, radius)
    imfilter = lambda im: correlate(im, filt[::-1, ::-1], mode="nearest")  # noqa: E731  'conv', 'replicate'
    mux2, muy2 = imfilter(a), imfilter(ref)
    muxy, mux2, muy2 = mux2 * muy2, mux2**2, muy2**2
    sigmax2 = imfilter(a**2) - mux2
    sigmay2 = imfilter(ref**2) - muy2
    sigmaxy = imfilter(a * ref) - muxy
    c1, c2 = (0.01 * dynamic_range) ** 2, (0.03 * dynamic_range) ** 2
    num = (2 * muxy + c1) * (2 * sigmaxy + c2)
    den = (mux2 + muy2 + c1) * (sigmax2 + sigmay2 + c2)
    return float(np.mean(num / den))


def matlab_psnr(a: np.ndarray, ref: np.ndarray, peak: float) -> float:
    return float(10 * np.log10(peak**2 / np.mean((a - ref) ** 2)))


@contextmanager
def piq_without_range_check():
    """piq's public metrics with ``_validate_input``'s data-range assertion off (nothing else changed)."""
    from piq.utils import _validate_input

    def check(tensors, dim_range=(0, -1), data_range=(0.0, -1.0), size_range=None, check_for_channels_first=False):
        _validate_input(tensors, dim_range=dim_range, size_range=size_range)

    mods = [importlib.import_module(f"piq.{m}") for m in ("ms_ssim", "fsim", "vsi")]
    saved = [m._validate_input for m in mods]
    for m in mods:
        m._validate_input = check
    try:
        yield
    finally:
        for m, s in zip(mods, saved):
            m._validate_input = s


def pu21_metric(test: np.ndarray, ref: np.ndarray, metric: str) -> float:
    """``pu21_metric(I_test, I_reference, metric)`` on absolute linear RGB ``(H, W, 3)`` float64."""
    import piq

    t = lambda a: torch.from_numpy(a)[None, None] if a.ndim == 2 else nchw(a)  # noqa: E731
    if metric in ("PSNRY", "SSIM", "MSSSIM"):
        test, ref = get_luminance(test), get_luminance(ref)
    pt, pr = pu21_encode(test), pu21_encode(ref)
    if metric in ("PSNR", "PSNRY"):
        return matlab_psnr(pt, pr, 256)
    if metric == "SSIM":
        return matlab_ssim(pt, pr, 256)
    with piq_without_range_check():
        if metric == "MSSSIM":
            return float(piq.multi_scale_ssim(t(pt), t(pr), data_range=256.0, reduction="none")[0])
        if metric == "FSIM":
            return float(piq.fsim(t(pt), t(pr), data_range=255.0, chromatic=False, reduction="none")[0])
        if metric == "VSI":
            return float(piq.vsi(t(pt), t(pr), data_range=255.0, reduction="none")[0])
    raise ValueError(metric)


METRICS = {"pu21-psnr": "PSNR", "pu21-psnry": "PSNRY", "pu21-ssim": "SSIM", "pu21-msssim": "MSSSIM",
           "pu21-fsim": "FSIM", "pu21-vsi": "VSI"}


def differences(name: str) -> np.ndarray:
    """|hdrbench − transcription| of metric ``name`` over the demo pairs."""
    metric = create_metric(name)
    out = []
    for _, pred, gt in demo_pairs():
        f = L_PEAK / float(gt.max())
        ref = pu21_metric(pred.astype(np.float64) * f, gt.astype(np.float64) * f, METRICS[name])
        out.append(abs(float(metric(nchw(pred), nchw(gt))[0]) - ref))
    return np.array(out)


@pytest.mark.parametrize("name", list(METRICS))
def test_pu21_metrics_equal_pu21_metric(name):
    d = differences(name)
    assert len(d) >= 20
    assert d.max() <= (1e-4 if "psnr" in name else 1e-5), (name, d.max())


def test_pu21_ssim_default_is_matlab_and_crop_is_kept(rng):
    """The MATLAB reading differs from the scikit-image one (borders), which stays available as border='crop'."""
    from skimage.metrics import structural_similarity

    _, pred, gt = demo_pairs()[1]
    f = L_PEAK / float(gt.max())
    yp, yg = (pu21_encode(get_luminance(v.astype(np.float64) * f)) for v in (pred, gt))
    crop = structural_similarity(yg, yp, data_range=256, gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False)
    ours = float(create_metric("pu21-ssim", border="crop")(nchw(pred), nchw(gt))[0])
    assert ours == pytest.approx(crop, abs=1e-5)
    assert create_metric("pu21-ssim").params["border"] == "replicate"


def test_matlab_ssim_transcription_sanity(rng):
    """The transcription: identical images give 1, and its window is MATLAB's 11×11 one."""
    a = rng.random((40, 50)) * 200
    assert matlab_ssim(a, a, 256) == pytest.approx(1.0, abs=1e-12)
    assert fspecial_gaussian(11, 1.5).shape == (11, 11) and fspecial_gaussian(11, 1.5).sum() == pytest.approx(1)


def test_ssim_replicate_matches_transcription_on_rgb_and_odd_sizes(rng):
    """hdrbench's ``ssim(border='replicate')`` per channel = MATLAB's 2-D ssim, averaged (also σ ≠ 1.5)."""
    from hdrbench.metrics.ssim import ssim

    for h, w, sigma in ((37, 53, 1.5), (64, 64, 2.0), (12, 90, 1.0)):
        gt = rng.random((h, w, 3)) * 300
        pred = np.clip(gt + rng.normal(0, 20, gt.shape), 0, None)
        ref = np.mean([matlab_ssim(pred[..., c], gt[..., c], 256, sigma) for c in range(3)])
        ours = float(ssim(nchw(pred), nchw(gt), 256.0, sigma=sigma, border="replicate")[0])
        assert ours == pytest.approx(ref, abs=1e-5)


def test_pu21_msssim_small_images_use_fewer_scales(rng):
    gt = torch.rand(1, 3, 64, 64, dtype=torch.float64)
    with pytest.warns(UserWarning, match="using 3"):
        v = create_metric("pu21-msssim")(gt * 0.9, gt)
    assert 0 < float(v[0]) <= 1


if __name__ == "__main__":
    print("| metric | pairs | max abs difference |\n|---|---|---|")
    for n in METRICS:
        d = differences(n)
        print(f"| `{n}` | {len(d)} | {d.max():.2e}{' dB' if 'psnr' in n else ''} |")
