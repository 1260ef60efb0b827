"""Training patches from any :class:`PairedDataset`, streamed from disk (never the whole set in memory).

``PatchDataset(dataset, split="train", patch_size=512, flips=True, seed=0, mode="grid", patches_per_image=1,
augment=None)`` is a ``torch.utils.data.Dataset``; item ``i`` is a dict::

    "ldr": (3, P, P) float32, display-referred [0, 1]
    "hdr": (3, P, P) float32, linear (the dataset's hdr_convention, e.g. [0, 1] for Cityscapes / demo)
    "id":  str, the pair id;  "y", "x": int, the patch's top-left corner in the image

* ``mode="grid"`` (the paper's protocol, §4.1.1): the non-overlapping ``P×P`` sub-regions of every image, row
  by row. The **remainder at the right and bottom borders is dropped** (``floor(H/P) × floor(W/P)`` patches,
  e.g. 2048×1024 → 4×2 = 8 exactly); an image smaller than ``P`` in either side is an error.
* ``mode="random"``: ``patches_per_image`` random ``P×P`` crops per image and epoch (other methods' recipes,
  e.g. 160-px crops; ``patches_per_image=None``: as many as the grid would cut from that image); positions come
  from ``(seed, epoch, i)``.
* ``augment``: the random augmentations (a subset of ``("hflip", "vflip", "transpose")``, each with
  probability 1/2, in that order), the same for LDR and HDR, from ``(seed, epoch, i)``; ``None`` takes
  ``flips`` (``True``: ``("hflip", "vflip")``, ``False``: none).

:func:`patch_plan` is the one place where a sample's crop corner and augmentations are drawn; the cached
loader (:mod:`hdrbench.train.patch_cache`) calls it too, so both paths cut the same patches.

Everything is deterministic under ``seed``; call :meth:`PatchDataset.set_epoch` to draw new flips/crops each
epoch. Each worker keeps only the last image it read (an LRU of one), so iterate in order (or shuffle whole
images with a sampler) to read each image once per epoch.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import torch

from hdrbench.datasets.base import Pair, PairedDataset
from hdrbench.errors import HDRBenchError
from hdrbench.io import read_image
from hdrbench.method import AUGMENTATIONS


def patch_plan(seed: int, epoch: int, i: int, y: int, x: int, size: tuple[int, int], patch: int,
               augment: tuple[str, ...]) -> tuple[int, int, tuple[bool, bool, bool]]:
    """Corner and augmentations of item ``i`` in ``epoch``: ``(y, x, (hflip, vflip, transpose))``.

    ``y < 0`` asks for a random corner in an image of ``size = (height, width)``; the draws come from
    ``default_rng([seed, epoch, i])`` in a fixed order (corner, then each augmentation of ``AUGMENTATIONS``
    that ``augment`` lists), so a sample is a pure function of ``(seed, epoch, i)``.
    """
    rng = np.random.default_rng([seed, epoch, i])
    if y < 0:
        y = int(rng.integers(0, size[0] - patch + 1))
        x = int(rng.integers(0, size[1] - patch + 1))
    flags = tuple(bool(rng.random() < 0.5) if a in augment else False for a in AUGMENTATIONS)
    return y, x, flags  # type: ignore[return-value]


def augment_hwc(a: np.ndarray, flags: tuple[bool, bool, bool]) -> np.ndarray:
    """Apply ``(hflip, vflip, transpose)`` to an ``(H, W, C)`` array (a view, no copy)."""
    if flags[0]:
        a = a[:, ::-1]
    if flags[1]:
        a = a[::-1]
    if flags[2]:
        a = a.transpose(1, 0, 2)
    return a


def image_size(path: str | Path) -> tuple[int, int]:
    """``(height, width)`` of an image, from the header for PNG and EXR (no pixel decoding)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".png":
        with open(p, "rb") as f:
            head = f.read(24)
        if len(head) == 24 and head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
            w, h = struct.unpack(">II", head[16:24])
            return int(h), int(w)
        raise HDRBenchError("not a valid PNG file (bad header; corrupt or truncated?)", p)
    if suffix == ".exr":
        import OpenEXR

        try:
            with OpenEXR.File(str(p), header_only=True) as f:
                (x0, y0), (x1, y1) = f.header()["dataWindow"]
            return int(y1 - y0 + 1), int(x1 - x0 + 1)
        except Exception as exc:
            raise HDRBenchError(f"cannot read the OpenEXR header (corrupt or truncated?): {exc}", p) from None
    return tuple(read_image(p).shape[:2])  # type: ignore[return-value]


