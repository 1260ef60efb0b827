"""Deformable convolution used by DCDR-UNet (v1: offsets only, no modulation mask).

``deform_conv2d(input, offset, weight, bias=None, stride=1, padding=0, dilation=1)`` has the signature,
offset layout and results of :func:`torchvision.ops.deform_conv2d` (mask omitted): ``input`` (N, C, H, W),
``offset`` (N, 2·G·kh·kw, Ho, Wo) with channel ``2(g·kh·kw + k)`` the dy and ``+1`` the dx of tap ``k`` in
offset group ``g``, ``weight`` (Cout, C/groups, kh, kw), ``bias`` (Cout,) → (N, Cout, Ho, Wo).

Backends:

* ``"fast"`` (default): on CPU float32/float64, the C++/OpenMP kernels of :mod:`dcdr.ops.fast`
  (channels-last gathers + one GEMM; 4–10× faster than torchvision's CPU kernel); on CUDA float32/bfloat16/
  float16 with ``groups=1``, the Triton kernels of :mod:`dcdr.ops.triton_dcn` (under CUDA autocast they run in
  the autocast dtype; torchvision's kernel would run in float32); everything else, torchvision's kernel. If the
  C++ kernels cannot be built (no compiler), or Triton is missing or fails on its first call, it falls back to
  torchvision's kernel with one logged warning.
* ``"triton"``: always the Triton kernels (on CPU only under ``TRITON_INTERPRET=1``: the tests' route).
* ``"torchvision"``: always ``torchvision.ops.deform_conv2d``.

Choose with ``set_backend(name)``, the context manager ``use_backend(name)``, or the environment variable
``DCDR_DEFORM_CONV=fast|triton|torchvision`` (read at import).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import Iterator

import torch
import torchvision

from dcdr.ops import fast, native
from hdrbench.errors import HDRBenchError

log = logging.getLogger(__name__)

BACKENDS = ("fast", "triton", "torchvision")
_backend = "fast"
_triton_failed = False


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


@functools.cache
def _triton_module():
    """:mod:`dcdr.ops.triton_dcn`, or ``None`` when Triton cannot be imported."""
    try:
        from dcdr.ops import triton_dcn
    except Exception as exc:  # ImportError, or a Triton that fails to initialise
        log.warning("dcdr.ops: Triton unavailable (%s); CUDA deformable convolution uses torchvision's kernel", exc)
        return None
    return triton_dcn


def triton_available() -> bool:
    """Whether the Triton kernels can be used (Triton importable and not failed before)."""
    return not _triton_failed and _triton_module() is not None


def _via_triton(input, offset, weight, bias, stride, padding, dilation) -> torch.Tensor | None:
    """The Triton path for CUDA tensors (autocast: input and weight in the autocast dtype); ``None`` if it
    does not apply here."""
    global _triton_failed
    mod = _triton_module() if not _triton_failed else None
    if mod is None:
        return None
    if input.is_cuda and torch.is_autocast_enabled("cuda"):
        dt = torch.get_autocast_dtype("cuda")
        input, weight = input.to(dt), weight.to(dt)
    if not mod.supported(input, weight):
        return None
    pairs = fast._pair(stride, "stride"), fast._pair(padding, "padding"), fast._pair(dilation, "dilation")
    try:
        with torch.autocast("cuda", enabled=False):
            return mod.deform_conv2d(input, offset, weight, bias, *pairs)
    except HDRBenchError:
        raise
    except Exception as exc:
        if _backend == "triton":
            raise
        _triton_failed = True
        log.warning("dcdr.ops: the Triton deformable convolution failed (%s: %s); using torchvision's kernel",
                    type(exc).__name__, exc)
        return None


def deform_conv2d(input: torch.Tensor, offset: torch.Tensor, weight: torch.Tensor,
                  bias: torch.Tensor | None = None, stride: int | tuple[int, int] = 1,
                  padding: int | tuple[int, int] = 0, dilation: int | tuple[int, int] = 1) -> torch.Tensor:
    """Deformable convolution v1 with torchvision's semantics (see the module docstring for shapes)."""
    tensors = [input, offset, weight] + ([bias] if bias is not None else [])
    if _backend == "triton" or (_backend == "fast" and input.is_cuda):
        out = _via_triton(input, offset, weight, bias, stride, padding, dilation)
        if out is not None:
            return out
        if _backend == "triton":
            raise HDRBenchError("deform_conv2d: the Triton backend needs Triton (pip install triton), groups=1 "
                                "and float32/bfloat16/float16 input and weight of one dtype")
    on_cpu = all(t.device.type == "cpu" for t in tensors)
    same_dtype = all(t.dtype == input.dtype for t in tensors) and input.dtype in (torch.float32, torch.float64)
    lib = native.load() if (_backend == "fast" and on_cpu and same_dtype) else None
    if lib is None:
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
