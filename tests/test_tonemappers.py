"""Named tone mappers (:mod:`hdrbench.report.tonemappers`) against their sources, and their use in Figure 5.

References:

- HDR Toolbox (Francesco Banterle, GPL v3), github.com/banterle/HDR_Toolbox at commit
  5375d056fb7eee3beebe5c1fe0b199fbadfcc049: ``source_code/Tmo/ReinhardTMO.m`` (global and local),
  ``Tmo/DragoTMO.m``, ``Tmo/GammaTMO.m``, ``Tmo/util/GammaDrago.m`` run under GNU Octave by
  ``tests/data/hdrtoolbox_tmo/tmo_reference.m`` on 64x64 crops of three demo panoramas; outputs stored in
  ``tests/data/hdrtoolbox_tmo/reference.npz`` (README there). The test that runs Octave skips without it.
- Reinhard's own program for the dodging-and-burning (``Tonemap.c``, University of Utah, October 2001) as ported in
  LuminanceHDR/LuminanceHDR ``src/TonemappingOperators/reinhard02/tmo_reinhard02.cpp`` at commit
  92735a4de980f77a3bd0d1b2c710cf364acafda8: transcribed below (:func:`authors_local`).
- HDRUNet, chxy95/HDRUNet ``scripts/metrics.py`` (``mu_tonemap``, ``tanh_norm_mu_tonemap``) and
  ``scripts/tonemapped_visualization.py`` (``norm_perc = np.percentile(hdr_linear_image, 99)`` of the reference)
  at commit e9bd4b90a27d7531a38b8c97db05feb368b96dc2: transcribed in :func:`hdrunet_tonemapped`.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hdrtoolbox_source import HOW, octave_binary, toolbox_dir
from hdrtoolbox_tmo import REFERENCE, make_inputs, run_octave
from scipy.special import erf

from hdrbench.config import parse_config
from hdrbench.errors import HDRBenchError
from hdrbench.report import tonemappers as T

REF = dict(np.load(REFERENCE))
N_IMAGES = REF["imgs"].shape[0]
RTOL = 1e-4


def rel_error(ours: np.ndarray, ref: np.ndarray) -> float:
    """``max |ours − ref| / max(|ref|, 1e-6)`` (float64)."""
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    return float(np.max(np.abs(ours - ref) / np.maximum(np.abs(ref), 1e-6)))


def ours(case: str, img: np.ndarray, pred: np.ndarray, p99: float) -> np.ndarray:
    """hdrbench's output for one case of ``tmo_reference.m`` (linear stage, or display values for ``*_display``)."""
    rs = T.reinhard_statistics(img)
    return {
        "reinhard_global": lambda: T.reinhard_linear(img, rs),
        "reinhard_local": lambda: T.reinhard_linear(img, rs, local=True, reading="hdrtoolbox"),
        "reinhard_global_cross": lambda: T.reinhard_linear(pred, rs),
        "reinhard_local_cross": lambda: T.reinhard_linear(pred, rs, local=True, reading="hdrtoolbox"),
        "drago": lambda: T.drago_linear(img, T.drago_statistics(img)),
        "reinhard_global_display": lambda: T.TONEMAPPERS["reinhard-global"](img),
        "drago_display": lambda: T.TONEMAPPERS["drago"](img),
        "p99_gamma_display": lambda: T.TONEMAPPERS["p99-gamma"](img, stats={"p99": p99}),
    }[case]()


CASES = ["reinhard_global", "reinhard_local", "reinhard_global_cross", "reinhard_local_cross", "drago",
         "reinhard_global_display", "drago_display", "p99_gamma_display"]


@pytest.mark.parametrize("k", range(N_IMAGES))
@pytest.mark.parametrize("case", CASES)
def test_stored_hdrtoolbox_outputs(case, k):
    img, pred = REF["imgs"][k].astype(np.float64), REF["preds"][k].astype(np.float64)
    assert rel_error(ours(case, img, pred, float(REF["p99"][k])), REF[f"{case}_{k + 1}"]) < RTOL


def test_stored_statistics_equal_hdrtoolbox_logmean_and_white():
    for k in range(N_IMAGES):
        st = T.reinhard_statistics(REF["imgs"][k])
        assert st["Lwa"] == pytest.approx(float(REF[f"Lwa_{k + 1}"]), rel=1e-9)
        assert st["Lwhite"] == pytest.approx(float(REF[f"Lwhite_{k + 1}"]), rel=1e-9)


