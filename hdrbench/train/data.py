"""Training patches as a pure function of a sample index, so that a resumed run sees the same data.

Sample ``k`` (a global index: ``(step * world_size + rank) * batch_size + j``) draws its image, crop
and flip from a generator seeded with ``(seed, k)``; no sampler state exists, so resuming at step ``s``
only means starting the index stream at ``s``. Tensors: ``ldr`` (3, P, P) display-referred [0, 1] and
``hdr`` (3, P, P) linear, as the dataset's :meth:`~hdrbench.datasets.base.PairedDataset.load_pair` gives.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from hdrbench.datasets.base import Pair, PairedDataset
from hdrbench.errors import HDRBenchError


class PatchStream(Dataset):
    """Random ``patch_size`` crops (with horizontal flips) of the training pairs, indexed by sample number."""

    def __init__(self, dataset: PairedDataset, pairs: list[Pair], patch_size: int, seed: int = 0,
                 cache_images: int = 64):
        if not pairs:
            raise HDRBenchError(f"dataset '{dataset.name}' has no training pairs (root: {dataset.root})")
        self.dataset, self.pairs, self.patch, self.seed = dataset, pairs, int(patch_size), int(seed)
        self.cache_images = cache_images
        self._cache: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()

    def __len__(self) -> int:  # the stream is unbounded; DataLoader only needs a sampler
        return 2**62

    def _image(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        if i in self._cache:
            self._cache.move_to_end(i)
            return self._cache[i]
        ldr, hdr = self.dataset.load_pair(self.pairs[i])
        h, w = ldr.shape[:2]
        if min(h, w) < self.patch:
            raise HDRBenchError(f"training image is {w}x{h}, smaller than patch_size {self.patch}; lower "
                                "recipe.patch_size in bench.toml or --patch-size", self.pairs[i].ldr)
        self._cache[i] = (ldr, hdr)
        if len(self._cache) > self.cache_images:
            self._cache.popitem(last=False)
        return ldr, hdr

    def __getitem__(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        g = np.random.default_rng([self.seed, int(k)])
        ldr, hdr = self._image(int(g.integers(len(self.pairs))))
        h, w = ldr.shape[:2]
        y, x = int(g.integers(h - self.patch + 1)), int(g.integers(w - self.patch + 1))
        sl = (slice(y, y + self.patch), slice(x, x + self.patch))
        a, b = ldr[sl], hdr[sl]
        if g.random() < 0.5:
            a, b = a[:, ::-1], b[:, ::-1]
        to_t = lambda z: torch.from_numpy(np.ascontiguousarray(z, dtype=np.float32)).permute(2, 0, 1)  # noqa: E731
        return to_t(a), to_t(b)


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
