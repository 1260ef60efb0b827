"""Training patches as a pure function of a global sample index, so that a resumed run sees the same data.

Sample ``k`` (``(step * world_size + rank) * batch_size + j``) is patch ``perm_e[k mod n]`` of epoch
``e = k // n`` of a :class:`~hdrbench.datasets.patches.PatchDataset` (``n`` patches; ``perm_e`` a
permutation seeded by ``(seed, e)``; the epoch also selects the crops and augmentations). No sampler state
exists, so resuming at step ``s`` only means starting the index stream at ``s``, in any number of workers.

:func:`training_batches` is what the training loop iterates: ``(ldr, hdr)`` float32 ``(B, 3, P, P)`` batches
on the training device (``ldr`` display-referred [0, 1], ``hdr`` linear, the dataset's convention). It reads
them from the split's memory-mapped patch cache (:mod:`hdrbench.train.patch_cache`; one batch = one read,
decoding and augmentation as tensor ops on the device, pinned host memory, no host sync) and falls back to
streaming the source images (:class:`IndexedPatches` + :class:`StepSampler`) when no cache can be built.
Both paths give bit-identical batches.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from hdrbench.datasets.base import PairedDataset
from hdrbench.datasets.patches import PatchDataset, patch_plan
from hdrbench.method import Recipe


def epoch_permutation(seed: int, epoch: int, n: int) -> np.ndarray:
    """The order of the ``n`` patches in ``epoch``."""
    return np.random.default_rng([seed, epoch]).permutation(n)


class IndexedPatches(Dataset):
    """An endless, epoch-shuffled view of a :class:`PatchDataset`, addressed by global sample number."""

    def __init__(self, patches: PatchDataset, seed: int = 0):
        self.patches, self.seed = patches, int(seed)
        self._perm: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:  # unbounded; the DataLoader only follows the sampler
        return 2**62

    def locate(self, k: int) -> tuple[int, int]:
        """``(epoch, patch index)`` of global sample ``k``."""
        n = len(self.patches)
        epoch, r = divmod(int(k), n)
        if self._perm is None or self._perm[0] != epoch:
            self._perm = (epoch, epoch_permutation(self.seed, epoch, n))
        return epoch, int(self._perm[1][r])

    def __getitem__(self, k: int) -> dict:
        epoch, j = self.locate(k)
        self.patches.set_epoch(epoch)
        return self.patches[j]


class StepSampler(Sampler[int]):
    """Sample indices of steps ``start..stop-1`` for one rank: ``(step * world + rank) * batch + j``."""

    def __init__(self, start: int, stop: int, batch_size: int, rank: int = 0, world_size: int = 1):
        self.start, self.stop, self.batch, self.rank, self.world = start, stop, batch_size, rank, world_size

    def __len__(self) -> int:
        return max(0, self.stop - self.start) * self.batch

    def __iter__(self) -> Iterator[int]:
        for step in range(self.start, self.stop):
            base = (step * self.world + self.rank) * self.batch
            yield from range(base, base + self.batch)


class CachedSteps(Dataset):
    """Item ``t`` = the whole batch of step ``start + t`` read from a patch cache, in storage dtype.

    ``{"ldr", "hdr"}``: ``(B, P, P, 3)`` uint8/uint16/float16/float32 codes (see
    :mod:`hdrbench.train.patch_cache`), ``"flags"``: ``(B, 3)`` bool (hflip, vflip, transpose), still to apply.
    """

    def __init__(self, patches: PatchDataset, cache, seed: int, start: int, stop: int, batch_size: int,
                 rank: int = 0, world_size: int = 1):
        self.patches, self.cache = patches, cache
        self.stream = IndexedPatches(patches, seed)
        self.sampler = StepSampler(start, stop, batch_size, rank, world_size)

    def __len__(self) -> int:
        return max(0, self.sampler.stop - self.sampler.start)

    def __getitem__(self, t: int) -> dict[str, torch.Tensor]:
        s, p = self.sampler, self.patches.patch_size
        base = ((s.start + t) * s.world + s.rank) * s.batch
        plans = []
        for k in range(base, base + s.batch):
            epoch, j = self.stream.locate(k)
            img, y, x = self.patches.index[j]
            plans.append((j, img, *patch_plan(self.patches.seed, epoch, j, y, x, self.patches.sizes[img], p,
                                              self.patches.augment)))
        if self.patches.mode == "grid":  # cache row j = patch j
            rows = np.array([q[0] for q in plans])
            ldr, hdr = self.cache.ldr[rows], self.cache.hdr[rows]
        else:
            crops = [[a[y:y + p, x:x + p] for a in self.cache.image(img)] for _, img, y, x, _ in plans]
            ldr, hdr = np.stack([c[0] for c in crops]), np.stack([c[1] for c in crops])
        return {"ldr": _tensor(ldr), "hdr": _tensor(hdr), "flags": torch.tensor([q[4] for q in plans])}


def _tensor(a: np.ndarray) -> torch.Tensor:
    if a.dtype == np.uint16:  # few torch ops take uint16; int32 holds every code
        a = a.astype(np.int32)
    return torch.from_numpy(np.ascontiguousarray(a))


def augment_batch(x: torch.Tensor, flags: torch.Tensor) -> torch.Tensor:
    """Per-sample ``(hflip, vflip, transpose)`` of ``x`` ``(B, H, W, C)``, in place, as tensor ops on ``x``'s
    device; ``flags`` ``(B, 3)`` bool stays on the host (it is known there: no device sync)."""
    for i, (h, v, t) in enumerate(flags.tolist()):
        if h or v or t:
            y = x[i].flip([d for d, f in ((1, h), (0, v)) if f]) if (h or v) else x[i].clone()  # no overlap
            x[i] = y.transpose(0, 1) if t else y
    return x


class _Decoder:
    """Storage codes ``(B, P, P, 3)`` → the reader's float32 values ``(B, 3, P, P)`` on ``device``.

    Integer codes are divided by 255 or 65535 as the image readers do (``q.astype(float32) / 255``; the divisor
    is a device tensor, so CUDA divides instead of multiplying by a rounded reciprocal: bit-identical)."""

    def __init__(self, kinds: tuple[str, str], device: torch.device):
        scale = {"uint8": 255.0, "uint16": 65535.0}
        self.scales = [torch.tensor(scale[k], device=device) if k in scale else None for k in kinds]

    def __call__(self, x: torch.Tensor, which: int) -> torch.Tensor:
        b, h, w, c = x.shape
        out = torch.empty((b, c, h, w), dtype=torch.float32, device=x.device).copy_(x.permute(0, 3, 1, 2))
        scale = self.scales[which]
        return out.div_(scale) if scale is not None else out


def auto_workers(device: torch.device) -> int:
    """Loader processes when the job says ``num_workers < 0``: none on CPU (they would steal the training
    threads), else one per spare core up to 8."""
    if device.type == "cpu":
        return 0
    return max(1, min(8, (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
                      - 1))


def training_batches(dataset: PairedDataset, split: str, recipe: Recipe, seed: int, start: int, stop: int,
                     device: torch.device, rank: int = 0, world_size: int = 1, num_workers: int = -1,
                     cache: bool = True) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The ``(ldr, hdr)`` batches of steps ``start..stop-1`` (see the module docstring)."""
    from hdrbench.train.patch_cache import open_patch_cache

    patches = PatchDataset(dataset, split, patch_size=recipe.patch_size, seed=seed, mode=recipe.crop,
                           patches_per_image=None, augment=recipe.augment)
    workers = auto_workers(device) if num_workers < 0 else num_workers
    pin = device.type == "cuda"
    store = open_patch_cache(patches) if cache and (rank == 0 or world_size == 1) else None
    if cache and world_size > 1 and torch.distributed.is_initialized():  # rank 0 built it; the others open it
        torch.distributed.barrier()
        store = store or open_patch_cache(patches, build=False)
    if store is None:
        loader = DataLoader(IndexedPatches(patches, seed), batch_size=recipe.batch_size, num_workers=workers,
                            sampler=StepSampler(start, stop, recipe.batch_size, rank, world_size), pin_memory=pin,
                            generator=torch.Generator().manual_seed(seed))  # not the global RNG (resume)
        for batch in loader:
            yield batch["ldr"].to(device, non_blocking=True), batch["hdr"].to(device, non_blocking=True)
        return
    steps = CachedSteps(patches, store, seed, start, stop, recipe.batch_size, rank, world_size)
    loader = DataLoader(steps, batch_size=None, num_workers=workers, pin_memory=pin,
                        prefetch_factor=4 if workers else None, generator=torch.Generator().manual_seed(seed))
    decode = _Decoder(store.kinds, device)
    for item in loader:
        ldr, hdr = (augment_batch(item[k].to(device, non_blocking=True), item["flags"]) for k in ("ldr", "hdr"))
        yield decode(ldr, 0), decode(hdr, 1)
