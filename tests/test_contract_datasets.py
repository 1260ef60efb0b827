"""The dataset contract, run over every registered dataset layout: it describes itself, rejects unknown
options with a hint, fails on a missing root with one ``HDRBenchError`` naming that folder (before any
work), and — where the layout ships its own images (``demo``) — returns well-formed pairs.
Layout-specific reading (file names, decoding) is tested in ``test_datasets_*.py``."""

from __future__ import annotations

import numpy as np
import pytest

from hdrbench.datasets import create_dataset
from hdrbench.errors import HDRBenchError
from hdrbench.registry import DATASETS


@pytest.mark.parametrize("name", sorted(DATASETS.entry_points()))  # declared by a distribution
def test_dataset_contract(name, tmp_path):
    cls = DATASETS.get(name)
    assert cls.name == name and cls.summary and cls.test_sets and cls.train_split
    info = create_dataset(name, tmp_path).describe()
    assert info["name"] == name and info["test_sets"] == list(cls.test_sets)
    with pytest.raises(HDRBenchError, match="did you mean|unknown option"):
        create_dataset(name, tmp_path, **{"no_such_option": 1})
    missing = tmp_path / "missing"
    ds = create_dataset(name, missing)
    try:
        pairs = ds.pairs(cls.test_sets[0])
    except HDRBenchError as exc:
        assert exc.path == str(missing) and "\n" not in str(exc)
        return
    # a layout with built-in images: sorted unique ids, float32 (H, W, 3) pairs, LDR in [0, 1], HDR >= 0
    ids = [p.id for p in pairs]
    assert ids and ids == sorted(ids) and len(set(ids)) == len(ids)
    ldr, hdr = ds.load_pair(pairs[0])
    assert ldr.dtype == hdr.dtype == np.float32 and ldr.shape == hdr.shape and ldr.shape[-1] == 3
    assert 0.0 <= ldr.min() and ldr.max() <= 1.0 and hdr.min() >= 0.0
