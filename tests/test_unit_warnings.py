"""Unit trouble is never silent: a prediction in other units than its ground truth (or constant) is noted with
its scores, ``data synth`` refuses a headroom that whitens the ground truth and warns when it is clipped, and
``predict --half`` never writes fp16 overflow as inf."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import hdrbench
from hdrbench import io
from hdrbench.errors import HDRBenchError
from hdrbench.metrics.validate import SCALE_LIMIT, check_pair, scale_note


def _gt(rng: np.random.Generator, h: int = 40, w: int = 48) -> np.ndarray:
    """Display-referred [0, 1] ground truth: mid-tones 0.02-0.5 and a bright patch at 1."""
    img = (rng.random((h, w, 3)) * 0.48 + 0.02).astype(np.float32)
    img[:6, :6] = 1.0
    return img


def _good(gt: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.clip(gt * rng.uniform(0.9, 1.1, gt.shape), 0, 1).astype(np.float32)


def _notes(pred: np.ndarray, gt: np.ndarray) -> list[str]:
    notes: list[str] = []
    check_pair(pred, gt, "p.exr", "g.exr", notes=notes)
    return notes


@pytest.mark.parametrize("factor", [64.0, 1 / 64, 10.0, 0.1])
def test_a_prediction_in_other_units_is_noted(factor, rng):
    gt = _gt(rng)
    (line,) = _notes(_good(gt, rng) * np.float32(factor), gt)
    ratio = float(line.split("predicted values are ")[1].split("x ")[0])
    assert line.startswith("p.exr: ") and ratio == pytest.approx(factor, rel=0.1)
    assert "different units" in line and "\n" not in line


@pytest.mark.parametrize("factor", [1.0, 0.5, 2.0, 6.0, 1 / 6])
def test_a_prediction_within_the_limit_is_not(factor, rng):
    gt = _gt(rng)
    assert _notes(_good(gt, rng) * np.float32(factor), gt) == []


def test_highlights_do_not_count_midtones_do(rng):
    """A method that gets the highlights 50x too bright but the mid-tones right is in the right units."""
    gt = _gt(rng)
    pred = _good(gt, rng)
    pred[:6, :6] = 50.0
    assert _notes(pred, gt) == []


def test_a_repaired_prediction_is_checked_too(rng):
    gt = _gt(rng)
    pred = gt * 64
    pred[0, 0, 0] = np.nan
    notes: list[str] = []
    check_pair(pred, gt, "p.exr", "g.exr", clamp=True, notes=notes)
    assert len(notes) == 2 and "clamping repaired 1 NaN/inf" in notes[0] and "different units" in notes[1]


def test_black_and_constant_predictions_are_noted(rng):
    gt = _gt(rng)
    (black,) = _notes(np.zeros_like(gt), gt)
    assert "all zeros (black)" in black
    (flat,) = _notes(np.full_like(gt, 0.25), gt)
    assert "constant (every value 0.25)" in flat
    assert _notes(np.full_like(gt, 0.25), np.full_like(gt, 0.3)) == []  # both flat: not a units problem


def test_both_layouts_and_the_rule_directly(rng):
    gt = torch.from_numpy(_gt(rng))
    nchw = gt.permute(2, 0, 1)[None].contiguous()
    assert scale_note(nchw * 64, nchw) is not None and scale_note(nchw, nchw) is None
    assert scale_note(gt * (SCALE_LIMIT * 1.2), gt) is not None
    assert scale_note(gt * (SCALE_LIMIT * 0.8), gt) is None


def test_score_api_and_cli_keep_the_note_with_the_scores(rng, tmp_path, run_main):
    gt = _gt(rng)
    pred = gt * 64
    with pytest.warns(hdrbench.HDRBenchWarning, match="64x the ground truth's scale"):
        rec = hdrbench.score(pred, gt, metrics=["psnr-l"])
    assert any("different units" in w for w in rec["warnings"])
    io.write_exr(tmp_path / "gt.exr", gt)
    io.write_exr(tmp_path / "pred.exr", pred)
    code, _, err = run_main("score", tmp_path / "pred.exr", tmp_path / "gt.exr", "--metric", "psnr-l",
                            "--out", tmp_path / "s.csv")
    assert code == 0, err
    assert "hdrbench: warning:" in err and "64x the ground truth's scale" in err
    assert "different units" in pd.read_csv(tmp_path / "s.csv")["warnings"][0]


# -- data synth -----------------------------------------------------------------------------------------------
@pytest.fixture
def hdr_dir(tmp_path, rng):
    folder = tmp_path / "hdr"
    folder.mkdir()
    for i in range(2):
        img = (rng.random((48, 64, 3)) ** 3 * 4).astype(np.float32)
        img[3:9, 3:9] = 300.0
        io.write_exr(folder / f"s{i}.exr", img)
    return folder


@pytest.mark.parametrize("headroom", ["0", "0.5", "-4", "\"big\""])
def test_synth_refuses_a_headroom_below_1(headroom, hdr_dir, tmp_path, run_main):
    code, out, err = run_main("data", "synth", "--hdr-dir", hdr_dir, "--out", tmp_path / "pairs",
                              "-o", f"hdr_headroom={headroom}")
    assert code == 2, err
    (line,) = [ln for ln in err.splitlines() if ln.startswith("hdrbench: error:")]
    assert "hdr_headroom" in line and "Traceback" not in err
    assert (">= 1" if headroom != '"big"' else "must be a finite number") in line  # a word: its type is checked
    assert not (tmp_path / "pairs").exists()


def test_synth_warns_when_the_ground_truth_is_clipped(hdr_dir, tmp_path, run_main):
    code, out, err = run_main("data", "synth", "--hdr-dir", hdr_dir, "--out", tmp_path / "k1", "-o", "hdr_headroom=1")
    assert code == 0, err
    (line,) = [ln for ln in err.splitlines() if ln.startswith("hdrbench: warning:")]
    clipped = pd.read_csv(tmp_path / "k1" / "manifest.csv")["hdr_clipped_fraction"].mean()
    assert clipped > 0.01 and f"{100 * clipped:.1f} %" in line and "raise it" in line
    assert "NOT fit" in out and "fits it" not in out
    code, out, err = run_main("data", "synth", "--hdr-dir", hdr_dir, "--out", tmp_path / "k64",
                              "-o", "hdr_headroom=64")
    assert code == 0, err
    assert "warning" not in err and "the default dcdr protocol fits it" in out


def test_ground_truth_refuses_a_zero_headroom_in_the_library_too():
    from hdrbench.datasets.synth import ground_truth

    with pytest.raises(HDRBenchError, match="hdr_headroom"):
        ground_truth(np.ones((4, 4, 3), np.float32), 0)


# -- predict --half -------------------------------------------------------------------------------------------
def _exr_dtype(path) -> np.dtype:
    import OpenEXR

    with OpenEXR.File(str(path)) as f:
        return f.channels()["RGB"].pixels.dtype


def test_predict_half_never_writes_inf(tmp_path, rng, run_main):
    io.write_ldr(tmp_path / "in.png", rng.random((16, 16, 3)))
    code, _, err = run_main("predict", "--method", "identity", "--option", "scale=100000", "--half",
                            tmp_path / "in.png", tmp_path / "big.exr")
    assert code == 0, err
    assert "exceed half-float's maximum 65504" in err and "written as float32" in err
    hdr = io.read_hdr(tmp_path / "big.exr")
    assert np.isfinite(hdr).all() and hdr.max() > 65504 and _exr_dtype(tmp_path / "big.exr") == np.float32
    assert io.read_exr_attributes(tmp_path / "big.exr")["precision"] == "float32"
    code, _, err = run_main("predict", "--method", "identity", "--half", tmp_path / "in.png", tmp_path / "ok.exr")
    assert code == 0 and "warning" not in err, err
    assert _exr_dtype(tmp_path / "ok.exr") == np.float16
    assert io.read_exr_attributes(tmp_path / "ok.exr")["precision"] == "half"


def test_write_exr_half_refuses_overflow(tmp_path):
    img = np.full((4, 4, 3), 1e5, np.float32)
    assert io.half_overflow(img) == 48 and io.half_overflow(img / 2) == 0
    with pytest.raises(HDRBenchError, match="would be inf"):
        io.write_exr(tmp_path / "x.exr", img, half=True)
    assert not (tmp_path / "x.exr").exists()
