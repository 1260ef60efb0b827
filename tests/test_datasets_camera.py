"""Virtual camera: hand-derived responses, achieved clip fraction, determinism, recorded parameters."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hdrbench.datasets import create_dataset
from hdrbench.datasets.camera import CameraResponse, VirtualCamera, clipped_fraction
from hdrbench.errors import HDRBenchError
from hdrbench.io import read_image, write_exr


def lognormal_hdr(rng: np.random.Generator, h: int = 96, w: int = 128) -> np.ndarray:
    base = np.exp(rng.normal(0.0, 1.5, (h, w, 1)))
    return (base * rng.uniform(0.6, 1.0, (h, w, 3))).astype(np.float32)


def test_gamma_and_ev_hand_derived():
    hdr = np.full((2, 2, 3), 0.25, np.float32)
    hdr[0, 0] = 1.0  # 1.0 * 2 = 2 -> clipped
    shot = VirtualCamera(exposure="ev", ev=1.0).capture(hdr, "x")
    assert shot.ldr[1, 1, 0] == round(255 * 0.5 ** (1 / 2.2))  # = 186
    assert shot.ldr[0, 0, 0] == 255 and shot.meta["gain"] == 2.0
    np.testing.assert_allclose(shot.exposed, hdr * 2)
    mean_anchor = VirtualCamera(exposure="ev", ev=-1.0, ev_anchor="mean").gain(hdr)
    assert mean_anchor == pytest.approx(0.5 / hdr.mean() * 0.5)


def test_srgb_and_curve_file():
    srgb = CameraResponse("srgb")
    assert float(srgb(np.array(0.5))) == pytest.approx(1.055 * 0.5 ** (1 / 2.4) - 0.055)  # IEC 61966-2-1
    assert float(srgb(np.array(0.0031308))) == pytest.approx(0.04045, abs=1e-5)
    sig = CameraResponse("sigmoid")  # bundled CSV; the closed form it was sampled from:
    for h in (0.02, 0.1, 0.5, 0.9):
        ref = 1.6 * h**0.9 / (h**0.9 + 0.6)
        assert float(sig(np.array(h))) == pytest.approx(ref, abs=2e-3)
    x = np.linspace(0, 1, 11)
    for crf in (CameraResponse("gamma", 2.4), srgb, sig):
        np.testing.assert_allclose(crf.inverse(crf(x)), x, atol=2e-3)
    with pytest.raises(HDRBenchError, match="neither gamma"):
        VirtualCamera(response="no_such_curve")


@pytest.mark.parametrize("target", [0.03, 0.05, 0.10])
def test_achieved_clip_fraction(rng, target):
    shot = VirtualCamera(clip_fraction=target).capture(lognormal_hdr(rng), "img")
    assert abs(clipped_fraction(shot.ldr) - target) < 0.002
    assert shot.meta["clip_fraction_achieved"] == clipped_fraction(shot.ldr)
    # independent count: pixels with any channel at 255
    assert shot.meta["clip_fraction_achieved"] == pytest.approx(np.mean((shot.ldr == 255).any(-1)))


def test_determinism_noise_and_jpeg(rng):
    hdr = lognormal_hdr(rng)
    cam = VirtualCamera(read_noise=0.01, shot_noise=0.02, jpeg_quality=80, seed=3)
    a, b = cam.capture(hdr, "img"), cam.capture(hdr, "img")
    np.testing.assert_array_equal(a.ldr, b.ldr)
    assert not np.array_equal(a.ldr, VirtualCamera(read_noise=0.01, shot_noise=0.02, jpeg_quality=80,
                                                   seed=4).capture(hdr, "img").ldr)
    assert not np.array_equal(a.ldr, cam.capture(hdr, "other").ldr)  # the seed mixes in the image id
    clean = VirtualCamera(seed=3).capture(hdr, "img").ldr.astype(int)
    assert 0 < np.abs(a.ldr.astype(int) - clean).mean() < 20  # noise + JPEG perturb, but only a little
    for key in ("exposure", "clip_fraction", "response", "gamma", "read_noise", "shot_noise", "jpeg_quality",
                "seed", "gain", "ev_applied", "clip_fraction_achieved"):
        assert key in a.meta


def test_bad_camera_options():
    for kwargs in ({"exposure": "auto"}, {"clip_fraction": 1.5}, {"jpeg_quality": 0}, {"read_noise": -1}):
        with pytest.raises(HDRBenchError):
            VirtualCamera(**kwargs)


def test_hdr_folder_dataset_and_manifest(tmp_path: Path, rng, cli):
    src = tmp_path / "hdrs"
    for name in ("a", "b"):
        write_exr(src / f"{name}.exr", lognormal_hdr(rng, 64, 96))
    ds = create_dataset("hdr_folder", src, cache_dir=tmp_path / "cache", clip_fraction=0.05, seed=1)
    pairs = ds.pairs("test")
    assert [p.id for p in pairs] == ["a", "b"]
    for p in pairs:
        ldr, hdr = ds.load_pair(p)
        assert read_image(p.ldr).dtype == np.uint8 and hdr.dtype == np.float32
        assert abs(p.meta["clip_fraction_achieved"] - 0.05) < 0.003 and p.meta["seed"] == 1
        # ground truth is the exposed image: 1.0 where the LDR saturates
        sat = ldr.max(-1) >= 1.0
        assert hdr.max(-1)[sat].min() >= 0.99 * (254.5 / 255) ** 2.2
    manifest = pd.read_csv(pairs[0].ldr.parent.parent / "manifest.csv")
    assert list(manifest["id"]) == ["a", "b"] and {"gain", "clip_fraction_achieved", "response"} <= set(manifest)
    again = create_dataset("hdr_folder", src, cache_dir=tmp_path / "cache2", clip_fraction=0.05, seed=1)
    np.testing.assert_array_equal(ds.load_pair(pairs[1])[0], again.load_pair(again.pairs("test")[1])[0])
    # the CLI writes a 'folder' dataset with the same manifest
    out = tmp_path / "pairs"
    res = cli("data", "synth", "--hdr-dir", src, "--out", out, "-o", "clip_fraction=0.05", "-o", "seed=1")
    assert res.returncode == 0, res.stderr
    folder = create_dataset("folder", out)
    np.testing.assert_array_equal(folder.load_pair(folder.pairs("test")[1])[0],
                                  again.load_pair(again.pairs("test")[1])[0])
    assert math.isclose(pd.read_csv(out / "manifest.csv")["gain"][0], manifest["gain"][0])
