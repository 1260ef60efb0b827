"""Each public layout reader on a tiny generated tree: NTIRE 2021, HDR-Real, HDR-Synth, SI-HDR, folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hdrbench.datasets import create_dataset
from hdrbench.errors import HDRBenchError
from hdrbench.io import opencv, write_exr, write_hdr
from hdrbench.registry import DATASETS

cv2 = opencv()  # OpenCV with its OpenEXR codec enabled


def write_png(path: Path, rgb: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1]))
    return path


def ldr8(rng, h=16, w=24) -> np.ndarray:
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def hdr_float(rng, h=16, w=24) -> np.ndarray:
    return np.exp(rng.normal(0, 1, (h, w, 3))).astype(np.float32)


def test_all_layouts_registered():
    assert {"cityscapes", "ntire2021", "hdr_real", "hdr_synth", "sihdr", "folder", "hdr_folder", "demo"} <= set(
        DATASETS.names())


def test_ntire2021_linearises_with_alignratio_and_gamma(tmp_path: Path, rng):
    root = tmp_path / "ntire"
    gt = rng.integers(0, 65536, (16, 24, 3), dtype=np.uint16)
    for i in (1, 2):
        write_png(root / "train" / f"{i:04d}_medium.png", ldr8(rng))
        write_png(root / "train" / f"{i:04d}_short.png", ldr8(rng))
        write_png(root / "train" / f"{i:04d}_gt.png", gt)
        np.save(root / "train" / f"{i:04d}_alignratio.npy", np.float32(65535 / 3.5))
    ds = create_dataset("ntire2021", root)
    pairs = ds.pairs("train")
    assert [p.id for p in pairs] == ["0001", "0002"]
    ldr, hdr = ds.load_pair(pairs[0])
    # the challenge's own decoding: gt / alignratio, then ** 2.24
    ref = (gt.astype(np.float64) / (65535 / 3.5)) ** 2.24
    np.testing.assert_allclose(hdr, ref, rtol=1e-4)
    assert hdr.max() > 1.0 and ldr.shape == hdr.shape
    (root / "train" / "0002_alignratio.npy").unlink()
    with pytest.raises(HDRBenchError, match="0002_alignratio.npy"):
        ds.pairs("train")


def test_hdr_real_pairs_by_stem(tmp_path: Path, rng):
    root = tmp_path / "SingleHDR" / "HDR-Real"
    for name in ("00001", "00002"):
        write_png(root / "LDR_in" / f"{name}.jpg", ldr8(rng))
        write_hdr(root / "HDR_gt" / f"{name}.hdr", hdr_float(rng))
    ds = create_dataset("hdr_real", tmp_path / "SingleHDR")
    pairs = ds.pairs("train")
    assert [p.id for p in pairs] == ["00001", "00002"]
    ldr, hdr = ds.load_pair(pairs[1])
    assert ldr.shape == hdr.shape == (16, 24, 3) and hdr.max() > 1.0


def test_hdr_synth_exposure_ladder(tmp_path: Path, rng):
    root = tmp_path / "HDR-Synth"
    write_exr(root / "test" / "s1.exr", hdr_float(rng))
    write_exr(root / "train" / "t1.exr", hdr_float(rng))
    ds = create_dataset("hdr_synth", tmp_path, cache_dir=tmp_path / "cache")
    pairs = ds.pairs("test")
    assert [p.id for p in pairs] == [f"s1_ev{k:+d}" for k in range(-3, 4)]
    gains = np.array([p.meta["gain"] for p in pairs])
    np.testing.assert_allclose(gains[1:] / gains[:-1], 2.0)  # one stop apart
    _, hdr0 = ds.load_pair(pairs[3])  # ev 0: the HDR normalised to mean 0.5
    assert hdr0.mean() == pytest.approx(0.5, rel=1e-4)
    assert [p.id for p in ds.pairs("train")] == [f"t1_ev{k:+d}" for k in range(-3, 4)]
    (root / "val.txt").write_text("test/s1.exr\n")  # a list file selects the split
    assert len(create_dataset("hdr_synth", root, cache_dir=tmp_path / "cache", evs=(0,)).pairs("val")) == 1


def test_sihdr_nested_reference_and_two_test_sets(tmp_path: Path, rng):
    root = tmp_path / "sihdr"
    for i in (1, 15):
        write_exr(root / "reference" / "sihdr" / "reference" / f"{i:03d}.exr", hdr_float(rng))
        for clip in ("clip_50", "clip_95"):
            write_png(root / "input" / clip / f"{i:03d}.png", ldr8(rng))
    ds = create_dataset("sihdr", root)
    assert ds.test_sets == ("clip_95", "clip_50")
    assert [p.id for p in ds.pairs("clip_50")] == ["001", "015"]
    ldr, hdr = ds.load_pair(ds.pairs("clip_95")[1])
    assert ldr.shape == hdr.shape and hdr.dtype == np.float32
    with pytest.raises(HDRBenchError, match="no training split"):
        ds.pairs("train")


def test_folder_any_formats_and_errors(tmp_path: Path, rng):
    root = tmp_path / "pairs"
    write_png(root / "ldr" / "a.png", ldr8(rng))
    write_exr(root / "hdr" / "a.exr", hdr_float(rng))
    write_png(root / "ldr" / "b.jpg", ldr8(rng))
    write_png(root / "hdr" / "b.png", rng.integers(0, 65536, (16, 24, 3), dtype=np.uint16))
    ds = create_dataset("folder", root)
    assert [p.id for p in ds.pairs("test")] == ["a", "b"]
    _, hdr_b = ds.load_pair(ds.pairs("test")[1])
    assert 0.0 <= hdr_b.min() and hdr_b.max() <= 1.0
    # two LDR files with one id are ambiguous
    write_png(root / "ldr" / "b.png", ldr8(rng))
    with pytest.raises(HDRBenchError, match="two LDR files share the id 'b'"):
        ds.pairs("test")
    (root / "ldr" / "b.png").unlink()
    # corrupt EXR -> one error naming the file
    (root / "hdr" / "a.exr").write_bytes(b"v/1\x01" + b"\x00" * 40)
    with pytest.raises(HDRBenchError, match="a.exr"):
        ds.load_pair(ds.pairs("test")[0])
    # empty folder / unknown layout
    (tmp_path / "empty").mkdir()
    with pytest.raises(HDRBenchError, match="ldr"):
        create_dataset("folder", tmp_path / "empty").pairs("test")
    for name in ("ntire2021", "hdr_real", "sihdr"):
        with pytest.raises(HDRBenchError):
            create_dataset(name, tmp_path / "empty").pairs("clip_95" if name == "sihdr" else "test")
    with pytest.raises(HDRBenchError, match="no HDR images"):
        create_dataset("hdr_folder", tmp_path / "empty", cache_dir=tmp_path / "c").pairs("test")
