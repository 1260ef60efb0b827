"""The literature presets (hdrbench.metrics.literature) against line-by-line numpy transcriptions of their sources.

Each ``ref_*`` function below transcribes its source, written here from the source and importing nothing of
hdrbench:

* SingleHDR ``pre_hdr_p3``: the authors' MATLAB in alex04072000/SingleHDR issue #4 (repeated in #23); repository at
  ce89648bc95ba1615b5eb9d8a1c4456a7872a92c (no evaluation code there).
* ExpandNet: dmarnerides/hdr-expandnet issues #9 and #10 (author's words; repository at
  2b47572a88f247e0f44eb14065b0ed4fc9618e0d, percentiles as its ``util.py`` takes them: ``np.percentile`` of the
  whole array).
* HDRCNN: gabrieleilertsen/hdrcnn issues #46 (90th luminance percentile → 180 cd/m²) and #47
  (``I/percentile(I,95)`` × peak, clipped); repository at 67f5a94b4c9c13ef53fceef3595de09f996a7fd3.
* FHDR: mukulkhanna/FHDR ``test.py``, ``util.py`` (``mu_tonemap``), ``data_loader.py`` at
  1a6cfb68ab8309e4db34c6cec991e0d862d50e8a, and scikit-image v0.15.0 (825b95dd8c13fc8d34f94b7c2acac1515e3d8ddb,
  ``skimage/measure/_structural_similarity.py``: ``compare_ssim``), the version FHDR's ``requirements.txt`` pins.

HDR-VDP-2 itself is validated elsewhere (tests/test_hdrvdp2*.py): here the port scores the preset's prepared images
and the transcription's, and the two Q must agree. Pairs: the demo dataset's 8 test views (real HDR panoramas,
linear [0, 1]) × 3 predictions each (noise, blur, exposure shift, clipped highlights, overshoot, linearised LDR):
24 pairs. ``python tests/test_literature_protocols.py`` prints the table of max differences of
docs/protocols-literature.md (all 24 pairs for every metric; pytest scores Q on 6 of them).
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter, uniform_filter

KINDS = ("noise", "blur", "exposure", "clip", "overshoot", "ldr")


# ---------------------------------------------------------------- transcriptions (numpy, no hdrbench)

def ref_pre_hdr_p3(hdr: np.ndarray) -> np.ndarray:
    """SingleHDR #4, line by line (hdrimread gives double)."""
    hdr = hdr.astype(np.float64)
    eps = 1e-8
    v = hdr.reshape(-1, order="F")  # hdr(:)
    s = v.shape[0]  # size(hdr(:), 1)
    k = int(np.floor(s * 1e-3 + 0.5))  # int64(s*1e-3): MATLAB rounds half away from zero
    a = np.sort(v)[:k]  # mink(hdr(:), k): the k smallest, ascending
    a = a[-1]  # a(end)
    b = np.sort(v)[::-1][:k]  # maxk(hdr(:), k): the k largest, descending
    b = b[-1]  # b(end)
    c = 1.0
    d = 999.0
    hdr = (hdr - a) * (d - c) / (b - a + eps) + c
    hdr[hdr < 0] = 0
    return hdr


def ref_expandnet(pred: np.ndarray, gt: np.ndarray, target: str) -> tuple[np.ndarray, np.ndarray]:
    """ExpandNet #9: "perc(prediction, 0.1) -> 1 and perc(prediction, 99.9) -> 999" (display, 1000 nits, every
    image alike, #10); scene-referred: "the original image maximum" replaces 1000, or (the paper's sentence) the
    ground truth's own percentiles."""
    pred, gt = pred.astype(np.float64), gt.astype(np.float64)

    def match(x, lo_to, hi_to):
        lo, hi = np.percentile(x, (0.1, 99.9))
        return (x - lo) / (hi - lo) * (hi_to - lo_to) + lo_to

    if target == "display":
        return match(pred, 1.0, 999.0), match(gt, 1.0, 999.0)
    if target == "gt-max":
        return match(pred, 0.001 * gt.max(), 0.999 * gt.max()), gt
    g_lo, g_hi = np.percentile(gt, (0.1, 99.9))
    return match(pred, g_lo, g_hi), gt


def ref_hdrcnn(img: np.ndarray, reading: str) -> np.ndarray:
    """HDRCNN #46: "fixed the luminance of the 90th percentile pixel value to 180 cd/m2 [...] a linear scaling";
    #47: "I/percentile(I,95) to have the 5% brightest pixels clipped at the peak luminance" (peak 1000 here)."""
    img = img.astype(np.float64)
    if reading == "p90":
        lum = 0.2126 * img[..., 0] + 0.7152 * img[..., 1] + 0.0722 * img[..., 2]
        return img * (180.0 / np.percentile(lum, 90))
    peak = 1000.0
    return np.minimum(img / np.percentile(img, 95) * peak, peak)


