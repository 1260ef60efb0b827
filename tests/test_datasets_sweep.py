"""The exposure sweep (dataset option ``exposures``): same scenes and ground truth, the LDR k stops brighter.

Every expected value is computed here from the stored ground truth or the source HDR with the camera model written
out by hand (gamma 2.2, 8 bits; the demo's 16-bit ground truth at 64× headroom), never by the camera code."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from hdrbench.datasets.base import create_dataset
from hdrbench.errors import HDRBenchError, HDRBenchWarning
from hdrbench.io import read_image, write_exr
from hdrbench.method import create_method

EVS = (0, 1, 2, 3)
NAMES = ("test@+0EV", "test@+1EV", "test@+2EV", "test@+3EV")
HEADROOM = 64.0  # the demo's ground truth: clip(s * radiance / 64, 0, 1), 16 bits


def _gray(rgb8: np.ndarray) -> np.ndarray:
    """BT.601 luma of 8-bit RGB as OpenCV's RGB2GRAY rounds it (fixed point, 14 bits)."""
    r, g, b = (rgb8[..., i].astype(np.int64) for i in range(3))
    return (r * 4899 + g * 9617 + b * 1868 + 8192) >> 14


def overexposed(rgb8: np.ndarray) -> np.ndarray:
    try:
        from hdrbench.metrics.regions import overexposed_mask
    except ImportError:  # a checkout without the regions module: the same rule by hand
        return _gray(rgb8) > 240
    return overexposed_mask(rgb8)


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    """``(sweep dataset, plain dataset)``: the demo with and without the sweep, in separate caches."""
    sweep = create_dataset("demo", exposures=list(EVS), cache_dir=tmp_path_factory.mktemp("sweep"))
    plain = create_dataset("demo", cache_dir=tmp_path_factory.mktemp("plain"))
    return sweep, plain


def test_names_and_the_training_split(sets):
    sweep, plain = sets
    assert sweep.test_sets == NAMES and sweep.describe()["test_sets"] == list(NAMES)
    assert plain.test_sets == ("test",) and type(sweep).test_sets == ("test",)  # the class is untouched
    names = create_dataset("demo", exposures=[0.5, -1, 2]).test_sets
    assert names == ("test@+0.5EV", "test@-1EV", "test@+2EV")  # the order given
    assert create_dataset("demo", exposures=[-0.0]).test_sets == ("test@+0EV",)


def test_plus_0ev_is_the_plain_test_set_pixel_for_pixel(sets):
    sweep, plain = sets
    a, b = sweep.pairs("test@+0EV"), plain.pairs("test")
    assert [p.id for p in a] == [p.id for p in b] and len(a) == 8
    for pa, pb in zip(a, b):
        assert np.array_equal(read_image(pa.ldr), read_image(pb.ldr)), pa.id
        assert np.array_equal(read_image(pa.hdr), read_image(pb.hdr)), pa.id
        assert {k: v for k, v in pa.meta.items() if k not in ("ldr", "hdr")} == \
            {k: v for k, v in pb.meta.items() if k not in ("ldr", "hdr")}
    assert a[0].ldr.parent.parent == sweep.pairs("test")[0].ldr.parent.parent  # +0EV reads the plain folder


def test_ground_truth_is_the_same_at_every_exposure(sets):
    sweep, _ = sets
    first = sweep.pairs(NAMES[0])
    for name, k in zip(NAMES[1:], EVS[1:]):
        pairs = sweep.pairs(name)
        assert [p.id for p in pairs] == [p.id for p in first]
        for p, q in zip(pairs, first):
            assert np.array_equal(read_image(p.hdr), read_image(q.hdr)), (name, p.id)
            assert p.meta["offset_ev"] == k and p.meta["gain"] == q.meta["gain"]  # the scene's own exposure rule


def test_overexposed_fraction_grows_with_every_stop(sets):
    sweep, _ = sets
    per_view = np.array([[overexposed(read_image(p.ldr)).mean() for p in sweep.pairs(n)] for n in NAMES])
    clipped = np.array([[(read_image(p.ldr) == 255).any(-1).mean() for p in sweep.pairs(n)] for n in NAMES])
    assert np.allclose(clipped[0], 0.05, atol=0.002)  # +0EV: the demo's own rule, 5 % of the pixels at 255
    assert np.all(np.diff(per_view, axis=0) >= 0)  # no view loses overexposed pixels
    means = per_view.mean(axis=1)
    assert np.all(np.diff(means) > 0.05), means  # and the mean over the 8 views grows by > 5 points per stop
    assert 0.02 < means[0] < 0.06 and means[-1] > 0.4, means