def test_the_crops_are_high_dynamic_range_and_include_black_pixels():
    """The references mean something only on real HDR: >= 10^4 : 1 luminance range, one crop with zeros."""
    lum = REF["imgs"].astype(np.float64) @ np.array(T.LUMINANCE)
    for k in range(N_IMAGES):
        assert lum[k].max() / max(np.percentile(lum[k], 1), 1e-9) > 1e3
    assert (lum == 0).any()


@pytest.mark.skipif(octave_binary() is None or toolbox_dir() is None,
                    reason=f"needs GNU Octave and HDR Toolbox: {HOW}")
def test_octave_run_of_hdrtoolbox_equals_ours_and_the_stored_outputs():
    inputs = make_inputs()
    np.testing.assert_array_equal(inputs["imgs"], REF["imgs"])  # the stored inputs are these crops
    out = run_octave(inputs, toolbox_dir())
    for k in range(N_IMAGES):
        img, pred = inputs["imgs"][k].astype(np.float64), inputs["preds"][k].astype(np.float64)
        for case in CASES:
            fresh = out[f"{case}_{k + 1}"]
            assert rel_error(ours(case, img, pred, float(inputs["p99"][k])), fresh) < RTOL, case
            assert rel_error(REF[f"{case}_{k + 1}"], fresh) < 1e-6, case


# ---------------------------------------------------------------- Reinhard's own program (the default reading)

def authors_local(scaled: np.ndarray, key: float = 0.18, phi: float = 8.0, num: int = 8, low: int = 1,
                  high: int = 43, threshold: float = 0.05) -> np.ndarray:
    """Transcription of tmo_reinhard02.cpp's local branch on an already scaled luminance ``m_image`` (H, W):
    gaussian_filter, build_*_fft, convolve_filter (its product as written), ACTIVITY, tonemap_image."""
    ymax, xmax = scaled.shape
    length = xmax * ymax
    k = 1.0 / (2.0 * 1.4142136)
    sigma_0, sigma_1 = math.log(low), math.log(high)

    def s_i(i: int) -> float:
        return math.exp(sigma_0 + (i / num) * (sigma_1 - sigma_0))

    def gaussian_filter(scale: float) -> np.ndarray:
        a, c = 1.0 / (k * scale), 1.0 / 4.0
        filt = np.zeros((ymax, xmax))
        for y in range(ymax):
            y1 = y - ymax if y >= ymax // 2 else y
            s = erf(a * (y1 - 0.5)) - erf(a * (y1 + 0.5))
            for x in range(xmax):
                x1 = x - xmax if x >= xmax // 2 else x
                filt[y, x] = s * (erf(a * (x1 - 0.5)) - erf(a * (x1 + 0.5))) * c
        return filt

    image_fft = np.fft.fft2(scaled) / math.sqrt(length)  # FFTW forward (sign -1), then * fft_scale
    convolved = []
    for scale in range(num):
        f = np.fft.fft2(gaussian_filter(s_i(scale))) / math.sqrt(length)
        conv = (image_fft.real * f.real + image_fft.imag * f.imag) + 1j * (image_fft.real * f.imag
                                                                           + image_fft.imag * f.real)
        convolved.append((np.fft.ifft2(conv) * length).real)  # FFTW backward (sign +1) is unnormalised

    out = scaled.copy()
    for y in range(ymax):
        for x in range(xmax):
            prefscale = num - 1
            for scale in range(num - 1):
                v1, v2 = convolved[scale][y, x], convolved[scale + 1][y, x]
                activity = (v1 - v2) / ((key * 2.0**phi) / (s_i(scale) * s_i(scale)) + v1)
                if abs(activity) > threshold:
                    prefscale = scale
                    break
            out[y, x] /= 1.0 + convolved[prefscale][y, x]
    return out


@pytest.mark.parametrize("shape", [(64, 64), (36, 44)])  # even sides: there its Gaussian is symmetric (see module)
def test_local_reading_equals_the_authors_program(shape):
    for k in range(N_IMAGES):
        img = REF["imgs"][k, :shape[0], :shape[1]].astype(np.float64)
        stats = T.reinhard_statistics(img)
        scaled = 0.18 * T.luminance(img) / stats["Lwa"]
        got = T.luminance(T.reinhard_linear(img, stats, local=True))  # colour ratios kept: luminance = Ld
        want = authors_local(scaled)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12)  # its k = 1 / (2 * 1.4142136)


