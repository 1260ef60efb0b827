"""Deformable convolution used by DCDR-UNet (v1: offsets only, no modulation mask).

``deform_conv2d(input, offset, weight, bias=None, stride=1, padding=0, dilation=1)`` has the signature,
offset layout and results of :func:`torchvision.ops.deform_conv2d` (mask omitted): ``input`` (N, C, H, W),
``offset`` (N, 2·G·kh·kw, Ho, Wo) with channel ``2(g·kh·kw + k)`` the dy and ``+1`` the dx of tap ``k`` in
offset group ``g``, ``weight`` (Cout, C/groups, kh, kw), ``bias`` (Cout,) → (N, Cout, Ho, Wo).

Two backends:

* ``"fast"`` (default): on CPU float32/float64, the C++/OpenMP kernels of :mod:`dcdr.ops.fast`
  (channels-last gathers + one GEMM; 4–10× faster than torchvision's CPU kernel); on CUDA, and for other
  dtypes, torchvision's kernel. If the C++ kernels cannot be built (no compiler), it falls back to
  torchvision's kernel with one logged warning.
* ``"torchvision"``: always ``torchvision.ops.deform_conv2d``.

Choose with ``set_backend(name)``, the context manager ``use_backend(name)``, or the environment variable
``DCDR_DEFORM_CONV=fast|torchvision`` (read at import).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch

from dcdr.ops import fast, native
from hdrbench.errors import HDRBenchError

BACKENDS = ("fast", "torchvision")
_backend = "fast"


def set_backend(name: str) -> None:
    """Select the implementation used by :func:`deform_conv2d`: ``"fast"`` or ``"torchvision"``."""
    global _backend
    if name not in BACKENDS:
        raise HDRBenchError(f"unknown deformable-convolution backend '{name}' (choose one of: {', '.join(BACKENDS)})")
    _backend = name


def get_backend() -> str:
    """The backend :func:`deform_conv2d` uses now."""
    return _backend


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Temporarily select a backend (``with use_backend("torchvision"): ...``)."""
    previous = get_backend()
    set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)


def fast_available() -> bool:
    """Whether the C++ kernels are built and loaded (building them on first call)."""
    return native.load() is not None


def deform_conv2d(input: torch.Tensor, offset: torch.Tensor, weight: torch.Tensor,
                  bias: torch.Tensor | None = None, stride: int | tuple[int, int] = 1,
                  padding: int | tuple[int, int] = 0, dilation: int | tuple[int, int] = 1) -> torch.Tensor:
    """Deformable convolution v1 with torchvision's semantics (see the module docstring for shapes)."""
    tensors = [input, offset, weight] + ([bias] if bias is not None else [])
    on_cpu = all(t.device.type == "cpu" for t in tensors)
    same_dtype = all(t.dtype == input.dtype for t in tensors) and input.dtype in (torch.float32, torch.float64)
    lib = native.load() if (_backend == "fast" and on_cpu and same_dtype) else None
    if lib is None:
        import torchvision  # here, not at import: torchvision costs ~2 s of start-up (hdrbench list)

        return torchvision.ops.deform_conv2d(input, offset, weight, bias, stride=stride, padding=padding,
                                             dilation=dilation)
    stride, padding, dilation = fast._pair(stride, "stride"), fast._pair(padding, "padding"), \
        fast._pair(dilation, "dilation")
    geom = fast.geometry(input, offset, weight, stride, padding, dilation)
    if bias is not None and bias.shape != (weight.shape[0],):
        raise HDRBenchError(f"deform_conv2d: bias shape {tuple(bias.shape)} must be ({weight.shape[0]},)")
    return fast.DeformConv2dFunction.apply(input, offset, weight, bias, geom, lib)


_env = os.environ.get("DCDR_DEFORM_CONV")
if _env:
    set_backend(_env.strip().lower())
