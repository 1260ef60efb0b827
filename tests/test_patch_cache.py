"""The memory-mapped patch cache and the batch loader: bit-identical to streaming the source images, exact
storage, rebuilt on source change, no half cache after a failed build; per-recipe crops and augmentations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from hdrbench.datasets.base import Pair, PairedDataset
from hdrbench.datasets.patches import PatchDataset
from hdrbench.errors import HDRBenchError
from hdrbench.method import Recipe, create_method
from hdrbench.train import patch_cache
from hdrbench.train.data import IndexedPatches, StepSampler, training_batches
from hdrbench.train.patch_cache import open_patch_cache


class Pictures(PairedDataset):
    """Random 8-bit LDR and half-float HDR (as an OpenEXR HALF file gives), sizes given; counts decodes."""

    name = "pictures"

    def __init__(self, sizes, hdr_dtype=np.float16, fail_at=None, shift=0.0):
        super().__init__(None)
        self.sizes, self.hdr_dtype, self.fail_at, self.shift, self.loads = sizes, hdr_dtype, fail_at, shift, 0

    def pairs(self, split):
        return [Pair(f"im{k}", Path(f"im{k}.png"), Path(f"im{k}.exr"), {"height": h, "width": w, "s": self.shift,
                                                                "t": np.dtype(self.hdr_dtype).name})
                for k, (h, w) in enumerate(self.sizes)]

    def load_pair(self, pair):
        k = int(pair.id[2:])
        if k == self.fail_at:
            raise RuntimeError("killed mid-build")
        self.loads += 1
        rng = np.random.default_rng(k)
        h, w = pair.meta["height"], pair.meta["width"]
        ldr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8).astype(np.float32) / 255.0
        hdr = (rng.random((h, w, 3)) * 40 + self.shift).astype(self.hdr_dtype).astype(np.float32)
        return ldr, hdr


def _streamed(ds, recipe, seed, start, stop):
    patches = PatchDataset(ds, "train", patch_size=recipe.patch_size, seed=seed, mode=recipe.crop,
                           patches_per_image=None, augment=recipe.augment)
    loader = torch.utils.data.DataLoader(IndexedPatches(patches, seed), batch_size=recipe.batch_size,
                                         sampler=StepSampler(start, stop, recipe.batch_size))
    return [(b["ldr"], b["hdr"]) for b in loader]


@pytest.mark.parametrize("crop,augment", [("grid", ("hflip",)), ("random", ("hflip", "vflip", "transpose"))])
def test_cached_batches_equal_streamed_batches_bit_for_bit(crop, augment):
    ds = Pictures([(40, 56), (33, 70), (48, 48)])
    recipe = Recipe(batch_size=5, patch_size=16, crop=crop, augment=augment)
    want = _streamed(ds, recipe, seed=7, start=3, stop=12)  # 45 samples: several epochs of the 14-17 patches
    got = list(training_batches(ds, "train", recipe, seed=7, start=3, stop=12, device=torch.device("cpu")))
    assert len(got) == len(want) == 9
    for (a, b), (c, d) in zip(got, want):
        assert a.dtype == b.dtype == torch.float32 and a.shape == (5, 3, 16, 16) and a.is_contiguous()
        assert torch.equal(a, c) and torch.equal(b, d)
    flat = torch.cat([a for a, _ in got])
    assert len({t.numpy().tobytes() for t in flat}) > 20  # varied patches, not one repeated


def test_cache_storage_is_exact_and_narrow():
    ds = Pictures([(32, 32)])
    cache = open_patch_cache(PatchDataset(ds, patch_size=16, mode="grid"))
    assert cache.kinds == ("uint8", "float16") and cache.ldr.shape == (4, 16, 16, 3)
    ds32 = Pictures([(32, 32)], hdr_dtype=np.float32)  # float32 HDR is kept as float32, not rounded
    cache32 = open_patch_cache(PatchDataset(ds32, patch_size=16, mode="grid"))
    assert cache32.kinds == ("uint8", "float32")
    ldr, hdr = ds32.load_pair(ds32.pairs("train")[0])
    np.testing.assert_array_equal(cache32.hdr[1], hdr[:16, 16:32])
    np.testing.assert_array_equal(patch_cache.decode_table("uint8")[cache32.ldr[1]], ldr[:16, 16:32])
    cache32.verify()


def test_cache_pickles_by_path_for_worker_processes():
    import pickle

    cache = open_patch_cache(PatchDataset(Pictures([(32, 32)]), patch_size=16))
    blob = pickle.dumps(cache)
    assert len(blob) < 4096  # the manifest and the path, not the pixels
    again = pickle.loads(blob)
    assert isinstance(again.ldr, np.memmap) and np.array_equal(again.hdr, cache.hdr)


def test_cached_batches_with_worker_processes():
    ds = Pictures([(40, 56), (48, 48)])
    recipe = Recipe(batch_size=3, patch_size=16, crop="random", augment=("hflip", "transpose"))
    got = list(training_batches(ds, "train", recipe, seed=2, start=0, stop=4, device=torch.device("cpu"),
                                num_workers=2))
    want = _streamed(ds, recipe, 2, 0, 4)
    assert all(torch.equal(a, c) and torch.equal(b, d) for (a, b), (c, d) in zip(got, want))


def test_cache_is_built_once_and_rebuilt_when_the_source_changes():
    ds = Pictures([(32, 48)] * 2)
    patches = PatchDataset(ds, patch_size=16, mode="random")
    first = open_patch_cache(patches)
    assert ds.loads == 2
    assert open_patch_cache(patches).path == first.path and ds.loads == 2  # reused, nothing decoded
    changed = Pictures([(32, 48)] * 2, shift=1.0)  # other pixels, other metadata: another cache
    second = open_patch_cache(PatchDataset(changed, patch_size=16, mode="random"))
    assert second.path != first.path and changed.loads == 2
    assert not first.path.exists()  # the stale cache of the same dataset/split/crop/size is gone


def test_failed_build_leaves_no_cache_and_the_next_run_builds_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HDRBENCH_PATCH_CACHE", str(tmp_path))
    broken = Pictures([(32, 32)] * 3, fail_at=2)
    with pytest.raises(RuntimeError, match="killed"):
        open_patch_cache(PatchDataset(broken, patch_size=16))
    assert list(tmp_path.iterdir()) == []  # the temporary folder is removed, nothing looks complete
    ok = Pictures([(32, 32)] * 3)
    assert open_patch_cache(PatchDataset(ok, patch_size=16)) is not None and ok.loads == 3


def test_corruption_is_detected(tmp_path, monkeypatch):
    monkeypatch.setenv("HDRBENCH_PATCH_CACHE", str(tmp_path))
    patches = PatchDataset(Pictures([(32, 32)]), patch_size=16)
    cache = open_patch_cache(patches)
    with open(cache.path / "hdr.bin", "r+b") as f:
        f.seek(10)
        f.write(b"\x7f")
    with pytest.raises(HDRBenchError, match="checksum"):
        open_patch_cache(patches).verify()
    (cache.path / "ldr.bin").write_bytes(b"short")  # truncated: not opened, rebuilt
    rebuilt = open_patch_cache(patches)
    rebuilt.verify()


def test_no_room_on_disk_streams_instead(tmp_path, monkeypatch):
    monkeypatch.setenv("HDRBENCH_PATCH_CACHE", str(tmp_path))
    monkeypatch.setattr(patch_cache, "DISK_MARGIN", 1 << 62)
    ds = Pictures([(32, 32)])
    assert open_patch_cache(PatchDataset(ds, patch_size=16)) is None
    recipe = Recipe(batch_size=2, patch_size=16)
    got = list(training_batches(ds, "train", recipe, seed=1, start=0, stop=2, device=torch.device("cpu")))
    want = _streamed(ds, recipe, 1, 0, 2)
    assert all(torch.equal(a, c) and torch.equal(b, d) for (a, b), (c, d) in zip(got, want))


def test_transpose_and_flips_act_on_the_patch():
    ds = PairedDataset.__new__(Pictures)
    Pictures.__init__(ds, [(16, 16)])
    seen = set()
    for seed in range(40):
        p = PatchDataset(ds, patch_size=16, seed=seed, augment=("hflip", "vflip", "transpose"))
        ldr, _ = ds.load_pair(ds.pairs("train")[0])
        got = p[0]["ldr"].numpy().transpose(1, 2, 0)
        for k in range(8):  # exactly one of the 8 rotations/reflections of the square
            cand = np.rot90(ldr, k % 4)
            cand = cand[:, ::-1] if k >= 4 else cand
            if np.array_equal(got, cand):
                seen.add(k)
                break
        else:
            raise AssertionError("not a rotation/reflection of the source patch")
    assert len(seen) == 8


def test_recipes_declare_their_own_augmentation():
    paper = create_method("hdrunet").recipe_for("paper")
    assert (paper.crop, paper.augment, paper.patch_size) == ("grid", ("hflip",), 512)
    assert create_method("dcdr").recipe.augment == ("hflip",) and create_method("dcdr").recipe.crop == "grid"
    official = create_method("hdrunet").recipe
    assert (official.crop, official.augment) == ("random", ("hflip", "vflip", "transpose"))
    assert create_method("kunet").recipe.augment == ("hflip", "vflip", "transpose")
    assert create_method("fhdr").recipe.augment == ()
    assert create_method("hdrcnn").recipe.augment == ("hflip",)
    with pytest.raises(HDRBenchError, match="did you mean 'vflip'"):
        Recipe(augment=("vflp",))
    with pytest.raises(HDRBenchError, match="crop"):
        Recipe(crop="centre")
    assert Recipe(augment=["hflip"]).augment == ("hflip",)  # lists from TOML
