"""The ``hdrtv`` protocol's metrics against transcriptions of the HDRTV papers' evaluation code, on 26 real pairs.

Transcribed from (numpy, not from hdrbench):

- HDR10 frames as the papers score them (HDRTVNet #17, Deep SR-ITM #14): gt max → 1000 cd/m², BT.709 → BT.2020
  (colour-science's ``matrix_RGB_to_RGB``; ITU-R BT.2087 prints it to 4 decimals), SMPTE ST 2084 inverse EOTF,
  16-bit codes as chxy95/HDRTVNet ``codes/utils/util.py`` ``tensor2img(..., np.uint16)``:
  ``(clamp(x, 0, 1)·65535).round()``.
- PSNR: HDRTVNet ``util.calculate_psnr`` on codes/65535 (float32, ``20·log10(1/√mse)``).
- SSIM, SR-SIM: xiaom233/HDRTVNet-plus ``metrics/DeltaE_ITP.py``: ``piq.ssim(gt, pred, data_range=65535.,
  downsample=False)``, ``piq.srsim(gt, pred, data_range=65535.)`` on the int32 codes as float32 tensors.
- ΔE_ITP: HDRTVNet ``metrics/DeltaE_ITP.py`` (codes/65535 → ``colour.models.eotf_ST2084`` → ``RGB_to_ICtCp`` →
  ``720·√(ΔI² + 0.25ΔCt² + ΔCp²)``, mean), and ITU-R BT.2124 itself with BT.2100's integer matrices.
- HDR-VDP-2: sooyekim/Deep-SR-ITM #24 (``hdrvdp(HDR_Ylin, pred_Ylin, 'luminance', 30)`` on the Y of the
  PQ-decoded linear RGB; PQ EOTF as HDRTVNet ``metrics/calculate_hdrvdp3.m`` ``PQEOTF``), through hdrbench's
  HDR-VDP-2 port (tested against the original elsewhere): this checks what the metric feeds it.

Run as a script to print the table of maximum differences (docs/protocols-sihdr-hdrtv.md):
``PYTHONPATH=. .venv/bin/python tests/test_hdrtv_protocol.py``.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from hdr_pairs import demo_pairs, nchw  # noqa: E402

from hdrbench.metrics.literature.hdrtv import PROTOCOLS  # noqa: E402

PEAK = 1000.0
# SMPTE ST 2084
M1, M2, C1, C2, C3 = 2610 / 16384, 2523 / 4096 * 128, 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
BT2087_PRINTED = np.array([[0.6274, 0.3293, 0.0433], [0.0691, 0.9195, 0.0114], [0.0164, 0.0880, 0.8956]])


def bt709_to_bt2020_matrix() -> np.ndarray:
    import colour

    cs = colour.RGB_COLOURSPACES
    return colour.matrix_RGB_to_RGB(cs["ITU-R BT.709"], cs["ITU-R BT.2020"])


def pq_inverse_eotf(lum: np.ndarray) -> np.ndarray:
    y = (np.clip(lum, 0, 10000) / 10000) ** M1
    return ((C1 + C2 * y) / (1 + C3 * y)) ** M2


def pq_eotf(e: np.ndarray) -> np.ndarray:
    """HDRTVNet ``calculate_hdrvdp3.m`` ``PQEOTF`` (its constants are ST 2084's, written out)."""
    ep = e ** (1 / M2)
    return np.clip(10000 * (np.maximum(ep - C1, 0) / (C2 - C3 * ep)) ** (1 / M1), 0, 10000)


def hdr10_codes(rgb709: np.ndarray, factor: float) -> np.ndarray:
    """16-bit PQ codes (uint16, RGB order) of linear BT.709 ``(H, W, 3)`` × ``factor`` (cd/m²)."""
    rgb2020 = (rgb709.astype(np.float64) * factor) @ bt709_to_bt2020_matrix().T
    return (np.clip(pq_inverse_eotf(rgb2020), 0, 1) * 65535.0).round().astype(np.uint16)


def calculate_psnr(img1: np.ndarray, img2: np.ndarray) -> float:
    img1, img2 = img1.astype(np.float32), img2.astype(np.float32)
    mse = np.mean((img1 - img2) ** 2)
    return float("inf") if mse == 0 else 20 * math.log10(1.0 / math.sqrt(mse))


def delta_itp_hdrtvnet(img1: np.ndarray, img2: np.ndarray) -> float:
    import colour

    img1, img2 = (colour.RGB_to_ICtCp(colour.models.eotf_ST2084(v / 65535.0)) for v in (img1, img2))
    d = 720 * np.sqrt((img1[..., 0] - img2[..., 0]) ** 2 + 0.25 * (img1[..., 1] - img2[..., 1]) ** 2
                      + (img1[..., 2] - img2[..., 2]) ** 2)
    return float(np.mean(d))


def delta_itp_bt2124(img1: np.ndarray, img2: np.ndarray) -> float:
    """ITU-R BT.2124 on BT.2100 ICtCp (PQ), from PQ codes of linear BT.2020 RGB."""
    rgb_to_lms = np.array([[1688, 2146, 262], [683, 2951, 462], [99, 309, 3688]]) / 4096
    lms_to_ictcp = np.array([[2048, 2048, 0], [6610, -13613, 7003], [17933, -17390, -543]]) / 4096

    def itp(codes):
        ictcp = pq_inverse_eotf(pq_eotf(codes / 65535.0) @ rgb_to_lms.T) @ lms_to_ictcp.T
        return ictcp * np.array([1.0, 0.5, 1.0])  # T = 0.5·Ct, P = Cp

    return float(np.mean(720 * np.sqrt(((itp(img1) - itp(img2)) ** 2).sum(axis=-1))))


def torch_codes(codes: np.ndarray) -> torch.Tensor:
    """HDRTVNet++: ``torch.Tensor(img.astype(np.int32)).unsqueeze(0).permute(0, 3, 1, 2)``."""
    return torch.Tensor(codes.astype(np.int32)).unsqueeze(0).permute(0, 3, 1, 2)


def reference(name: str, pred: np.ndarray, gt: np.ndarray) -> float:
    import piq

    f = PEAK / float(gt.max())
    p, g = hdr10_codes(pred, f), hdr10_codes(gt, f)
    if name == "pq-psnr":
        return calculate_psnr(p / (2**16 - 1), g / (2**16 - 1))
    if name == "pq-ssim":
        return float(piq.ssim(torch_codes(g), torch_codes(p), reduction="mean", data_range=65535.0, downsample=False))
    if name == "sr-sim":
        return float(piq.srsim(torch_codes(g), torch_codes(p), reduction="mean", data_range=65535.0))
    if name == "delta-e-itp":
        return delta_itp_hdrtvnet(p, g)
    if name == "delta-e-itp/bt2124":
        return delta_itp_bt2124(p, g)
    if name == "hdrvdp2-pq":
        from hdrbench.metrics.hdrvdp2.metric import hdrvdp2

        y = [pq_eotf(v / 65535.0) @ np.array([0.2627, 0.6780, 0.0593]) for v in (g, p)]
        return float(hdrvdp2(y[0], y[1], "luminance", 30.0, 1.0, compute_p_map=False).Q[0])
    raise ValueError(name)


METRICS = ("pq-psnr", "pq-ssim", "sr-sim", "delta-e-itp", "delta-e-itp/bt2124", "hdrvdp2-pq")


def differences(name: str, limit: int | None = None) -> np.ndarray:
    """|hdrbench (``hdrtv`` preset) − transcription| over the demo pairs (the first ``limit``)."""
    metric = PROTOCOLS["hdrtv"].create(name.split("/")[0])
    out = []
    for _, pred, gt in demo_pairs()[:limit]:
        ours = float(metric(nchw(pred), nchw(gt))[0])
        ref = reference(name, pred, gt)
        out.append(0.0 if ours == ref else abs(ours - ref))  # inf == inf for identical codes
    return np.array(out)


@pytest.mark.parametrize("name", METRICS[:-1])
def test_hdrtv_metrics_equal_the_papers_code(name):
    d = differences(name)
    assert len(d) >= 20
    assert d.max() <= (1e-4 if "psnr" in name else 1e-5), (name, d.max())


@pytest.mark.slow
def test_hdrtv_hdrvdp2_feeds_deep_sr_itm_luminance():
    d = differences("hdrvdp2-pq", limit=4)
    assert d.max() <= 1e-4, d


def test_transforms_match_the_standards():
    from hdrbench.metrics import transforms as tr

    m = np.array(tr.BT709_TO_BT2020)
    np.testing.assert_allclose(m, bt709_to_bt2020_matrix(), atol=1e-12)
    np.testing.assert_allclose(m, BT2087_PRINTED, atol=5e-5)
    lum = np.array([0.0, 0.005, 0.1, 100.0, 203.0, 1000.0, 4000.0, 10000.0])
    ours = tr.pq_encode(torch.from_numpy(lum)).numpy()
    np.testing.assert_allclose(ours, pq_inverse_eotf(lum), atol=1e-14)
    assert ours[5] == pytest.approx(0.7518, abs=1e-4) and ours[-1] == pytest.approx(1.0)  # ST 2084: 1000 nits
    np.testing.assert_allclose(tr.pq_decode(torch.from_numpy(ours)).numpy(), lum, rtol=1e-9, atol=1e-12)
    codes = tr.quantize(torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64), 16).numpy() * 65535
    np.testing.assert_array_equal(codes, [0, 32768, 65535])  # numpy/torch round half to even: 32767.5 → 32768


