"""Official release weight files: read them safely and describe what a method made of them.

Formats (told apart by content, not by file name):

* hdrbench's own ``.safetensors`` (handled by :mod:`hdrbench.checkpoint`);
* PyTorch ``.pth``/``.ckpt`` files (zip or legacy), read only with ``torch.load(weights_only=True)``: a
  ``state_dict``, possibly wrapped (``{"state_dict": ...}``, ``{"params": ...}``) and/or with DataParallel's
  ``module.`` prefix;
* NumPy ``.npz`` archives (HDRCNN's TensorFlow/TensorLayer parameters), read with ``allow_pickle=False``.
  TensorLayer's ``save_npz`` stores its parameter list as one object array (a pickle of plain arrays); that
  one member is decoded by :func:`_load_array_list`, an unpickler that admits numpy's array and dtype
  constructors only, so no code in the file can run.

A method turns such a state into its own names with its :meth:`hdrbench.method.Method.convert_official_state_dict`
hook, returning :class:`OfficialWeights`.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hdrbench.errors import HDRBenchError

#: What ``--checkpoint`` accepts, for error messages.
EXPECTED = ("an hdrbench .safetensors weights file, an official PyTorch release file (.pth/.ckpt state_dict) "
            "or HDRCNN's official .npz parameter file")


@dataclass
class OfficialWeights:
    """An official release file converted to a method's names and layouts.

    ``state_dict``: tensors under this re-implementation's keys (possibly only part of the network, e.g. one
    HDRTV stage); ``options``: method options the file implies (widths read off the tensor shapes, input
    conventions); ``description``: what the file is (one line, recorded as provenance); ``note``: anything a
    user must know about its output (shown once as a warning), or empty.
    """

    state_dict: dict[str, torch.Tensor]
    options: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    note: str = ""


def file_kind(path: str | os.PathLike) -> str:
    """``"safetensors"``, ``"npz"`` or ``"torch"`` from the file's first bytes; anything else is an error."""
    p = Path(path)
    if not p.is_file():
        raise HDRBenchError(f"checkpoint not found (expected {EXPECTED})", p)
    with open(p, "rb") as f:
        head = f.read(16)
    if len(head) >= 10 and head[8:10] in (b'{"', b"{}") and int.from_bytes(head[:8], "little") < 100_000_000:
        return "safetensors"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(p) as z:
                names = z.namelist()
        except zipfile.BadZipFile:
            raise HDRBenchError(f"is a damaged zip archive (expected {EXPECTED})", p) from None
        if names and all(n.endswith(".npy") for n in names):
            return "npz"
        if any(n.endswith("data.pkl") for n in names):
            return "torch"
        raise HDRBenchError(f"is a zip archive but neither a PyTorch file nor a NumPy .npz (expected {EXPECTED})", p)
    if head[:1] == b"\x80":  # legacy (pre-1.6) torch.save: a pickle stream
        return "torch"
    raise HDRBenchError(f"is not a checkpoint (expected {EXPECTED})", p)


def read_official_state(path: str | os.PathLike) -> dict[str, Any]:
    """The raw ``{name: tensor or array}`` of a ``.pth``/``.ckpt`` or ``.npz`` file (no renaming yet).

    PyTorch wrappers (``state_dict``, ``params``, ``model``, ``params_ema``…) and the ``module.`` prefix are
    removed. An ``.npz`` gives ``{member: array}``; a TensorLayer ``params`` list becomes ``{"params/0": …}``.
    """
    p = Path(path)
    kind = file_kind(p)
    if kind == "npz":
        return _read_npz(p)
    if kind != "torch":
        raise HDRBenchError(f"is a {kind} file, not an official release file", p)
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # weights_only refuses anything but tensors and plain containers
        raise HDRBenchError(f"cannot be read as a weights-only PyTorch file: {load_failure(exc)}", p) from None
    for key in ("state_dict", "params", "params_ema", "model", "net", "netG", "generator"):
        if isinstance(obj, Mapping) and isinstance(obj.get(key), Mapping) and not _is_state(obj):
            obj = obj[key]
            break
    if not isinstance(obj, Mapping) or not _is_state(obj):
        raise HDRBenchError(f"holds no state_dict of tensors (expected {EXPECTED})", p)
    return {k.removeprefix("module."): v for k, v in obj.items()}


#: What hdrbench reads from a PyTorch file, for error messages.
READS = ("hdrbench reads only tensors, numbers, strings and plain containers from a PyTorch file and never runs "
         "code stored in it (torch.load with weights_only=True); save the bare state_dict where the file was made "
         "(torch.save(model.state_dict(), path)) or convert the weights to .safetensors")


