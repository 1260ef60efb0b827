"""Network weight files: safetensors with metadata that says what they hold.

A weights file stores the network's ``state_dict`` and, as string metadata, the method name, its
options (JSON) and anything the caller adds (training iteration, weight substitutions). Training
checkpoints with optimizer state live in :mod:`hdrbench.train`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hdrbench.errors import HDRBenchError


def save_weights(net: nn.Module, path: str | os.PathLike, *, method: str = "", options: dict | None = None,
                 **metadata: Any) -> Path:
    """Write ``net``'s state dict to ``path`` (safetensors), atomically (:func:`hdrbench.io.write_bytes`: whole or
    not at all; disk full is one line)."""
    from safetensors.torch import save

    from hdrbench.io import write_bytes

    p = Path(path)
    state = {k: v.detach().contiguous().cpu() for k, v in net.state_dict().items()}
    meta = {"method": method, "options": json.dumps(options or {}, default=str),
            **{k: v if isinstance(v, str) else json.dumps(v, default=str) for k, v in metadata.items()}}
    return write_bytes(p, save(state, metadata=meta))


def read_weights(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Load ``(state_dict, metadata)`` from a safetensors weights file."""
    from safetensors import safe_open

    p = Path(path)
    if not p.is_file():
        raise HDRBenchError("checkpoint not found; train one with 'hdrbench train' (or check the pipeline with "
                            "untrained weights: 'hdrbench predict --random-init')", p)
    try:
        with safe_open(str(p), framework="pt") as f:
            meta = dict(f.metadata() or {})
            state = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open has no items())
    except Exception as exc:
        raise HDRBenchError(f"not a readable safetensors checkpoint ({exc})", p) from None
    return state, meta


def load_weights(net: nn.Module, path: str | os.PathLike, *, method: str | None = None) -> dict[str, str]:
    """Load a weights file into ``net`` (strict); returns its metadata."""
    state, meta = read_weights(path)
    if method and meta.get("method") and meta["method"] != method:
        raise HDRBenchError(f"holds weights of method '{meta['method']}', not '{method}'", path)
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "shape or key mismatch"
        raise HDRBenchError(f"does not fit this network ({first}); were the options different?", path) from None
    return meta


def file_sha256(path: str | os.PathLike, length: int = 16) -> str:
    """Short sha256 of a file (the provenance ``hdrbench predict`` writes into each EXR header)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:length]