def test_the_two_local_readings_differ_where_hdrtoolbox_departs_from_the_paper():
    """HDR Toolbox's unnormalised sampled Gaussian has gain 2.55 at s = 1: its typical local output is darker."""
    img = REF["imgs"][0].astype(np.float64)
    stats = T.reinhard_statistics(img)
    paper = T.reinhard_linear(img, stats, local=True)
    toolbox = T.reinhard_linear(img, stats, local=True, reading="hdrtoolbox")
    assert np.median(T.luminance(toolbox)) < 0.9 * np.median(T.luminance(paper))
    ones = np.ones((32, 32))
    assert T.gaussian_blur(ones, 1.0, "reinhard").mean() == pytest.approx(1.0, abs=1e-12)
    assert T.gaussian_blur(ones, 1.0, "hdrtoolbox").mean() == pytest.approx(2.5499, abs=1e-3)
    with pytest.raises(ValueError, match="reading"):
        T.gaussian_blur(ones, 1.0, "paper")


# ---------------------------------------------------------------- HDRUNet's μ-law

def hdrunet_tonemapped(res_linear: np.ndarray, ref_linear: np.ndarray, mu: float = 5000) -> np.ndarray:
    """tonemapped_visualization.py: ``norm_perc`` = 99th percentile of the reference, then tanh_norm_mu_tonemap."""
    norm_perc = np.percentile(ref_linear, 99)
    bounded_hdr = np.tanh(res_linear / norm_perc)
    return np.log(1 + mu * bounded_hdr) / np.log(1 + mu)