def test_colour_delta_e_itp_equals_bt2124(rng):
    """colour-science's ΔE_ITP (used by the metric) against the BT.2124 transcription, random HDR10 codes."""
    a = rng.integers(0, 65536, (32, 32, 3)).astype(np.uint16)
    b = np.clip(a.astype(np.int64) + rng.integers(-900, 900, a.shape), 0, 65535).astype(np.uint16)
    assert delta_itp_hdrtvnet(a, b) == pytest.approx(delta_itp_bt2124(a, b), rel=1e-9)


def test_hdrtv_preset_builds_and_describes():
    proto = PROTOCOLS["hdrtv"]
    assert json.loads(json.dumps(proto.describe()))["name"] == "hdrtv"
    for name in proto.metrics:
        m = proto.create(name)
        assert m.params["bits"] == 16 and m.params["peak_luminance"] == PEAK and m.params["anchor"] == "gt-max"
    vdp = proto.create("hdrvdp2-pq").params
    assert vdp["pixels_per_degree"] == 30.0 and vdp["gt_first"] is True
    assert proto.create("delta-e-itp").lower_better and not proto.create("sr-sim").lower_better


def test_sr_sim_bgr_is_hdrtvnet_plus_script():
    """``channel_order='bgr'``: HDRTVNet++ hands piq cv2's BGR arrays (codes in BGR order)."""
    import piq

    from hdrbench.metrics import create_metric

    _, pred, gt = demo_pairs()[2]
    f = PEAK / float(gt.max())
    p, g = (hdr10_codes(v, f)[..., ::-1] for v in (pred, gt))  # cv2.imread order
    ref = float(piq.srsim(torch_codes(g), torch_codes(p), reduction="mean", data_range=65535.0))
    ours = float(create_metric("sr-sim", bits=16, channel_order="bgr")(nchw(pred), nchw(gt))[0])
    assert ours == pytest.approx(ref, abs=1e-5)


