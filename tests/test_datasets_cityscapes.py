"""Cityscapes pairing, Test set1/Test set2 selection at its exact boundaries, bad input, and the testsets CLI."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hdrbench.datasets import create_dataset
from hdrbench.datasets.cityscapes import bright_count, gray_bt601, is_large_overexposed
from hdrbench.errors import HDRBenchError
from hdrbench.io import opencv, read_image

cv2 = opencv()  # OpenCV with its OpenEXR codec enabled

H, W = 64, 128  # 8192 pixels; 0.029 * 8192 = 237.568


def write_png(path: Path, rgb: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1]))
    return path


def ldr_with_bright(n_bright: int, value: int = 255, base: int = 100) -> np.ndarray:
    img = np.full((H, W, 3), base, np.uint8)
    img.reshape(-1, 3)[:n_bright] = value
    return img


def add_pair(root: Path, split: str, city: str, seq: int, ldr: np.ndarray, hdr: np.ndarray | None = None) -> str:
    stem = f"{city}_{seq:06d}_000019"
    write_png(root / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png", ldr)
    if hdr is None:
        hdr = (ldr.astype(np.uint16) * 200 + 7)
    write_png(root / "leftImg16bit" / split / city / f"{stem}_leftImg16bit.png", hdr)
    return stem


def test_bright_rule_counts_exact_boundaries():
    assert is_large_overexposed(ldr_with_bright(238))  # 238 / 8192 = 0.02905 > 0.029
    assert not is_large_overexposed(ldr_with_bright(237))  # 237 / 8192 = 0.02893 < 0.029
    # a gray value of exactly 240 is not bright; 241 is
    assert bright_count(ldr_with_bright(500, value=240)) == 0
    assert not is_large_overexposed(ldr_with_bright(500, value=240))
    assert bright_count(ldr_with_bright(500, value=241)) == 500
    assert is_large_overexposed(ldr_with_bright(500, value=241))
    # a fraction exactly equal to lambda is not selected: 256 / 8192 = 0.03125 exactly
    assert not is_large_overexposed(ldr_with_bright(256), lam=0.03125)
    assert is_large_overexposed(ldr_with_bright(257), lam=0.03125)


def test_gray_is_bt601_luma_not_max_channel(rng):
    # independent reference: ITU-R BT.601 luma, 0.299 R + 0.587 G + 0.114 B, rounded
    img = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    ref = np.floor(img @ np.array([0.299, 0.587, 0.114]) + 0.5)
    diff = np.abs(gray_bt601(img).astype(float) - ref)
    assert diff.max() <= 1 and np.mean(diff == 0) > 0.98
    # saturated red is not bright: luma(255, 230, 230) = 237.5 -> 237 (OpenCV's fixed point)
    reddish = np.full((4, 4, 3), (255, 230, 230), np.uint8)
    assert bright_count(reddish) == 0
    assert bright_count(np.full((4, 4, 3), (230, 255, 255), np.uint8)) == 16  # luma 247.5


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "cityscapes"
    add_pair(root, "test", "berlin", 0, ldr_with_bright(238))
    add_pair(root, "test", "berlin", 1, ldr_with_bright(237))
    add_pair(root, "test", "bonn", 2, ldr_with_bright(400, value=241))
    add_pair(root, "test", "bonn", 3, ldr_with_bright(400, value=240))
    add_pair(root, "train", "aachen", 0, ldr_with_bright(10))
    return root


def test_test_sets_and_pairs(tree: Path):
    ds = create_dataset("cityscapes", tree)
    assert ds.test_sets == ("test_set1", "test_set2")
    ids1 = [p.id for p in ds.pairs("test_set1")]
    assert ids1 == ["berlin_000000_000019", "berlin_000001_000019", "bonn_000002_000019", "bonn_000003_000019"]
    assert [p.id for p in ds.pairs("test_set2")] == ["berlin_000000_000019", "bonn_000002_000019"]
    assert [p.id for p in ds.pairs("train")] == ["aachen_000000_000019"]
    # options change the rule: T_bright 239 makes the 240-valued image bright too
    ds2 = create_dataset("cityscapes", tree, t_bright=239)
    assert "bonn_000003_000019" in [p.id for p in ds2.pairs("test_set2")]


def test_hdr_is_read_as_16_bit(tree: Path):
    ds = create_dataset("cityscapes", tree)
    pair = ds.pairs("test_set1")[0]
    raw = read_image(pair.hdr)
    assert raw.dtype == np.uint16
    ldr, hdr = ds.load_pair(pair)
    # values like 100*200+7 = 20007 are not multiples of 257: an 8-bit decode could not give them back
    np.testing.assert_allclose(hdr[-1, -1], np.float32(20007 / 65535), rtol=1e-6)
    np.testing.assert_allclose(hdr[0, 0], np.float32((255 * 200 + 7) / 65535), rtol=1e-6)
    assert ldr.dtype == np.float32 and ldr.max() == 1.0 and hdr.shape == ldr.shape == (H, W, 3)


def test_unpaired_files_error_then_skip(tree: Path):
    extra = write_png(tree / "leftImg8bit" / "test" / "bonn" / "bonn_000009_000019_leftImg8bit.png",
                      ldr_with_bright(0))
    with pytest.raises(HDRBenchError, match="1 unpaired.*bonn_000009_000019_leftImg8bit.png"):
        create_dataset("cityscapes", tree).pairs("test_set1")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pairs = create_dataset("cityscapes", tree, skip_unpaired=True).pairs("test_set1")
    assert len(pairs) == 4 and any("skipped 1 unpaired" in str(w.message) for w in caught)
    assert extra.exists()


def test_bad_pairs(tree: Path):
    ds = create_dataset("cityscapes", tree)
    # an 8-bit file where 16-bit HDR is expected
    pair = ds.pairs("train")[0]
    write_png(pair.hdr, ldr_with_bright(3))
    with pytest.raises(HDRBenchError, match="8-bit; expected 16-bit"):
        ds.load_pair(pair)
    # members of different sizes
    write_png(pair.hdr, np.zeros((32, 128, 3), np.uint16))
    with pytest.raises(HDRBenchError, match="same size") as err:
        ds.load_pair(pair)
    assert str(pair.ldr) in str(err.value) and str(pair.hdr) in str(err.value)
    # a truncated PNG
    data = pair.hdr.read_bytes()
    pair.hdr.write_bytes(data[: len(data) // 2])
    with pytest.raises(HDRBenchError, match=str(pair.hdr.name)):
        ds.load_pair(pair)


def test_layout_errors(tmp_path: Path):
    with pytest.raises(HDRBenchError, match="leftImg8bit"):
        create_dataset("cityscapes", tmp_path).pairs("test")  # empty folder: not a Cityscapes layout
    (tmp_path / "leftImg8bit" / "test" / "x").mkdir(parents=True)
    (tmp_path / "leftImg16bit" / "test" / "x").mkdir(parents=True)
    with pytest.raises(HDRBenchError, match="no LDR/HDR pairs"):
        create_dataset("cityscapes", tmp_path).pairs("test")
    with pytest.raises(HDRBenchError, match="unknown option 'tbright'"):
        create_dataset("cityscapes", tmp_path, tbright=3)


def test_testsets_cli(tree: Path, tmp_path: Path, cli):
    out = tmp_path / "lists"
    res = cli("data", "testsets", "--dataset", "cityscapes", "--root", tree, "--out", out)
    assert res.returncode == 0, res.stderr
    assert "test_set1: 4 pairs" in res.stdout and "test_set2: 2 pairs" in res.stdout
    set1, set2 = pd.read_csv(out / "test_set1.csv"), pd.read_csv(out / "test_set2.csv")
    assert {"id", "ldr", "hdr", "bright_fraction"} <= set(set1.columns)
    assert list(set2["id"]) == ["berlin_000000_000019", "bonn_000002_000019"]
    np.testing.assert_allclose(set1["bright_fraction"], [238 / 8192, 237 / 8192, 400 / 8192, 0.0])
    # --lambda changes the selection: above 0.04 only the 400-pixel image
    res = cli("data", "testsets", "--root", tree, "--out", out, "--lambda", "0.04")
    assert "test_set2: 1 pairs" in res.stdout


def test_cli_errors_are_one_line(tree: Path, tmp_path: Path, cli):
    write_png(tree / "leftImg16bit" / "test" / "bonn" / "bonn_000042_000019_leftImg16bit.png",
              np.zeros((H, W, 3), np.uint16))
    res = cli("data", "testsets", "--root", tree, "--out", tmp_path / "o")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "bonn_000042_000019_leftImg16bit.png" in res.stderr
    res = cli("data", "testsets", "--root", tree, "--out", tmp_path / "o", "--skip-unpaired")
    assert res.returncode == 0 and "test_set1: 4 pairs" in res.stdout
    assert res.stderr.strip() == f"hdrbench: warning: skipped 1 unpaired file(s) in {tree} (split 'test')"
    res = cli("data", "testsets", "--dataset", "nolayout", "--root", tree, "--out", tmp_path / "o")
    assert res.returncode == 2 and "unknown dataset 'nolayout'" in res.stderr and "Traceback" not in res.stderr
    ldr = tree / "leftImg8bit" / "test" / "bonn" / "bonn_000002_000019_leftImg8bit.png"
    ldr.write_bytes(ldr.read_bytes()[:60])  # truncated PNG
    res = cli("data", "testsets", "--root", tree, "--out", tmp_path / "o", "--skip-unpaired")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith(f"hdrbench: error: {ldr}: cannot decode")