def ref_compare_ssim_015(X: np.ndarray, Y: np.ndarray, multichannel: bool = False) -> float:
    """scikit-image 0.15.0 ``compare_ssim`` with its defaults (win_size None, gaussian_weights False, data_range
    None, use_sample_covariance True, K1 0.01, K2 0.03), the path FHDR's call takes."""
    if multichannel:
        nch = X.shape[-1]
        mssim = np.empty(nch)
        for ch in range(nch):
            mssim[..., ch] = ref_compare_ssim_015(X[..., ch], Y[..., ch])
        return float(mssim.mean())
    K1, K2, use_sample_covariance = 0.01, 0.03, True
    win_size = 7  # backwards compatibility
    dtype_range = {np.float16: (-1, 1), np.float32: (-1, 1), np.float64: (-1, 1)}
    dmin, dmax = dtype_range[X.dtype.type]
    data_range = dmax - dmin
    X = X.astype(np.float64)
    Y = Y.astype(np.float64)
    NP = win_size ** X.ndim
    cov_norm = NP / (NP - 1) if use_sample_covariance else 1.0
    ux = uniform_filter(X, size=win_size)
    uy = uniform_filter(Y, size=win_size)
    uxx = uniform_filter(X * X, size=win_size)
    uyy = uniform_filter(Y * Y, size=win_size)
    uxy = uniform_filter(X * Y, size=win_size)
    vx = cov_norm * (uxx - ux * ux)
    vy = cov_norm * (uyy - uy * uy)
    vxy = cov_norm * (uxy - ux * uy)
    R = data_range
    C1 = (K1 * R) ** 2
    C2 = (K2 * R) ** 2
    A1, A2, B1, B2 = (2 * ux * uy + C1, 2 * vxy + C2, ux ** 2 + uy ** 2 + C1, vx + vy + C2)
    S = (A1 * A2) / (B1 * B2)
    pad = (win_size - 1) // 2
    return float(S[pad:-pad, pad:-pad].mean())  # crop(S, pad).mean()


def ref_fhdr(pred: np.ndarray, gt: np.ndarray) -> tuple[float, float]:
    """FHDR test.py on one pair (HWC float32 linear): ``pred`` stands for ``(output + 1)/2`` of the network."""
    normalize = lambda img: (img.transpose(2, 0, 1) - np.float32(0.5)) / np.float32(0.5)  # noqa: E731
    output = normalize(pred.astype(np.float32))  # the network's tanh output, CHW in (-1, 1)
    ground_truth = normalize(gt.astype(np.float32))  # data_loader: from_numpy(img.transpose(2,0,1)), Normalize

    def mu_tonemap(img):  # util.py; torch divides a float32 tensor by a scalar in float32
        MU = 5000.0
        return np.log(1.0 + MU * (img + 1.0) / 2.0) / float(np.log(1.0 + MU))

    mu_tonemap_gt = mu_tonemap(ground_truth)
    mse = np.mean((mu_tonemap(output) - mu_tonemap_gt) ** 2, dtype=np.float32)  # nn.MSELoss(), mean
    psnr = 10 * np.log10(1 / float(mse))
    generated = (np.transpose(output, (1, 2, 0)) + 1) / 2.0
    real = (np.transpose(ground_truth, (1, 2, 0)) + 1) / 2.0
    ssim = ref_compare_ssim_015(generated, real, multichannel=True)
    return psnr, ssim


# ---------------------------------------------------------------- pairs

def make_pairs() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """24 ``(label, prediction, gt)`` HWC float32 pairs from the demo test views (3 distortions per view)."""
    from hdrbench.datasets.base import create_dataset

    ds = create_dataset("demo")
    rng = np.random.default_rng(2024)
    out = []
    for v, pair in enumerate(ds.pairs("test")):
        ldr, gt = ds.load_pair(pair)
        gt = gt.astype(np.float64)
        for j in range(3):
            kind = KINDS[(3 * v + j) % len(KINDS)]
            top, p90 = gt.max(), np.percentile(gt, 90)
            if kind == "noise":
                p = np.maximum(gt + rng.normal(0, 0.02 * top, gt.shape), 0)
            elif kind == "blur":
                p = np.stack([gaussian_filter(gt[..., c], 2.0) for c in range(3)], -1)
            elif kind == "exposure":
                p = gt * 2.0 ** (-1.0 if v % 2 else 0.7)
            elif kind == "clip":
                p = np.minimum(gt, np.percentile(gt, 97))
            elif kind == "overshoot":
                p = gt + 2.0 * np.maximum(gt - p90, 0)
            else:
                lin = ldr.astype(np.float64) ** 2.2
                p = lin * (np.median(gt) / max(np.median(lin), 1e-6))
            out.append((f"{pair.id}:{kind}", p.astype(np.float32), gt.astype(np.float32)))
    return out