def test_pq_metrics_identity_and_options(rng):
    from hdrbench.errors import HDRBenchError
    from hdrbench.metrics import create_metric

    gt = torch.from_numpy(rng.random((1, 3, 48, 48))) ** 2
    assert math.isinf(float(create_metric("pq-psnr")(gt, gt)[0]))
    assert float(create_metric("delta-e-itp")(gt, gt)[0]) == 0.0
    # 'bt2020' input is taken as is; 'bt709' is converted first: a saturated BT.709 red is not BT.2020 red
    red = torch.zeros(1, 3, 16, 16, dtype=torch.float64)
    red[:, 0] = 1.0
    a = create_metric("pq-psnr", primaries="bt2020")(red * 0.5, red)
    b = create_metric("pq-psnr")(red * 0.5, red)
    assert float(a[0]) != pytest.approx(float(b[0]), abs=1e-3)
    with pytest.raises(HDRBenchError, match="primaries"):
        create_metric("pq-ssim", primaries="p3")
    with pytest.raises(HDRBenchError, match="bits"):
        create_metric("pq-psnr", bits=0.5)


if __name__ == "__main__":
    print("| metric | reference | pairs | max abs difference |\n|---|---|---|---|")
    for n in METRICS:
        d = differences(n, limit=4 if n == "hdrvdp2-pq" else None)
        print(f"| `{n.split('/')[0]}` | {n.split('/')[1] if '/' in n else 'paper code'} | {len(d)} | "
              f"{d.max():.2e}{' dB' if 'psnr' in n else ''} |")
