"""PatchDataset: grid coverage (remainder dropped), streaming reads, flips and random crops under a seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from hdrbench.datasets import PatchDataset, create_dataset
from hdrbench.datasets.base import Pair, PairedDataset
from hdrbench.datasets.patches import image_size
from hdrbench.errors import HDRBenchError
from hdrbench.io import opencv, write_exr

cv2 = opencv()  # OpenCV with its OpenEXR codec enabled


class Synthetic(PairedDataset):
    """In-memory pairs with known sizes; counts load_pair calls. HDR = 2 * LDR + index ramp."""

    def __init__(self, sizes):
        super().__init__(None)
        self.sizes, self.loads = sizes, 0

    def pairs(self, split):
        return [Pair(f"im{k}", Path(f"im{k}.png"), Path(f"im{k}.exr"), {"height": h, "width": w})
                for k, (h, w) in enumerate(self.sizes)]

    def load_pair(self, pair):
        self.loads += 1
        h, w = pair.meta["height"], pair.meta["width"]
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        ldr = np.stack([yy / h, xx / w, np.full_like(yy, int(pair.id[2:]) / 10)], axis=-1)
        return ldr, 2 * ldr


def test_cityscapes_size_gives_eight_patches():
    ds = PatchDataset(Synthetic([(1024, 2048)]), patch_size=512, flips=False)
    assert len(ds) == 8
    assert sorted((int(ds[i]["y"]), int(ds[i]["x"])) for i in range(8)) == [
        (y, x) for y in (0, 512) for x in (0, 512, 1024, 1536)]


def test_grid_covers_image_and_drops_remainder():
    src = Synthetic([(130, 200), (64, 64)])
    ds = PatchDataset(src, patch_size=64, flips=False)
    assert len(ds) == 2 * 3 + 1  # floor(130/64) x floor(200/64), then 1x1
    ldr, _ = src.load_pair(src.pairs("train")[0])
    covered = np.zeros((130, 200), int)
    for i in range(6):
        item = ds[i]
        y, x = item["y"], item["x"]
        covered[y:y + 64, x:x + 64] += 1
        np.testing.assert_array_equal(item["ldr"].numpy(), ldr[y:y + 64, x:x + 64].transpose(2, 0, 1))
        assert item["ldr"].shape == (3, 64, 64) and item["ldr"].dtype == torch.float32 and item["id"] == "im0"
    assert (covered[:128, :192] == 1).all() and covered[128:].sum() == 0 and covered[:, 192:].sum() == 0


def test_streaming_reads_each_image_once_in_order():
    src = Synthetic([(128, 128)] * 3)
    ds = PatchDataset(src, patch_size=32, flips=True, seed=1)
    src.loads = 0
    for i in range(len(ds)):
        ds[i]
    assert len(ds) == 48 and src.loads == 3


def test_flips_deterministic_and_shared_by_ldr_and_hdr():
    src = Synthetic([(64, 64)])
    a, b = PatchDataset(src, patch_size=64, seed=5), PatchDataset(src, patch_size=64, seed=5)
    flips = []
    for epoch in range(12):
        a.set_epoch(epoch)
        b.set_epoch(epoch)
        ia, ib = a[0], b[0]
        torch.testing.assert_close(ia["ldr"], ib["ldr"])
        torch.testing.assert_close(ia["hdr"], 2 * ia["ldr"])  # the same flip on both
        ramp_y, ramp_x = ia["ldr"][0], ia["ldr"][1]
        flips.append((bool(ramp_y[0, 0] > ramp_y[-1, 0]), bool(ramp_x[0, 0] > ramp_x[0, -1])))
    assert len(set(flips)) >= 3  # several flip combinations occur over epochs


def test_random_crops():
    src = Synthetic([(100, 90), (70, 80)])
    ds = PatchDataset(src, patch_size=40, mode="random", patches_per_image=5, seed=2, flips=False)
    assert len(ds) == 10
    pos = [(ds[i]["y"], ds[i]["x"]) for i in range(10)]
    assert all(0 <= y <= 60 and 0 <= x <= 50 for y, x in pos[:5]) and all(y <= 30 and x <= 40 for y, x in pos[5:])
    assert len(set(pos)) > 5
    assert pos == [(ds[i]["y"], ds[i]["x"]) for i in range(10)]
    ds.set_epoch(1)
    assert pos != [(ds[i]["y"], ds[i]["x"]) for i in range(10)]
    loader = torch.utils.data.DataLoader(ds, batch_size=4)
    batch = next(iter(loader))
    assert batch["ldr"].shape == (4, 3, 40, 40) and len(batch["id"]) == 4


def test_real_files_sizes_and_errors(tmp_path: Path, rng):
    root = tmp_path / "pairs"
    (root / "ldr").mkdir(parents=True)
    cv2.imwrite(str(root / "ldr" / "a.png"), rng.integers(0, 256, (48, 80, 3), dtype=np.uint8))
    write_exr(root / "hdr" / "a.exr", rng.random((48, 80, 3), dtype=np.float32))
    assert image_size(root / "ldr" / "a.png") == (48, 80) and image_size(root / "hdr" / "a.exr") == (48, 80)
    ds = create_dataset("folder", root)
    assert len(PatchDataset(ds, split="test", patch_size=16)) == 3 * 5
    with pytest.raises(HDRBenchError, match="smaller than the 64x64"):
        PatchDataset(ds, split="test", patch_size=64)
    with pytest.raises(HDRBenchError, match="patch mode"):
        PatchDataset(ds, split="test", patch_size=16, mode="tiles")
