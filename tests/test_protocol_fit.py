"""Protocols say when they do not fit the data: scene-referred ground truth under ``dcdr`` warns (CLI, API,
evaluation store), the ``scene`` protocol tells a black prediction from a good one, ground-truth negatives."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

import hdrbench
from hdrbench import io
from hdrbench.errors import HDRBenchError, HDRBenchWarning
from hdrbench.metrics.protocols import PROTOCOLS


def scene_referred(rng: np.random.Generator, h: int = 48, w: int = 64) -> np.ndarray:
    """A photograph-like scene: diffuse surfaces around 0.05-1 (1.0 = white) and a small sun at 5000."""
    img = (rng.random((h, w, 3)) * 0.9 + 0.05).astype(np.float32)
    img[4:8, 4:8] = 5000.0
    return img


def good_reconstruction(gt: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """What a trained method does: diffuse surfaces within ±5 %, the sun recovered only to 100."""
    out = gt * rng.uniform(0.95, 1.05, gt.shape).astype(np.float32)
    return np.minimum(out, 100.0)


def test_every_protocol_declares_what_it_assumes():
    for p in PROTOCOLS.values():
        assert p.assumes, p.name
        assert p.describe()["assumes"] == p.assumes


def test_dcdr_on_scene_referred_data_warns_and_the_black_prediction_shows_why(rng, tmp_path, run_main):
    gt = scene_referred(rng)
    black = np.zeros_like(gt)
    # the problem, checked with scikit-image: after dcdr's ÷max a black image scores like a good reconstruction
    good = good_reconstruction(gt, rng)
    psnr_black = peak_signal_noise_ratio(gt / gt.max(), black, data_range=1.0)
    assert abs(peak_signal_noise_ratio(gt / gt.max(), good / gt.max(), data_range=1.0) - psnr_black) < 0.5
    io.write_exr(tmp_path / "gt.exr", gt)
    np.save(tmp_path / "black.npy", black)
    code, out, err = run_main("score", tmp_path / "black.npy", tmp_path / "gt.exr", "--metric", "psnr-l",
                         "--json", "--out", tmp_path / "s.csv")
    assert code == 0, err
    lines = [ln for ln in err.splitlines() if ln.startswith("hdrbench: warning:")]
    assert len(lines) == 3  # the black prediction, the per-image misfit line and the summary count
    assert "predicted image is all zeros" in lines[0]
    assert "protocol 'dcdr' assumes display-referred" in lines[1] and "peaks at 5e+03" in lines[1]
    assert "--protocol scene" in lines[1] and "1 of 1 pair(s) do not fit" in lines[2]
    rec = json.loads(out)
    assert len(rec["warnings"]) == 2 and "dcdr" in rec["warnings"][1]
    side = json.loads((tmp_path / "s.csv.json").read_text())
    assert side["protocol_misfits"] == 1 and side["hdrbench_version"] == hdrbench.__version__
    assert "protocol 'dcdr'" in open(tmp_path / "s.csv").read()  # stored with the scores


def test_display_referred_data_under_dcdr_is_silent(rng):
    gt = (rng.random((32, 32, 3)) * 0.9 + 0.05).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", HDRBenchWarning)
        rec = hdrbench.score(np.clip(gt + 0.01, 0, 1), gt, metrics=["psnr-l"])
    assert rec["warnings"] == []


def test_scene_protocol_separates_black_from_good(rng):
    gt = scene_referred(rng)
    good = good_reconstruction(gt, rng)
    black = np.zeros_like(gt)
    with warnings.catch_warnings():
        warnings.simplefilter("error", HDRBenchWarning)
        s_good = hdrbench.score(good, gt, protocol="scene", metrics=["pu21-psnr", "psnr-mu"])["metrics"]
    with pytest.warns(HDRBenchWarning, match="all zeros") as caught:  # the only warning: scene fits the data
        s_black = hdrbench.score(black, gt, protocol="scene", metrics=["pu21-psnr", "psnr-mu"])["metrics"]
    assert len(caught) == 1
    assert s_good["pu21-psnr"] > s_black["pu21-psnr"] + 20
    assert s_good["psnr-mu"] > s_black["psnr-mu"] + 5  # μ-law of values / max gt: the highlights set the scale
    # highlights clipped at 4x white lose to the good reconstruction (NTIRE's tanh of white-relative values gave
    # them 105 dB against the good one's 51: everything above ~3x white looked the same)
    clipped = hdrbench.score(np.minimum(gt, 4.0), gt, protocol="scene", metrics=["psnr-mu"])["metrics"]["psnr-mu"]
    assert clipped < s_good["psnr-mu"] - 3
    with pytest.warns(HDRBenchWarning) as caught:
        d_good = hdrbench.score(good, gt, metrics=["psnr-l"])["metrics"]["psnr-l"]
        d_black = hdrbench.score(black, gt, metrics=["psnr-l"])["metrics"]["psnr-l"]
    assert sum("protocol 'dcdr'" in str(w.message) for w in caught) == 2
    assert abs(d_good - d_black) < 0.5  # dcdr cannot tell them apart on such data


def test_scene_protocol_reference_white(rng):
    gt = scene_referred(rng) * 1000.0  # the same scene stored in other units: white = 1000
    pred = gt * 0.9
    with pytest.warns(HDRBenchWarning, match="declare the reference white"):
        hdrbench.score(pred / 1e8, gt / 1e8, protocol="scene", metrics=["pu21-psnr"])  # almost all below PU21's floor
    a = hdrbench.score(pred, gt, protocol="scene", metrics=["pu21-psnr"], white=1000.0)["metrics"]
    b = hdrbench.score(pred / 1000, gt / 1000, protocol="scene", metrics=["pu21-psnr"])["metrics"]
    assert a["pu21-psnr"] == pytest.approx(b["pu21-psnr"], abs=1e-4)
    c = hdrbench.score(pred, gt, protocol="scene", metrics=["pu21-psnr"], white="p99")
    assert c["warnings"] == []
    with pytest.raises(HDRBenchError, match="reference white"):
        hdrbench.score(pred, gt, protocol="scene", white="bright")


def test_tiny_ground_truth_negatives_are_clipped_with_a_count(rng, tmp_path, run_main):
    gt = (rng.random((16, 16, 3)) * 0.9 + 0.05).astype(np.float32)
    gt[0, 0, 0] = -3e-6  # what Blender and Poly Haven EXRs hold
    io.write_exr(tmp_path / "gt.exr", gt)
    np.save(tmp_path / "p.npy", np.clip(gt, 0, 1))
    code, out, err = run_main("score", tmp_path / "p.npy", tmp_path / "gt.exr", "--metric", "psnr-l")
    assert code == 0, err
    assert "clipped 1 negative values (min -3e-06)" in err


def test_clamp_gt_clips_real_negatives_and_says_how_many(rng, tmp_path, run_main):
    gt = (rng.random((16, 16, 3)) * 0.9 + 0.05).astype(np.float32)
    gt[0, :4, 0] = -0.5
    io.write_exr(tmp_path / "gt.exr", gt)
    np.save(tmp_path / "p.npy", np.clip(gt * 0.98, 0, 1))
    code, _, err = run_main("score", tmp_path / "p.npy", tmp_path / "gt.exr", "--metric", "psnr-l")
    assert code == 2 and "--clamp-gt" in err and len(err.strip().splitlines()) == 1
    code, out, err = run_main("score", tmp_path / "p.npy", tmp_path / "gt.exr", "--metric", "psnr-l",
                         "--clamp-gt", "--json")
    assert code == 0, err
    assert "clipped 4 negative values" in err
    expected = peak_signal_noise_ratio(np.maximum(gt, 0), np.clip(gt * 0.98, 0, 1), data_range=1.0)
    assert json.loads(out)["metrics"]["psnr-l"] == pytest.approx(expected, abs=1e-3)
    rec = hdrbench.score(tmp_path / "p.npy", tmp_path / "gt.exr", metrics=["psnr-l"], clamp_gt=True)
    assert rec["metrics"]["psnr-l"] == pytest.approx(expected, abs=1e-3)


def test_clamp_says_how_many_values_it_repaired(rng):
    gt = (rng.random((16, 16, 3)) * 0.9 + 0.05).astype(np.float32)
    pred = gt.copy()
    pred[0, :3, 0] = -1
    pred[1, 1, 1] = np.nan
    with pytest.warns(HDRBenchWarning, match=r"repaired 1 NaN/inf and 3 negative"):
        hdrbench.score(pred, gt, metrics=["psnr-l"], clamp=True)


def test_evaluate_stores_and_counts_protocol_misfits(tmp_path, caplog):
    import logging
    import sqlite3

    import test_train_fakes

    from hdrbench.checkpoint import save_weights
    from hdrbench.config import parse_config
    from hdrbench.evaluate import evaluate
    from hdrbench.evaluate.store import ResultStore
    from hdrbench.method import create_method
    from hdrbench.registry import DATASETS

    class SceneFakes(test_train_fakes.FakeDataset):
        """The fake pairs with a ground truth in scene units (a sun at 5000)."""

        def load_pair(self, pair):
            ldr, hdr = super().load_pair(pair)
            hdr = hdr.copy()
            hdr[:2, :2] = 5000.0
            return ldr, hdr

    DATASETS.register("fake-scene", SceneFakes, override=True)
    torch_net = create_method("fake-net").build_network()
    ckpt = save_weights(torch_net, tmp_path / "w.safetensors", method="fake-net", options={})
    data = {"benchmark": {"name": "m", "output": str(tmp_path / "out"), "device": "cpu"},
            "dataset": {"name": "fake-scene", "test_sets": ["set_a"]},
            "evaluate": {"protocol": "dcdr", "metrics": ["psnr-l"]}, "plot": {"images": 1},
            "methods": [{"name": "fake-net", "checkpoint": str(ckpt)}]}
    # an older store, made before the warning column existed, is extended when opened
    (tmp_path / "out").mkdir()
    with sqlite3.connect(tmp_path / "out" / "results.sqlite") as db:
        db.execute("CREATE TABLE scores (method TEXT NOT NULL, dataset TEXT NOT NULL, test_set TEXT NOT NULL, "
                   "image TEXT NOT NULL, metric TEXT NOT NULL, value REAL NOT NULL, lower_better INTEGER NOT NULL "
                   "DEFAULT 0, protocol TEXT, metric_params TEXT, checkpoint TEXT, substitutions TEXT, versions TEXT,"
                   " created TEXT DEFAULT CURRENT_TIMESTAMP, UNIQUE (method, dataset, test_set, image, metric))")
    cfg = parse_config(data, tmp_path / "bench.toml")
    with caplog.at_level(logging.WARNING):
        summary = evaluate(cfg, progress=False)
    assert summary.scored_images == 3 and summary.misfit_images == 3
    assert sum("protocol 'dcdr' assumes display-referred" in r.getMessage() for r in caplog.records) == 3
    with ResultStore(cfg.runs.results) as store:
        scores = store.scores()
    assert len(scores) == 3 and scores["warning"].str.contains("peaks at 5e+03", regex=False).all()


def test_the_demo_sets_dark_ground_truth_fits_dcdr():
    """The demo's [0, 1] 16-bit ground truth (6 stops of headroom) is what dcdr is for: no misfit warnings."""
    import torch

    from hdrbench.datasets.base import create_dataset

    ds = create_dataset("demo")
    for pair in ds.pairs("test"):
        _, hdr = ds.load_pair(pair)
        assert PROTOCOLS["dcdr"].check(torch.from_numpy(hdr).permute(2, 0, 1)[None].contiguous()) == [""], pair.id
