"""The fast CPU deformable convolution: channels-last bilinear gathers (C++/OpenMP) feeding one GEMM.

Forward, per image and per chunk of output pixels: the C++ kernel samples the K = kh·kw taps of all C
channels into ``col`` (P, K·C) (the four bilinear neighbours of a tap are contiguous runs of C values in
the channels-last input), then ``out[:, chunk] = W (Cout, K·C) @ colᵀ`` is one BLAS call. Backward,
per chunk: ``gcol = goutᵀ @ W`` (BLAS), one C++ pass recomputes ``col`` and forms the offset gradient
(the derivative of the bilinear weights), a second scatters ``gcol`` into the input gradient with the
bilinear weights (threads own disjoint input columns, so no atomics and a deterministic sum), and
``gW += gout @ col`` (BLAS). Chunks bound the extra memory to a few MiB whatever the image size.

Float32 and float64 CPU tensors only; :func:`dcdr.ops.deform_conv2d` routes everything else to
torchvision. Same semantics as ``torchvision.ops.deform_conv2d`` without mask, groups and offset groups
included.
"""

from __future__ import annotations

import ctypes

import torch
from torch.autograd.function import once_differentiable

from hdrbench.errors import HDRBenchError

#: Target size of the per-chunk sample matrix ``col``; small enough to stay in the L2/L3 cache.
CHUNK_BYTES = 1 << 20