class PatchDataset(torch.utils.data.Dataset):
    """Streaming LDR/HDR training patches of one split (see the module docstring for the item layout)."""

    def __init__(self, dataset: PairedDataset, split: str = "train", patch_size: int = 512, flips: bool = True,
                 seed: int = 0, mode: str = "grid", patches_per_image: int | None = 1,
                 augment: tuple[str, ...] | None = None):
        if mode not in ("grid", "random"):
            raise HDRBenchError(f"patch mode '{mode}' unknown (use 'grid' or 'random')")
        if patch_size < 1 or (patches_per_image is not None and patches_per_image < 1):
            raise HDRBenchError("patch_size and patches_per_image must be positive")
        if augment is None:
            augment = ("hflip", "vflip") if flips else ()
        unknown = set(augment) - set(AUGMENTATIONS)
        if unknown:
            raise HDRBenchError(f"unknown augmentation '{sorted(unknown)[0]}' (use: {', '.join(AUGMENTATIONS)})")
        self.dataset, self.split, self.patch_size = dataset, split, int(patch_size)
        self.augment, self.seed, self.mode, self.patches_per_image = tuple(augment), int(seed), mode, patches_per_image
        self.sizes: list[tuple[int, int]] = []
        self.epoch = 0
        self.pairs: list[Pair] = dataset.pairs(split)
        self.index: list[tuple[int, int, int]] = []  # (pair index, y, x); y = x = -1: random crop
        p = self.patch_size
        for k, pair in enumerate(self.pairs):
            h, w = self._size(pair)
            self.sizes.append((h, w))
            if h < p or w < p:
                raise HDRBenchError(f"image is {w}x{h}, smaller than the {p}x{p} training patch; "
                                    f"lower patch_size or drop the image", pair.ldr)
            if mode == "grid":
                self.index += [(k, y, x) for y in range(0, h - p + 1, p) for x in range(0, w - p + 1, p)]
            else:
                self.index += [(k, -1, -1)] * (self.patches_per_image or (h // p) * (w // p))
        self._cached: tuple[int, np.ndarray, np.ndarray] | None = None

    @staticmethod
    def _size(pair: Pair) -> tuple[int, int]:
        if "height" in pair.meta and "width" in pair.meta:
            return int(pair.meta["height"]), int(pair.meta["width"])
        return image_size(pair.ldr)

    def set_epoch(self, epoch: int) -> None:
        """Select the random flips/crops of ``epoch`` (deterministic for a given seed)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.index)

    def _load(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self._cached is None or self._cached[0] != k:
            ldr, hdr = self.dataset.load_pair(self.pairs[k])
            self._cached = (k, ldr, hdr)
        return self._cached[1], self._cached[2]

    def __getitem__(self, i: int) -> dict:
        k, y, x = self.index[i]
        ldr, hdr = self._load(k)
        p = self.patch_size
        y, x, flags = patch_plan(self.seed, self.epoch, i, y, x, ldr.shape[:2], p, self.augment)
        a, b = augment_hwc(ldr[y:y + p, x:x + p], flags), augment_hwc(hdr[y:y + p, x:x + p], flags)
        return {"ldr": torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1), dtype=np.float32)),
                "hdr": torch.from_numpy(np.ascontiguousarray(b.transpose(2, 0, 1), dtype=np.float32)),
                "id": self.pairs[k].id, "y": y, "x": x}
