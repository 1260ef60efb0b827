"""Datasets: registered readers of public layouts, returning LDR/HDR pairs.

Importing this package registers the built-in datasets (explicit imports below).
"""

from hdrbench.datasets.base import Pair, PairedDataset, create_dataset

# -- built-in dataset modules (each registers itself on import) --

__all__ = ["Pair", "PairedDataset", "create_dataset"]
