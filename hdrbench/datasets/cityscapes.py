"""Cityscapes LDR/HDR pairs, the DCDR-UNet paper's data (§4.1.1), with its Test set1 and Test set2.

Layout (``root`` = the folder holding ``leftImg8bit/`` and ``leftImg16bit/``)::

    leftImg8bit/{split}/{city}/{stem}_leftImg8bit.png    8-bit LDR (display-referred)
    leftImg16bit/{split}/{city}/{stem}_leftImg16bit.png  16-bit linear HDR, read as uint16, / 65535 -> [0, 1]

Splits: ``train`` (2975 pairs), ``val`` (500), ``test`` (1525), and the paper's two test sets:

* ``test_set1``: every pair of the test split;
* ``test_set2``: the pairs whose LDR has a fraction of bright grayscale pixels **strictly greater** than
  ``bright_lambda`` (λ = 0.029), a bright pixel being one whose gray value is **strictly greater** than
  ``t_bright`` (T_bright = 240). Gray = ITU-R BT.601 luma of the 8-bit RGB values as OpenCV's
  ``cvtColor(RGB2GRAY)`` computes it (fixed-point, rounded), so a pixel at exactly 240 does not count and a
  fraction exactly equal to λ is not selected. The paper reports 424 such pairs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hdrbench.datasets.base import Pair
from hdrbench.datasets.pairing import FilePairsDataset, list_files, match_pairs, require_dir
from hdrbench.errors import HDRBenchError
from hdrbench.io import opencv, read_image
from hdrbench.metrics.regions import T_BRIGHT, gray_bt601

cv2 = opencv()  # OpenCV with its OpenEXR codec enabled

BRIGHT_LAMBDA = 0.029


def bright_count(ldr_rgb8: np.ndarray, t_bright: int = T_BRIGHT) -> int:
    """Number of pixels whose BT.601 gray value is strictly greater than ``t_bright``."""
    return int(np.count_nonzero(gray_bt601(ldr_rgb8) > t_bright))


def bright_fraction(ldr_rgb8: np.ndarray, t_bright: int = T_BRIGHT) -> float:
    """Fraction of pixels whose BT.601 gray value is strictly greater than ``t_bright``."""
    return bright_count(ldr_rgb8, t_bright) / float(ldr_rgb8.shape[0] * ldr_rgb8.shape[1])


def is_large_overexposed(ldr_rgb8: np.ndarray, t_bright: int = T_BRIGHT, lam: float = BRIGHT_LAMBDA) -> bool:
    """The Test set2 rule: bright pixels make up strictly more than ``lam`` of the image (integer-exact)."""
    n = ldr_rgb8.shape[0] * ldr_rgb8.shape[1]
    return bright_count(ldr_rgb8, t_bright) > lam * n


class Cityscapes(FilePairsDataset):
    """Cityscapes ``leftImg8bit`` / ``leftImg16bit`` pairs (see the module docstring)."""

    summary = "Cityscapes 8-bit LDR / 16-bit linear HDR pairs; Test set1 (all test) and Test set2 (bright)"
    citation = "Cordts et al., The Cityscapes Dataset for Semantic Urban Scene Understanding, CVPR 2016"
    hdr_convention = "16-bit linear PNG / 65535 -> [0, 1]"
    default_options = {"skip_unpaired": False, "t_bright": T_BRIGHT, "bright_lambda": BRIGHT_LAMBDA,
                       "test_split": "test"}
    train_split = "train"
    test_sets = ("test_set1", "test_set2")

    def __init__(self, root=None, **options):
        super().__init__(root, **options)
        self._cache: dict[str, list[Pair]] = {}

    def _split_pairs(self, split: str) -> list[Pair]:
        root = self.require_root()
        ldr_dir = require_dir(root / "leftImg8bit", "a Cityscapes layout: ROOT/leftImg8bit/{split}/{city}/*.png")
        hdr_dir = require_dir(root / "leftImg16bit", "a Cityscapes layout: ROOT/leftImg16bit/{split}/{city}/*.png")
        ldr_split = require_dir(ldr_dir / split, f"split '{split}' of leftImg8bit (train, val or test)")
        hdr_split = require_dir(hdr_dir / split, f"split '{split}' of leftImg16bit (train, val or test)")
        return match_pairs(list_files(ldr_split, [".png"], "*/*_leftImg8bit.png"),
                           list_files(hdr_split, [".png"], "*/*_leftImg16bit.png"),
                           ldr_key=lambda p: p.name[: -len("_leftImg8bit.png")],
                           hdr_key=lambda p: p.name[: -len("_leftImg16bit.png")],
                           skip_unpaired=bool(self.options["skip_unpaired"]), where=f"{root} (split '{split}')")

    def with_bright_fraction(self, pairs: list[Pair]) -> list[Pair]:
        """The same pairs with ``meta['bright_fraction']`` and ``meta['test_set2']`` (reads every LDR once)."""
        t, lam = int(self.options["t_bright"]), float(self.options["bright_lambda"])
        from tqdm import tqdm

        out = []
        for pair in tqdm(pairs, desc="bright fraction", unit="img", disable=len(pairs) < 100, leave=False):
            img = read_image(pair.ldr)
            if img.dtype != np.uint8:
                raise HDRBenchError("is not an 8-bit LDR image", pair.ldr)
            out.append(Pair(pair.id, pair.ldr, pair.hdr, {**pair.meta, "bright_fraction": bright_fraction(img, t),
                                                          "test_set2": is_large_overexposed(img, t, lam)}))
        return out

    def pairs(self, split: str) -> list[Pair]:
        if split not in self._cache:
            if split == "test_set1":
                self._cache[split] = self.pairs(self.options["test_split"])
            elif split == "test_set2":
                self._cache[split] = [p for p in self.with_bright_fraction(self.pairs("test_set1"))
                                      if p.meta["test_set2"]]
            else:
                self._cache[split] = self._split_pairs(split)
        return list(self._cache[split])

    def testset_tables(self):
        """``(test_set1, test_set2)`` pandas tables: ``id, city, ldr, hdr, bright_fraction``."""
        import pandas as pd

        rows = [{"id": p.id, "city": Path(p.ldr).parent.name, "ldr": str(p.ldr), "hdr": str(p.hdr),
                 "bright_fraction": p.meta["bright_fraction"], "test_set2": p.meta["test_set2"]}
                for p in self.with_bright_fraction(self.pairs("test_set1"))]
        set1 = pd.DataFrame(rows, columns=["id", "city", "ldr", "hdr", "bright_fraction", "test_set2"])
        set2 = set1[set1["test_set2"]].reset_index(drop=True)
        return set1.drop(columns="test_set2"), set2.drop(columns="test_set2")