def _pair(value: int | tuple[int, int], name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(int(v) for v in value)
    if len(pair) != 2:
        raise HDRBenchError(f"deform_conv2d: {name} must be an int or a pair of ints, got {value!r}")
    return pair  # type: ignore[return-value]


def geometry(input: torch.Tensor, offset: torch.Tensor, weight: torch.Tensor,
             stride: tuple[int, int], padding: tuple[int, int], dilation: tuple[int, int]) -> list[int]:
    """``[H, W, C, Ho, Wo, kh, kw, sh, sw, ph, pw, dh, dw, OG, WG]``, after checking every shape."""
    if input.dim() != 4 or offset.dim() != 4 or weight.dim() != 4:
        raise HDRBenchError("deform_conv2d: input, offset and weight must be 4-D (N, C, H, W) tensors")
    n, c, h, w = input.shape
    cout, cg, kh, kw = weight.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    if min(sh, sw, dh, dw) < 1 or min(ph, pw) < 0:
        raise HDRBenchError("deform_conv2d: stride and dilation must be >= 1 and padding >= 0")
    if cg == 0 or c % cg or cout % (c // cg):
        raise HDRBenchError(f"deform_conv2d: weight {tuple(weight.shape)} does not fit {c} input channels "
                            "(in_channels must be a multiple of weight.shape[1], out_channels of the groups)")
    k2 = 2 * kh * kw
    og = offset.shape[1] // k2
    if offset.shape[1] % k2 or og == 0 or c % og:
        raise HDRBenchError(f"deform_conv2d: offset has {offset.shape[1]} channels; expected 2*kh*kw*G = "
                            f"{k2}*G with G dividing the {c} input channels")
    ho = (h + 2 * ph - (dh * (kh - 1) + 1)) // sh + 1
    wo = (w + 2 * pw - (dw * (kw - 1) + 1)) // sw + 1
    if ho < 1 or wo < 1:
        raise HDRBenchError(f"deform_conv2d: input {h}x{w} is too small for a {kh}x{kw} kernel with this "
                            "padding and dilation")
    if offset.shape[0] != n or tuple(offset.shape[2:]) != (ho, wo):
        raise HDRBenchError(f"deform_conv2d: offset shape {tuple(offset.shape)} must be ({n}, {offset.shape[1]}, "
                            f"{ho}, {wo}) for this input, kernel, stride, padding and dilation")
    return [h, w, c, ho, wo, kh, kw, sh, sw, ph, pw, dh, dw, og, c // cg]


def _ptr(t: torch.Tensor | None) -> int | None:
    return None if t is None else t.data_ptr()


def _chunk(pixels: int, kc: int, itemsize: int) -> int:
    """Output pixels per chunk: the chunk's sample matrix ``col`` (chunk, kc) takes about CHUNK_BYTES."""
    return max(1, min(pixels, CHUNK_BYTES // (kc * itemsize)))


class DeformConv2dFunction(torch.autograd.Function):
    """Autograd function of the fast CPU path; see the module docstring for the algorithm."""

    @staticmethod
    def forward(ctx, input, offset, weight, bias, geom, lib):  # noqa: D102
        h, w, c, ho, wo, kh, kw, *_, og, wg = geom
        n, cout = input.shape[0], weight.shape[0]
        nhwc = _is_channels_last(input)
        if nhwc:  # output and gradients stay channels-last, as conv2d's do
            x = input.permute(0, 2, 3, 1)  # (N, H, W, C), no copy
            xl = x
            out = input.new_empty((n, ho, wo, cout)).permute(0, 3, 1, 2)
        else:  # the kernel copies the NCHW input channels-last into xl
            x = input.contiguous()
            xl = input.new_empty((n, h, w, c))
            out = input.new_empty((n, cout, ho, wo))
        off = offset.contiguous()
        wmat = weight.permute(0, 2, 3, 1).reshape(cout, -1).contiguous()  # columns (tap, channel) per group
        full = _full_geometry(geom, n, cout, x.element_size(), nhwc)
        b = None if bias is None else bias.contiguous()
        getattr(lib, f"dcn_forward_{_suffix(x)}")(full, x.data_ptr(), xl.data_ptr(), off.data_ptr(),
                                                  wmat.data_ptr(), _ptr(b), out.data_ptr(), torch.get_num_threads())
        ctx.save_for_backward(xl, off, wmat)
        ctx.geom, ctx.lib, ctx.has_bias, ctx.nhwc = geom, lib, bias is not None, nhwc
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):  # noqa: D102
        xl, off, wmat = ctx.saved_tensors
        h, w, c, ho, wo, kh, kw, *_, og, wg = ctx.geom
        n, cout, nhwc = xl.shape[0], wmat.shape[0], ctx.nhwc
        need_in, need_off, need_w, need_b = ctx.needs_input_grad[:4]
        if nhwc:
            gout = grad_out.contiguous(memory_format=torch.channels_last)
            gin = xl.new_empty((n, h, w, c)).permute(0, 3, 1, 2) if need_in else None
        else:
            gout = grad_out.contiguous()
            gin = xl.new_empty((n, c, h, w)) if need_in else None
        goff = torch.empty_like(off) if need_off else None
        gw = torch.empty_like(wmat) if need_w else None
        if need_in or need_off or need_w:
            full = _full_geometry(ctx.geom, n, cout, xl.element_size(), nhwc)
            kernel = getattr(ctx.lib, f"dcn_backward_{_suffix(xl)}")
            failed = kernel(full, xl.data_ptr(), off.data_ptr(), wmat.data_ptr(), gout.data_ptr(), _ptr(gin),
                            _ptr(goff), _ptr(gw), torch.get_num_threads())
            if failed:
                raise MemoryError(f"deform_conv2d backward: out of memory for per-thread {h}x{w}x{c} gradient images")
        grad_input = gin
        grad_weight = gw.view(cout, kh, kw, -1).permute(0, 3, 1, 2).contiguous() if gw is not None else None
        grad_bias = grad_out.sum((0, 2, 3)) if (need_b and ctx.has_bias) else None
        return grad_input, goff, grad_weight, grad_bias, None, None


def _suffix(t: torch.Tensor) -> str:
    return "f32" if t.dtype == torch.float32 else "f64"


def _is_channels_last(t: torch.Tensor) -> bool:
    return t.is_contiguous(memory_format=torch.channels_last) and not t.is_contiguous()


def _full_geometry(geom: list[int], n: int, cout: int, itemsize: int, nhwc: bool) -> ctypes.Array:
    """The kernel's ``geom`` array: batch, ``geometry()``'s fields, output channels, chunk size, layout."""
    h, w, c, ho, wo, kh, kw = geom[:7]
    values = [n, *geom, cout, _chunk(ho * wo, kh * kw * c, itemsize), int(nhwc)]
    return (ctypes.c_int64 * len(values))(*values)
