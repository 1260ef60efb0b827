"""The embedded demo dataset: loads from the package, split by scene, LDRs clip 3-10 %, real highlights lost."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hdrbench.datasets import PatchDataset, create_dataset
from hdrbench.datasets.demo import TEST_SCENES, scene_files
from hdrbench.errors import HDRBenchError
from hdrbench.io import read_image


@pytest.fixture(scope="module")
def demo():
    return create_dataset("demo")


def test_counts_and_split_by_scene(demo):
    train, test = demo.pairs("train"), demo.pairs("test")
    assert len(scene_files()) == 26 and len(test) == 8 and len(train) == 18 * 4
    test_scenes = {p.meta["scene"] for p in test}
    assert test_scenes == set(TEST_SCENES) and not test_scenes & {p.meta["scene"] for p in train}
    assert demo.test_sets == ("test",) and demo.train_split == "train"


def test_ldr_clips_3_to_10_percent_and_hdr_is_16bit(demo):
    for pair in demo.pairs("test") + demo.pairs("train")[::9]:
        ldr8, hdr16 = read_image(pair.ldr), read_image(pair.hdr)
        assert ldr8.dtype == np.uint8 and hdr16.dtype == np.uint16 and ldr8.shape == (256, 256, 3)
        clipped = np.mean((ldr8 == 255).any(axis=-1))
        assert 0.03 <= clipped <= 0.10, (pair.id, clipped)


def test_highlights_are_really_lost(demo):
    k = float(demo.options["hdr_headroom"])
    ratios = []
    for pair in demo.pairs("test"):
        ldr, hdr = demo.load_pair(pair)
        assert 0.0 <= hdr.min() and hdr.max() <= 1.0
        x = hdr * k  # exposed linear units: the LDR saturates at 1
        clipped = ldr.max(-1) >= 1.0
        assert x.max() >= 3.0, pair.id  # every test view holds highlights above 1.5 stops over saturation
        ratios.append(np.mean(x.max(-1)[clipped]))
        # elsewhere the LDR is the camera model of the ground truth: round(255 * x ** (1 / 2.2))
        ok = (x.min(-1) > 0.05) & ~clipped
        model = np.round(255 * np.clip(x, 0, 1) ** (1 / 2.2))
        assert np.abs(ldr * 255 - model)[ok].max() <= 1.01
    # in the clipped regions the scene is on average brighter than the LDR can show; lamps far brighter
    assert min(ratios) > 1.3 and np.median(ratios) > 2.0 and max(ratios) > 10.0


def test_deterministic_and_options(tmp_path: Path):
    a = create_dataset("demo", size=32, cache_dir=tmp_path / "a")
    b = create_dataset("demo", size=32, cache_dir=tmp_path / "b")
    pa, pb = a.pairs("test"), b.pairs("test")
    assert pa[0].ldr.parent.parent.parent == tmp_path / "a"
    for x, y in zip(pa, pb):
        assert x.ldr.read_bytes() == y.ldr.read_bytes() and x.meta["gain"] == y.meta["gain"]
        np.testing.assert_array_equal(read_image(x.hdr), read_image(y.hdr))
    assert len(PatchDataset(a, split="test", patch_size=16, flips=False)) == 8 * 4
    with pytest.raises(HDRBenchError, match="splits 'train' and 'test'"):
        a.pairs("val")
    with pytest.raises(HDRBenchError, match="size >= 16"):
        create_dataset("demo", size=8, cache_dir=tmp_path / "c").pairs("test")
