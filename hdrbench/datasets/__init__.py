"""Datasets: registered readers of public layouts, returning LDR/HDR pairs.

Importing this package registers the built-in datasets (explicit imports below).
"""

from hdrbench.datasets.base import Pair, PairedDataset, create_dataset

# -- built-in dataset modules (each registers itself on import) --
# isort: off
from hdrbench.datasets import cityscapes, demo, folders, ntire, sihdr, singlehdr  # noqa: F401
from hdrbench.datasets.camera import VirtualCamera
# isort: on


def __getattr__(name: str):
    """``PatchDataset`` is imported on first use (it needs torch; listing datasets does not)."""
    if name == "PatchDataset":
        from hdrbench.datasets.patches import PatchDataset

        return PatchDataset
    raise AttributeError(f"module 'hdrbench.datasets' has no attribute '{name}'")

__all__ = ["Pair", "PairedDataset", "PatchDataset", "VirtualCamera", "create_dataset"]