# ---------------------------------------------------------------- comparisons

PREP_CASES = {  # preset -> transcription of its preparation, (pred, gt) HWC float32 -> (pred, gt) float64
    "singlehdr": lambda p, g: (ref_pre_hdr_p3(p), ref_pre_hdr_p3(g)),
    "expandnet-display": lambda p, g: ref_expandnet(p, g, "display"),
    "expandnet-scene": lambda p, g: ref_expandnet(p, g, "gt-max"),
    "expandnet-scene-percentiles": lambda p, g: ref_expandnet(p, g, "gt-percentiles"),
    "hdrcnn": lambda p, g: (ref_hdrcnn(p, "p90"), ref_hdrcnn(g, "p90")),
    "hdrcnn-p95": lambda p, g: (ref_hdrcnn(p, "p95"), ref_hdrcnn(g, "p95")),
}


def nchw(*arrays: np.ndarray):
    import torch

    return [torch.from_numpy(np.ascontiguousarray(np.stack(a).transpose(0, 3, 1, 2), dtype=np.float32))
            for a in arrays]


def preparation_errors(name: str, pairs) -> tuple[float, float]:
    """Max |ours − transcription| / (|transcription| + 1e-3 · max|transcription|) of the prepared pred and gt, and
    the number of pairs: the preset's prepared images against the transcription's (float32 vs float64)."""
    from hdrbench.metrics.literature import PROTOCOLS

    proto = PROTOCOLS[name]
    pred, gt = nchw([p for _, p, _ in pairs], [g for _, _, g in pairs])
    mine_p, mine_g = proto.prepare(pred, gt)
    worst = 0.0
    for i, (_, p, g) in enumerate(pairs):
        rp, rg = PREP_CASES[name](p, g)
        for mine, ref in ((mine_p[i], rp), (mine_g[i], rg)):
            ref_chw = ref.transpose(2, 0, 1)
            err = np.abs(mine.double().numpy() - ref_chw) / (np.abs(ref_chw) + 1e-3 * np.abs(ref_chw).max())
            worst = max(worst, float(err.max()))
    return worst, len(pairs)


def vdp_difference(name: str, pairs) -> tuple[float, float]:
    """Max |Q(preset's prepared images) − Q(transcription's prepared images)| over ``pairs`` and the mean Q."""
    import torch

    from hdrbench.metrics.literature import PROTOCOLS

    proto = PROTOCOLS[name]
    metric = proto.create("hdrvdp2")
    pred, gt = nchw([p for _, p, _ in pairs], [g for _, _, g in pairs])
    q_mine = metric(*proto.prepare(pred, gt))
    refs = [PREP_CASES[name](p, g) for _, p, g in pairs]
    q_ref = metric(*nchw([r[0] for r in refs], [r[1] for r in refs]))
    return float((q_mine - q_ref).abs().max()), float(torch.as_tensor(q_ref).mean())


def fhdr_differences(pairs) -> dict[str, tuple[float, float]]:
    """``{metric: (max |ours − FHDR test.py|, mean of FHDR's)}`` for PSNR-μ and SSIM."""
    from hdrbench.metrics.literature import PROTOCOLS
    from hdrbench.metrics.scoring import Scorer

    scorer = Scorer(PROTOCOLS["fhdr"])
    pred, gt = nchw([p for _, p, _ in pairs], [g for _, _, g in pairs])
    mine = scorer.score(pred, gt)
    refs = np.array([ref_fhdr(p, g) for _, p, g in pairs])
    return {m: (float(np.abs(mine[m].numpy() - refs[:, k]).max()), float(refs[:, k].mean()))
            for k, m in enumerate(("psnr-mu", "ssim"))}


# ---------------------------------------------------------------- tests

@pytest.fixture(scope="module")
def pairs():
    return make_pairs()


def test_pairs_are_real_and_varied(pairs):
    assert len(pairs) >= 20
    assert {label.split(":")[1] for label, _, _ in pairs} == set(KINDS)
    assert all(g.max() > 0 and p.shape == g.shape == (256, 256, 3) for _, p, g in pairs)


@pytest.mark.parametrize("name", sorted(PREP_CASES))
def test_prepared_images_equal_the_transcription(name, pairs):
    err, n = preparation_errors(name, pairs)
    assert n >= 20 and err < 2e-6, f"{name}: prepared images differ by {err:.3g} (relative) from the source's"


