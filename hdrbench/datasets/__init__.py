"""Datasets: registered readers of public layouts, returning LDR/HDR pairs.

Each dataset module is registered in ``pyproject.toml`` (``[project.entry-points."hdrbench.datasets"]``)
and imported when the dataset is first used.
"""

from hdrbench.datasets.base import Pair, PairedDataset, create_dataset
from hdrbench.datasets.camera import VirtualCamera


def __getattr__(name: str):
    """``PatchDataset`` is imported on first use (it needs torch; listing datasets does not)."""
    if name == "PatchDataset":
        from hdrbench.datasets.patches import PatchDataset

        return PatchDataset
    raise AttributeError(f"module 'hdrbench.datasets' has no attribute '{name}'")


__all__ = ["Pair", "PairedDataset", "PatchDataset", "VirtualCamera", "create_dataset"]