def test_well_exposed_pixels_follow_the_camera_at_2k_times_the_exposure(sets):
    """LDR_k = round(255 (2^k x)^(1/2.2)) with x = 64 · gt (the exposed image); checked on the pixels that are not
    overexposed, within the 8-bit rounding plus the 16-bit ground truth's step carried through the curve. Also
    against the +0EV LDR alone: in codes the gamma curve gives LDR_k = 2^(k/2.2) LDR_0 before rounding."""
    sweep, _ = sets
    base = {p.id: read_image(p.ldr).astype(np.float64) for p in sweep.pairs(NAMES[0])}
    for name, k in zip(NAMES, EVS):
        checked = 0
        for p in sweep.pairs(name):
            ldr = read_image(p.ldr).astype(np.float64)
            x = read_image(p.hdr).astype(np.float64) / 65535.0 * HEADROOM * 2.0**k
            ok = ~overexposed(ldr.astype(np.uint8))[..., None] & (x > 0.01) & (x < 0.99)
            model = 255.0 * x ** (1 / 2.2)
            step = 0.5 / 65535.0 * HEADROOM * 2.0**k  # half a 16-bit step of the ground truth, exposed at +k
            bound = 0.5 + 255.0 / 2.2 * (x - step).clip(1e-9) ** (1 / 2.2 - 1) * step
            err = np.abs(ldr - model)
            assert np.all(err[ok] <= bound[ok] * 1.001 + 1e-9), (name, p.id, float((err[ok] - bound[ok]).max()))
            ok0 = ok & (base[p.id] >= 8) & (ldr < 250)
            assert np.all(np.abs(ldr - 2.0 ** (k / 2.2) * base[p.id])[ok0] <= 0.5 + 0.5 * 2.0 ** (k / 2.2) + 1e-9)
            checked += int(ok.sum())
        assert checked > 8 * 256 * 256 * 3 * 0.15, (name, checked)  # many pixels checked at every stop


