"""The dataset interface: registered readers that turn a folder layout into LDR/HDR pairs.

A dataset is a registered :class:`PairedDataset` subclass built from a ``root`` folder and options.
It lists :class:`Pair` records per split; :meth:`PairedDataset.load_pair` reads one pair as numpy arrays:

* ``ldr``: ``(H, W, 3)`` float32, display-referred, ``[0, 1]`` (8-bit / 255);
* ``hdr``: ``(H, W, 3)`` float32, **linear**, normalised as the dataset's ``hdr_convention`` says
  (e.g. Cityscapes 16-bit / 65535 → ``[0, 1]``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from hdrbench.checks import check_options
from hdrbench.errors import HDRBenchError, check_known

if TYPE_CHECKING:
    from hdrbench.datasets.camera import CameraResponse


@dataclass(frozen=True)
class Pair:
    """One LDR/HDR pair: ``id`` is the image's stem (unique within a split)."""

    id: str
    ldr: Path
    hdr: Path
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class LDRCamera:
    """How a dataset's LDR inputs were made from its ground truth, where the dataset knows it.

    Below clipping, ``hdr ≈ saturation · response.inverse(ldr)``: ``response`` is the camera response
    (linear → display-referred, both ``[0, 1]``) and ``saturation`` the ground-truth value (in the dataset's
    HDR units) at which the LDR saturates (e.g. 1/64 for the demo set's 6 stops of headroom).
    """

    response: CameraResponse
    saturation: float


#: Where a dataset's root folder is given, for error messages.
ROOT_ADVICE = "'hdrbench data info --root DIR', 'hdrbench train --root DIR', or bench.toml [dataset] root"


class PairedDataset:
    """Base class of registered datasets."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    citation: ClassVar[str] = ""
    hdr_convention: ClassVar[str] = "linear float as stored"
    default_options: ClassVar[dict[str, Any]] = {}
    #: The type of an option whose default does not say it (as :attr:`hdrbench.method.Method.option_types`).
    option_types: ClassVar[dict[str, Any]] = {}
    #: Splits used for training and the named test sets scored by the benchmark runner. ``test_sets`` is set per
    #: class; an instance may replace it (the exposure sweep of virtual-camera datasets: ``test@+1EV``, …).
    train_split: ClassVar[str] = "train"
    test_sets: tuple[str, ...] = ("test",)

    def __init__(self, root: str | os.PathLike | None = None, **options: Any):
        check_known(options, self.default_options, f"dataset '{self.name}': option")
        check_options(options, self.default_options, f"dataset '{self.name}': option", self.option_types)
        self.root = Path(root) if root is not None else None
        self.options: dict[str, Any] = {**self.default_options, **options}

    def pairs(self, split: str) -> list[Pair]:
        """The pairs of ``split`` (``train`` or one of :attr:`test_sets`), sorted by id."""
        raise NotImplementedError(f"{type(self).__name__}.pairs")

    def load_pair(self, pair: Pair) -> tuple[np.ndarray, np.ndarray]:
        """``(ldr, hdr)`` float32 ``(H, W, 3)`` arrays (see the module docstring for ranges)."""
        raise NotImplementedError(f"{type(self).__name__}.load_pair")

    def ldr_camera(self, test_set: str | None = None) -> LDRCamera | None:
        """The declared LDR camera (response and saturation level) of ``test_set`` (``None``: of the dataset as a
        whole, its training split), or ``None`` when the dataset does not know it (real photographs: Cityscapes,
        folders of pairs). It differs per test set on an exposure sweep (:mod:`hdrbench.datasets.sweep`)."""
        return None

    def identity(self) -> dict[str, Any]:
        """What this instance reads: its name, root and resolved options (recorded by training runs and output
        folders, and part of every score's digest)."""
        return {"name": self.name, "root": str(self.root) if self.root else None, "options": dict(self.options)}

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "kind": "dataset", "summary": self.summary,
                "hdr_convention": self.hdr_convention, "test_sets": list(self.test_sets),
                "options": dict(self.default_options)}


def create_dataset(name: str, root: str | os.PathLike | None = None, **options: Any) -> PairedDataset:
    """Instantiate the registered dataset ``name`` on ``root``."""
    from hdrbench.registry import DATASETS

    return DATASETS.get(name)(root, **options)


def check_scorable(dataset: PairedDataset, test_set: str, pairs: list[Pair]) -> None:
    """Read each pair of ``test_set`` and refuse one that evaluation could not score (NaN/inf, negative or all-black
    ground truth, LDR and ground truth of different sizes), naming the file; unreadable files fail in the reader."""
    for pair in pairs:
        ldr, hdr = dataset.load_pair(pair)
        bad = int((~np.isfinite(hdr)).sum())
        where = f"test image '{pair.id}' ({test_set})"
        if bad:
            raise HDRBenchError(f"{where}: the ground truth has {bad} NaN/inf values; repair or remove the file "
                                "before training", pair.hdr)
        if float(hdr.min()) < 0:
            raise HDRBenchError(f"{where}: the ground truth has negative values; clip them to 0 when preparing the "
                                "data", pair.hdr)
        if not float(hdr.max()) > 0:
            raise HDRBenchError(f"{where}: the ground truth is all black", pair.hdr)
        if ldr.shape != hdr.shape:
            raise HDRBenchError(f"{where}: LDR {ldr.shape} and ground truth {hdr.shape} differ in size", pair.ldr)