def load_failure(exc: BaseException) -> str:
    """Why ``torch.load(..., weights_only=True)`` refused a file, in one short phrase of hdrbench's own.

    torch's message goes on to advise loading with ``weights_only=False``, which would run code from the file;
    hdrbench never quotes that advice. A refused pickled object is named with :data:`READS`; other failures
    (a damaged archive) keep their first sentence.
    """
    text = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).split())
    refused = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
    if refused:
        return f"it holds a pickled '{refused.group(1)}' object besides tensors; {READS}"
    if "weights_only" in text or "weights only" in text.lower():
        return f"it holds pickled objects besides tensors; {READS}"
    first = re.split(r"(?<=\.)\s", text, maxsplit=1)[0] if text else type(exc).__name__
    return first[:200]


def _is_state(obj: Mapping) -> bool:
    return bool(obj) and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())


def _read_npz(p: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        with np.load(p, allow_pickle=False) as z:
            names = list(z.files)
            for name in names:
                try:
                    out[name] = z[name]
                except ValueError:  # an object array: TensorLayer's parameter list
                    with zipfile.ZipFile(p) as zf, zf.open(f"{name}.npy") as f:
                        arrays = _load_array_list(f.read())
                    out.update({f"{name}/{i}": a for i, a in enumerate(arrays)})
    except HDRBenchError as exc:
        raise HDRBenchError(exc.message, p) from None
    except Exception as exc:
        raise HDRBenchError(f"is not a readable NumPy .npz archive ({exc})", p) from None
    return out


class _ArrayUnpickler(pickle.Unpickler):
    """Admits only numpy's array, dtype and scalar constructors (what an object array of arrays needs)."""

    ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise HDRBenchError(f"the .npz contains a pickled '{module}.{name}', which is not an array; refused")
        if name == "_reconstruct":
            return _reconstruct
        if name == "scalar":
            return _scalar
        return getattr(np, name)


def _reconstruct(cls: type, shape: Any, dtype: Any) -> np.ndarray:
    if cls is not np.ndarray:
        raise HDRBenchError("the .npz pickles an array subclass; refused")
    return np.ndarray.__new__(np.ndarray, shape, dtype)


def _scalar(dtype: np.dtype, data: bytes | None = None) -> Any:
    return np.frombuffer(data or b"", dtype=dtype, count=1)[0] if data else dtype.type()


def _load_array_list(npy_bytes: bytes) -> list[np.ndarray]:
    """Plain numeric arrays from an ``.npy`` member holding an object array (TensorLayer ``params``)."""
    f = io.BytesIO(npy_bytes)
    version = np.lib.format.read_magic(f)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _, dtype = read_header(f)
    if dtype != np.dtype(object):
        raise HDRBenchError(f"unexpected .npy member of dtype {dtype}")
    obj = _ArrayUnpickler(f, encoding="latin1").load()
    items = list(np.asarray(obj, dtype=object).reshape(-1)) if shape else [obj.item()]
    if not all(isinstance(a, np.ndarray) and a.dtype.kind in "fiu" for a in items):
        raise HDRBenchError("the .npz parameter list holds something other than numeric arrays; refused")
    return items


def to_tensor(value: Any) -> torch.Tensor:
    """A float32 (or integer) CPU tensor from an array or tensor."""
    t = value if isinstance(value, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(value))
    return t.float() if t.is_floating_point() else t


def rename(state: Mapping[str, Any], renames: Mapping[str, str]) -> dict[str, torch.Tensor]:
    """``state`` with each key's longest matching prefix of ``renames`` replaced (other keys kept)."""
    ordered = sorted(renames, key=len, reverse=True)
    out = {}
    for key, value in state.items():
        new = key
        for old in ordered:
            if key.startswith(old):
                new = renames[old] + key[len(old):]
                break
        out[new] = to_tensor(value)
    return out


def count_indexed(state: Mapping[str, Any], prefix: str) -> int:
    """How many numbered children ``prefix<i>.`` the keys of ``state`` have (a block count)."""
    return len({k[len(prefix):].split(".", 1)[0] for k in state if k.startswith(prefix)})


def same_names(method_cls: Any, state: Mapping[str, Any], options: dict[str, Any], description: str,
               note: str = "") -> OfficialWeights | None:
    """:class:`OfficialWeights` for a method whose module names follow the official code key for key.

    Returns ``None`` unless the keys of ``state`` are exactly those of ``method_cls``'s network built with
    ``options`` (the options read off the file).
    """
    try:
        keys = set(method_cls(options=dict(options)).build_network().state_dict())
    except HDRBenchError:
        return None
    if set(state) != keys:
        return None
    return OfficialWeights({k: to_tensor(v) for k, v in state.items()}, dict(options), description, note)


__all__ = ["EXPECTED", "OfficialWeights", "count_indexed", "file_kind", "read_official_state", "rename",
           "same_names", "to_tensor"]