def test_identity_linearises_each_test_set_at_its_own_level(sets):
    sweep, _ = sets
    for name, k in zip(NAMES, EVS):
        saturation = 1.0 / HEADROOM / 2.0**k  # the LDR saturates k stops lower in ground-truth units
        assert sweep.ldr_camera(name).saturation == saturation
        m = create_method("identity")
        m.bind_dataset(sweep, test_set=name)
        net = m.build_network()
        for p in sweep.pairs(name)[::3]:
            ldr, gt = sweep.load_pair(p)
            pred = m.predict(net, torch.from_numpy(ldr).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
            ok = (ldr > 0.1) & (ldr < 0.98)
            v = ldr[ok].astype(np.float64)
            bound = 2.2 * (v + 0.5 / 255) ** 1.2 * saturation * (0.5 / 255) + 0.5 / 65535  # 8-bit + 16-bit steps
            err = np.abs(pred[ok] - gt[ok])
            assert ok.sum() > 1000 and np.all(err <= bound * 1.001 + 1e-8), (name, p.id, float((err / bound).max()))
    assert sweep.ldr_camera().saturation == sweep.ldr_camera("train").saturation == 1 / 64  # the unswept camera


def test_identity_bound_once_warns_and_is_the_plus_0ev_camera(sets):
    sweep, plain = sets
    m = create_method("identity")
    with pytest.warns(HDRBenchWarning, match=r"test@\+1EV, test@\+2EV, test@\+3EV"):
        m.bind_dataset(sweep)
    assert m.response_and_scale()[1] == 1 / 64
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        create_method("identity").bind_dataset(plain)  # no sweep: no warning
        create_method("identity", scale=1.0).bind_dataset(sweep)  # a scale given by hand: the user's choice


@pytest.mark.parametrize("value", [2, "0,1", [], [0, "1"], [0, True], [0, 1, 1], [1, 1.0], [0, float("nan")],
                                   [0, 100], {"a": 1}])
def test_a_bad_exposures_option_is_one_line(value):
    with pytest.raises(HDRBenchError, match="exposures") as info:
        create_dataset("demo", exposures=value)
    msg = str(info.value)
    assert "\n" not in msg and ("exposures = [0, 1, 2, 3]" in msg or "twice" in msg), msg


def test_a_bad_exposures_option_on_the_command_line_exits_2(run_main):
    code, _, err = run_main("data", "info", "--dataset", "demo", "-o", "exposures=[0,1,1]")
    assert code == 2 and "exposures" in err and "twice" in err and len(err.strip().splitlines()) == 1


def test_an_unknown_sweep_test_set_is_one_line(sets):
    sweep, plain = sets
    for ds, name in ((sweep, "test@+5EV"), (plain, "test@+1EV")):
        with pytest.raises(HDRBenchError, match="exposures") as info:
            ds.pairs(name)
        assert "\n" not in str(info.value)


def test_the_training_split_is_not_swept(tmp_path: Path):
    a = create_dataset("demo", size=32, train_views=1, exposures=[1, 2], cache_dir=tmp_path / "a")
    b = create_dataset("demo", size=32, train_views=1, cache_dir=tmp_path / "b")
    pa, pb = a.pairs("train"), b.pairs("train")
    assert len(pa) == 18 and [p.id for p in pa] == [p.id for p in pb]
    for x, y in zip(pa, pb):
        assert np.array_equal(read_image(x.ldr), read_image(y.ldr)) and "offset_ev" not in x.meta


def test_fixed_ev_exposure_then_the_offset_on_hdr_folder(tmp_path: Path):
    """``exposure="ev"``: the dataset's rule gives s = 2^ev, the sweep multiplies by 2^k; float EXR ground truth
    s · hdr at every k. Expected LDR from the source by hand."""
    g = np.random.default_rng(3)
    src = (g.lognormal(-1.0, 1.2, (24, 32, 3))).astype(np.float32)
    (tmp_path / "hdr").mkdir()
    write_exr(tmp_path / "hdr" / "a.exr", src)
    ds = create_dataset("hdr_folder", tmp_path / "hdr", exposure="ev", ev=-1.0, exposures=[0, 2],
                        cache_dir=tmp_path / "cache")
    assert ds.test_sets == ("test@+0EV", "test@+2EV")
    for name, k in (("test@+0EV", 0), ("test@+2EV", 2)):
        (p,) = ds.pairs(name)
        ldr, gt = ds.load_pair(p)
        np.testing.assert_allclose(gt, src * 0.5, rtol=1e-6)
        want = np.round(255 * np.clip(src * 0.5 * 2.0**k, 0, 1) ** (1 / 2.2))
        assert np.abs(ldr * 255 - want).max() <= 0.51
        assert ds.ldr_camera(name).saturation == 2.0**-k


def test_mean_anchored_exposures_then_the_offset_on_hdr_synth(tmp_path: Path):
    """HDR-Synth's rule (mean 0.5, then 2^ev per pair): the sweep's +1 EV is one more stop on every pair."""
    g = np.random.default_rng(4)
    src = (g.lognormal(0.0, 1.0, (16, 20, 3))).astype(np.float32)
    (tmp_path / "test").mkdir()
    write_exr(tmp_path / "test" / "s.exr", src)
    ds = create_dataset("hdr_synth", tmp_path, evs=(-1, 1), exposures=[1], cache_dir=tmp_path / "cache")
    pairs = {p.id: p for p in ds.pairs("test@+1EV")}
    assert sorted(pairs) == ["s_ev+1", "s_ev-1"]
    for ev in (-1, 1):
        ldr, gt = ds.load_pair(pairs[f"s_ev{ev:+d}"])
        s = 0.5 / float(np.mean(src)) * 2.0**ev
        np.testing.assert_allclose(gt, src * s, rtol=1e-5)
        want = np.round(255 * np.clip(src * s * 2.0, 0, 1) ** (1 / 2.2))
        assert np.abs(ldr * 255 - want).max() <= 1.0


def test_bench_regions_toml_is_the_sweep_at_the_study_budget():
    import tomllib

    from hdrbench.config import parse_config

    root = Path(__file__).resolve().parents[1]
    raw = tomllib.loads((root / "bench-regions.toml").read_text())
    assert raw["evaluate"].pop("regions") is True  # [evaluate] regions: the key is added to the section elsewhere
    cfg = parse_config(raw, root / "bench-regions.toml")
    ds = create_dataset(cfg.dataset.name, cfg.dataset.root, **cfg.dataset.options)
    assert ds.test_sets == NAMES and cfg.plot.test_set in NAMES
    assert [m.name for m in cfg.methods] == ["identity", "hdrunet", "dcdr-no-dcrb", "dcdr"]
    recipe = cfg.train.recipe
    assert (recipe["iterations"], recipe["batch_size"]) == (400, 4) and recipe["patch_size"] >= 128


def test_evaluation_binds_the_identity_row_per_test_set(tmp_path):
    """The evaluation's identity source linearises each test set of a sweep at that set's saturation level: its
    unclipped pixels land on the ground truth at +0 and at +2 EV (not 4x too bright)."""
    import torch

    from hdrbench.config import parse_config
    from hdrbench.evaluate.runner import open_source
    from hdrbench.plan import build_plan

    cfg = parse_config({"benchmark": {"output": str(tmp_path / "out"), "device": "cpu"},
                        "dataset": {"name": "demo", "max_images": 1,
                                    "options": {"exposures": [0, 2], "cache_dir": str(tmp_path / "c")}},
                        "evaluate": {"metrics": ["psnr-l"]}, "methods": [{"name": "identity", "train": True}]},
                       tmp_path / "bench.toml")
    plan = build_plan(cfg, "evaluate")
    source = open_source(plan, plan.entries[0], torch.device("cpu"))
    for ts in plan.test_sets:
        pair = plan.pairs[ts][0]
        ldr, hdr = plan.dataset.load_pair(pair)
        pred = source.predict(ts, pair, ldr)
        ok = (ldr.max(axis=-1) < 250 / 255) & (hdr.min(axis=-1) > 1e-4)  # unclipped, above 8-bit quantisation
        ratio = np.median(pred[ok] / hdr[ok])
        assert abs(ratio - 1) < 0.02, (ts, ratio)
