"""Training patches as a pure function of a global sample index, so that a resumed run sees the same data.

Sample ``k`` (``(step * world_size + rank) * batch_size + j``) is patch ``perm_e[k mod n]`` of epoch
``e = k // n`` of a :class:`~hdrbench.datasets.patches.PatchDataset` (``n`` grid patches; ``perm_e`` a
permutation seeded by ``(seed, e)``; the epoch also selects the flips). No sampler state exists, so resuming
at step ``s`` only means starting the index stream at ``s``, in any number of DataLoader workers.
Items: ``ldr`` (3, P, P) display-referred [0, 1] and ``hdr`` (3, P, P) linear (the dataset's convention).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from torch.utils.data import Dataset, Sampler

from hdrbench.datasets.patches import PatchDataset


class IndexedPatches(Dataset):
    """An endless, epoch-shuffled view of a :class:`PatchDataset`, addressed by global sample number."""

    def __init__(self, patches: PatchDataset, seed: int = 0):
        self.patches, self.seed = patches, int(seed)
        self._perm: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:  # unbounded; the DataLoader only follows the sampler
        return 2**62

    def __getitem__(self, k: int) -> dict:
        n = len(self.patches)
        epoch, r = divmod(int(k), n)
        if self._perm is None or self._perm[0] != epoch:
            self._perm = (epoch, np.random.default_rng([self.seed, epoch]).permutation(n))
        self.patches.set_epoch(epoch)
        return self.patches[int(self._perm[1][r])]


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