@pytest.mark.parametrize("name", sorted(PREP_CASES))
def test_hdrvdp2_q_equals_q_of_the_transcription(name, pairs):
    subset = [pairs[i] for i in range(0, len(pairs), 4)]  # one of each distortion kind; all 24 in the script
    diff, mean_q = vdp_difference(name, subset)
    assert diff < 1e-3 and 0 < mean_q < 100, f"{name}: Q differs by {diff:.3g}"


def test_fhdr_psnr_and_ssim_equal_fhdr_test_py(pairs):
    d = fhdr_differences(pairs)
    assert d["psnr-mu"][0] <= 1e-4 and d["ssim"][0] <= 1e-5, d


def test_compare_ssim_015_is_todays_structural_similarity_with_data_range_2(pairs):
    skm = pytest.importorskip("skimage.metrics")
    for _, p, g in pairs[:4]:
        ref = ref_compare_ssim_015(p, g, multichannel=True)
        now = skm.structural_similarity(p, g, channel_axis=-1, data_range=2.0)  # float32 in, float32 maths now
        exact = skm.structural_similarity(p.astype(np.float64), g.astype(np.float64), channel_axis=-1,
                                          data_range=2.0)  # 0.15.0 cast to float64 itself
        assert abs(ref - exact) < 1e-12 and abs(ref - now) < 1e-6


def test_pre_hdr_p3_order_statistics_by_hand():
    import torch

    from hdrbench.metrics.literature.singlehdr import pre_hdr_p3

    x = torch.arange(1, 3001, dtype=torch.float32).reshape(1, 3, 1000, 1)  # 3000 values: k = int64(3) = 3
    y = pre_hdr_p3(x)
    assert float(y.flatten()[2]) == pytest.approx(1.0) and float(y.flatten()[-3]) == pytest.approx(999.0, rel=1e-6)
    assert float(y.min()) >= 0 and float(ref_pre_hdr_p3(x[0].permute(1, 2, 0).numpy()).max()) == pytest.approx(
        float(y.max()), rel=1e-6)


def test_presets_describe_their_source_and_rule_and_digest_it():
    import json

    from hdrbench.metrics.literature import PROTOCOLS
    from hdrbench.metrics.scoring import column_digests

    digests = set()
    for name, proto in PROTOCOLS.items():
        d = json.loads(json.dumps(proto.describe()))
        assert d["name"] == name and d["source"] and d["preparation"]["name"] == name
        assert proto.preparation_words() and proto.metrics
        for metric in proto.metrics:
            proto.create(metric)
        digests.update(column_digests(proto, proto.metrics).values())
    assert len(digests) == sum(len(p.metrics) for p in PROTOCOLS.values())
    vdp = PROTOCOLS["singlehdr"].create("hdrvdp2").params
    assert (vdp["color_encoding"], vdp["pixels_per_degree"], vdp["input_scale"]) == ("rgb-bt.709", 30.0, 1.0)
    ssim = PROTOCOLS["fhdr"].create("ssim").params
    assert (ssim["data_range"], ssim["gaussian"], ssim["win_size"], ssim["use_sample_covariance"]) == (2.0, False,
                                                                                                      7, True)


def test_a_declared_white_is_refused():
    from hdrbench.errors import HDRBenchError
    from hdrbench.metrics.literature import PROTOCOLS

    with pytest.raises(HDRBenchError, match="fixes its own preparation .* white do not apply"):
        PROTOCOLS["hdrcnn"].with_white(2.0)
    with pytest.raises(HDRBenchError, match="clip_pred do not apply"):
        PROTOCOLS["singlehdr"].with_options(clip_pred=False)


# ---------------------------------------------------------------- the table of docs/protocols-literature.md

def main() -> None:
    import torch

    torch.set_num_threads(2)
    pairs = make_pairs()
    print(f"{len(pairs)} pairs (demo test views x {', '.join(KINDS)})\n")
    print("| preset | metric | pairs | max difference from the source's transcription | mean (source) |")
    print("|---|---|---|---|---|")
    for name in PREP_CASES:
        err, n = preparation_errors(name, pairs)
        print(f"| `{name}` | prepared images (relative) | {n} | {err:.2e} | |")
        diff, mean_q = vdp_difference(name, pairs)
        print(f"| `{name}` | HDR-VDP-2 Q | {n} | {diff:.2e} | {mean_q:.2f} |")
        sys.stdout.flush()
    for metric, (diff, mean) in fhdr_differences(pairs).items():
        unit = " dB" if metric == "psnr-mu" else ""
        print(f"| `fhdr` | {metric} | {len(pairs)} | {diff:.2e}{unit} | {mean:.4f} |")


if __name__ == "__main__":
    main()