def test_mu_law_equals_hdrunet_with_the_reference_percentile():
    for k in range(N_IMAGES):
        gt, pred = REF["imgs"][k].astype(np.float64), REF["preds"][k].astype(np.float64)
        got = T.TONEMAPPERS["mu-law"](pred, reference=gt)
        np.testing.assert_allclose(got, hdrunet_tonemapped(pred, gt), rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------- every operator

@pytest.mark.parametrize("name", list(T.TONEMAPPERS))
def test_every_operator_maps_hdr_to_display_values(name):
    op = T.TONEMAPPERS[name]
    hdr = REF["imgs"][0].astype(np.float32).copy()
    hdr[0, :4] = np.array([np.nan, -1.0, np.inf, 1e7])[:, None]  # a prediction's NaN, negative, infinite, huge
    out = op(hdr, reference=REF["imgs"][0])
    assert out.shape == hdr.shape and out.dtype == np.float32
    assert np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0
    assert out.max() > 0.9 and np.median(out) > 0.05  # uses the range: highlights near white, mid-tones visible
    if op.local:  # dodging-and-burning raises local contrast: not monotone across a ramp
        return
    # monotone in exposure on a grey ramp, with the ramp's own statistics held fixed
    ramp = np.repeat(np.geomspace(1e-3, 1e3, 64)[None, :, None], 3, axis=2) * np.ones((8, 1, 3))
    grey = op(ramp, stats=op.statistics(ramp))[4, :, 0]
    assert (np.diff(grey) >= -1e-6).all() and grey[-1] > grey[0]


@pytest.mark.parametrize("name", list(T.TONEMAPPERS))
def test_caption_names_the_operator_parameters(name):
    op = T.TONEMAPPERS[name]
    assert "\n" not in op.caption
    for key, value in op.params.items():
        text = f"{value:g}" if isinstance(value, float) else str(value)
        assert text in op.caption, (key, text, op.caption)


def test_statistics_come_from_the_reference_so_equal_values_look_equal():
    """A prediction equal to the ground truth except a brightened region: with the ground truth's statistics the
    untouched pixels look the same in both panels; with the prediction's own statistics they would not."""
    from hdrbench.report.plots import display_row

    gt = REF["imgs"][2].astype(np.float32)
    pred = gt.copy()
    pred[:16, :16] *= 16.0
    untouched = np.ones(gt.shape[:2], bool)
    untouched[:16, :16] = False
    for name, op in T.TONEMAPPERS.items():
        if op.local:  # dodging-and-burning is each panel's own; its scaling is still the ground truth's
            continue
        ldr, shown_pred, shown_gt = display_row([np.clip(gt, 0, 1), pred, gt], op)
        np.testing.assert_array_equal(shown_pred[untouched], shown_gt[untouched], err_msg=name)
        np.testing.assert_array_equal(ldr, np.clip(gt, 0, 1))
        own = op(pred)  # statistics of the prediction itself
        assert np.abs(own[untouched] - shown_gt[untouched]).max() > 1e-3, name


# ---------------------------------------------------------------- configuration, figure and CLI

def _toml(data: dict) -> str:
    """TOML text of the small nested dicts/lists of strings, numbers and booleans used here."""
    import json

    def value(v):
        return ("true" if v else "false") if isinstance(v, bool) else json.dumps(v, ensure_ascii=False)

    lines = []
    for section, table in data.items():
        for entry in table if isinstance(table, list) else [table]:
            lines.append(f"[[{section}]]" if isinstance(table, list) else f"[{section}]")
            for k, v in entry.items():
                if isinstance(v, dict):
                    v = "{" + ", ".join(f"{kk} = {value(vv)}" for kk, vv in v.items()) + "}"
                    lines.append(f"{k} = {v}")
                else:
                    lines.append(f"{k} = {value(v)}")
    return "\n".join(lines) + "\n"


def _bench(tmp_path, plot):
    return {"benchmark": {"name": "t", "output": str(tmp_path / "out")}, "dataset": {"name": "fake-data"},
            "methods": [{"name": "x", "external": str(tmp_path)}], "plot": plot}


def test_config_rejects_an_unknown_tonemapper_in_one_line(tmp_path):
    for value in ("reinhard", ["drago", "reinhard-glob"]):
        with pytest.raises(HDRBenchError) as exc:
            parse_config(_bench(tmp_path, {"tonemapper": value}), tmp_path / "bench.toml")
        msg = str(exc.value)
        assert "\n" not in msg and "plot.tonemapper" in msg and "bench.toml" in msg
        assert all(name in msg for name in T.TONEMAPPERS)
    with pytest.raises(HDRBenchError, match="non-empty list"):
        parse_config(_bench(tmp_path, {"tonemapper": []}), tmp_path / "bench.toml")
    cfg = parse_config(_bench(tmp_path, {"tonemapper": ["drago", "mu-law"]}), tmp_path / "bench.toml")
    assert cfg.plot.tonemapper == ["drago", "mu-law"]
    assert parse_config(_bench(tmp_path, {}), tmp_path / "bench.toml").plot.tonemapper == "p99-gamma"


def test_figure_per_operator_with_its_caption_in_the_metadata(tmp_path, run_main):
    from PIL import Image
    from test_evaluate import make_bench

    from hdrbench.evaluate import evaluate
    from hdrbench.report.plots import write_figures

    data = make_bench(tmp_path)
    data["plot"] = {"images": 1, "tonemapper": ["reinhard-global", "drago"]}
    cfg = parse_config(data, tmp_path / "bench.toml")
    evaluate(cfg, progress=False)
    names = sorted(p.name for p in write_figures(cfg))
    assert "figure5_tonemapped.png" in names and "figure5_tonemapped_drago.pdf" in names
    info = Image.open(cfg.output / "figure5_tonemapped.png").info
    desc = info["Description"]
    assert "Reinhard et al. 2002 global, key a = 0.18, L_white = max" in desc and T.STATISTICS_NOTE in desc
    assert "Reinhard et al. 2002 global, key a = 0.18" in info["Title"]  # the Title names the operator, not the stem
    assert "Drago et al. 2003" in Image.open(cfg.output / "figure5_tonemapped_drago.png").info["Description"]
    pdf = (cfg.output / "figure5_tonemapped_drago.pdf").read_bytes()  # Info /Subject: UTF-16 (non-ASCII caption)
    assert b"/Subject" in pdf and "Drago et al. 2003 adaptive logarithmic".encode("utf-16-be") in pdf
    assert "linear HDR" in Image.open(cfg.output / "figure5.png").info["Description"]
    # hdrbench plot --tonemapper overrides the file's list
    (tmp_path / "bench.toml").write_text(_toml(data))
    code, out, err = run_main("plot", tmp_path / "bench.toml", "--tonemapper", "mu-law")
    assert code == 0, err
    assert "HDRUNet μ-law" in Image.open(cfg.output / "figure5_tonemapped.png").info["Description"]
    code, out, err = run_main("plot", tmp_path / "bench.toml", "--tonemapper", "reinhard")
    assert code != 0 and "unknown tone mapper 'reinhard'" in err and "reinhard-global" in err
    # a typo on the command line is the command line's, with the closest name; a repeated name draws one figure
    code, out, err = run_main("plot", tmp_path / "bench.toml", "--tonemapper", "mulaw")
    lines = [ln for ln in err.splitlines() if ln.startswith("hdrbench: error:")]
    assert code == 2 and len(lines) == 1 and "bench.toml" not in lines[0]
    assert lines[0].startswith("hdrbench: error: --tonemapper: unknown tone mapper 'mulaw' (did you mean 'mu-law'?")
    (cfg.output / "figure5_tonemapped_mu-law.png").unlink(missing_ok=True)
    code, out, err = run_main("plot", tmp_path / "bench.toml", "--tonemapper", "mu-law", "--tonemapper", "mu-law")
    assert code == 0, err
    assert "figure5_tonemapped_mu-law" not in out and not (cfg.output / "figure5_tonemapped_mu-law.png").exists()
    assert T.tonemapper_names(["drago", "mu-law", "drago"]) == ["drago", "mu-law"]
