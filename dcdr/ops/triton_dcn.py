"""Deformable convolution v1 for CUDA in Triton: fused bilinear gathers feeding tensor-core matrix products.

Same semantics as ``torchvision.ops.deform_conv2d`` without mask (bilinear sampling, zero outside the image,
offset channel ``2(g·kh·kw + k)`` = dy and ``+1`` = dx of tap ``k`` in offset group ``g``), for ``groups=1``
and any number of offset groups. Three kernels, none materialising the ``(N·Ho·Wo, kh·kw·C)`` column matrix:

* forward: one program per tile of ``BP`` output pixels × ``BN`` output channels; for each tap and channel
  block it samples the channels-last input at the tap's deformed position into a ``(BP, BC)`` tile and
  accumulates ``tile @ W[k]`` (``tl.dot``) in float32;
* input + offset gradient: one program per pixel tile, tap and offset group; ``gcol = grad_out @ W[k]ᵀ`` per
  channel block, scattered to the 4 bilinear neighbours with float32 atomics (the input gradient) and
  contracted with the bilinear weights' derivative (the offset gradient, stored without atomics);
* weight gradient: ``Σ_p col[p]ᵀ grad_out[p]``, split over pixel ranges into float32 partial sums that are
  added in a fixed order (deterministic).

Dtypes: float32 (``tl.dot`` in IEEE fp32, or TF32 where ``torch.set_float32_matmul_precision("high")`` /
``torch.backends.cuda.matmul.allow_tf32`` allows it for matrix products), bfloat16 and float16 (products on
tensor cores, float32 accumulation, positions and bilinear weights always in float32; the offset may stay
float32 while input and weight are half). The kernels run on the CPU through Triton's interpreter
(``TRITON_INTERPRET=1`` set before triton is first imported), which is how the tests check them without a GPU.
"""

from __future__ import annotations

import os

import torch
import triton
import triton.language as tl

from dcdr.ops.fast import geometry

BLOCK_P, BLOCK_N, BLOCK_C = 64, 64, 32
#: Weight-gradient programs per (tap, channel block, output block) split the pixels this many ways at most.
MAX_SPLIT = 64


@triton.jit
def _mma(a, b, UPCAST: tl.constexpr, IN_PREC: tl.constexpr):
    """``a @ b`` in float32 accumulation, operands in ``b``'s dtype (rounded there). ``UPCAST``: the products in
    float32 of those rounded operands (Triton's interpreter cannot multiply bfloat16 matrices)."""
    a = a.to(b.dtype)
    if UPCAST:
        return tl.dot(a.to(tl.float32), b.to(tl.float32), input_precision="ieee")
    return tl.dot(a, b, input_precision=IN_PREC)


@triton.jit
def _pixels(p0, stop, Wo, HoWo, BP: tl.constexpr):
    """Output pixels ``p0 … p0+BP-1`` of the flattened ``(N, Ho, Wo)`` grid: mask (``< stop``), image index
    (int64), offset within the image, row, column."""
    p = p0 + tl.arange(0, BP)
    r = p % HoWo
    return p < stop, (p // HoWo).to(tl.int64), r, r // Wo, r % Wo


@triton.jit
def _positions(off_ptr, off_base, ho, wo, k, g, K, HoWo, KW: tl.constexpr, SH, SW, PH, PW, DH, DW, mask):
    """Deformed sampling position (float32) of tap ``k`` in offset group ``g`` (per pixel or per pixel and
    channel, following the shapes of ``off_base`` and ``g``)."""
    i = k // KW
    j = k % KW
    ch = 2 * (g * K + k)
    dy = tl.load(off_ptr + off_base + ch * HoWo, mask=mask, other=0.0).to(tl.float32)
    dx = tl.load(off_ptr + off_base + (ch + 1) * HoWo, mask=mask, other=0.0).to(tl.float32)
    h_im = (ho * SH - PH + i * DH).to(tl.float32) + dy
    w_im = (wo * SW - PW + j * DW).to(tl.float32) + dx
    return h_im, w_im


@triton.jit
def _corners(h_im, w_im, H, W):
    """Integer corners (clamped to [-2, size + 1], so far-away positions stay invalid without overflow),
    bilinear fractions and the validity of each corner row/column.

    No separate "inside the image" test: a position at or beyond -1 or the size gets zero weight on every
    valid corner, which is torchvision's ``h <= -1 || h >= H`` rule; and like torchvision's offset gradient,
    the bilinear derivative at exactly -1 still sees the corner at 0."""
    h0f = tl.floor(h_im)
    w0f = tl.floor(w_im)
    h0 = tl.minimum(tl.maximum(h0f, -2.0), H + 1.0).to(tl.int32)
    w0 = tl.minimum(tl.maximum(w0f, -2.0), W + 1.0).to(tl.int32)
    lh = h_im - h0f
    lw = w_im - w0f
    ok_h0 = (h0 >= 0) & (h0 <= H - 1)
    ok_h1 = (h0 + 1 >= 0) & (h0 + 1 <= H - 1)
    ok_w0 = (w0 >= 0) & (w0 <= W - 1)
    ok_w1 = (w0 + 1 >= 0) & (w0 + 1 <= W - 1)
    return h0, w0, lh, lw, ok_h0, ok_h1, ok_w0, ok_w1


@triton.jit
def _gather4(x_ptr, img, h0, w0, c, W, C, m, ok_h0, ok_h1, ok_w0, ok_w1):
    """The four neighbours ``(h0, w0), (h0, w0+1), (h0+1, w0), (h0+1, w0+1)`` (float32, 0 where invalid)."""
    a = img + (h0 * W + w0).to(tl.int64) * C + c
    v00 = tl.load(x_ptr + a, mask=m & ok_h0 & ok_w0, other=0.0).to(tl.float32)
    v01 = tl.load(x_ptr + a + C, mask=m & ok_h0 & ok_w1, other=0.0).to(tl.float32)
    v10 = tl.load(x_ptr + a + W * C, mask=m & ok_h1 & ok_w0, other=0.0).to(tl.float32)
    v11 = tl.load(x_ptr + a + W * C + C, mask=m & ok_h1 & ok_w1, other=0.0).to(tl.float32)
    return v00, v01, v10, v11


@triton.jit
def _sample(x_ptr, off_ptr, n64, r, ho, wo, mp, c, mc, k, C, H, W, K, Cg, HoWo,
            KW: tl.constexpr, SH, SW, PH, PW, DH, DW, ONE_GROUP: tl.constexpr):
    """``(BP, BC)`` float32 bilinear samples of tap ``k`` for pixels ``(n, r)`` and channels ``c``."""
    off_base = n64 * (2 * K * (C // Cg) * HoWo) + r
    m = mp[:, None] & mc[None, :]
    if ONE_GROUP:
        h_im, w_im = _positions(off_ptr, off_base, ho, wo, k, 0, K, HoWo, KW, SH, SW, PH, PW, DH, DW, mp)
        h_im = h_im[:, None]
        w_im = w_im[:, None]
    else:
        g = c // Cg
        h_im, w_im = _positions(off_ptr, off_base[:, None], ho[:, None], wo[:, None], k, g[None, :], K, HoWo,
                                KW, SH, SW, PH, PW, DH, DW, m)
    h0, w0, lh, lw, ok_h0, ok_h1, ok_w0, ok_w1 = _corners(h_im, w_im, H, W)
    img = n64[:, None] * H * W * C
    v00, v01, v10, v11 = _gather4(x_ptr, img, h0, w0, c[None, :], W, C, m, ok_h0, ok_h1, ok_w0, ok_w1)
    hh = 1.0 - lh
    hw = 1.0 - lw
    return hh * hw * v00 + hh * lw * v01 + lh * hw * v10 + lh * lw * v11


@triton.jit
def _forward_kernel(x_ptr, off_ptr, wt_ptr, b_ptr, out_ptr, NP, C, H, W, Cout, Ho, Wo, Cg,
                    KH: tl.constexpr, KW: tl.constexpr, SH, SW, PH, PW, DH, DW,
                    HAS_BIAS: tl.constexpr, ONE_GROUP: tl.constexpr, IN_PREC: tl.constexpr, UPCAST: tl.constexpr,
                    BP: tl.constexpr, BN: tl.constexpr, BC: tl.constexpr):
    HoWo = Ho * Wo
    K = KH * KW
    mp, n64, r, ho, wo = _pixels(tl.program_id(0) * BP, NP, Wo, HoWo, BP)
    o = tl.program_id(1) * BN + tl.arange(0, BN)
    mo = o < Cout
    acc = tl.zeros((BP, BN), dtype=tl.float32)
    for k in range(0, K):
        for c0 in range(0, C, BC):
            c = c0 + tl.arange(0, BC)
            mc = c < C
            col = _sample(x_ptr, off_ptr, n64, r, ho, wo, mp, c, mc, k, C, H, W, K, Cg, HoWo, KW, SH, SW, PH, PW,
                          DH, DW, ONE_GROUP)
            wk = tl.load(wt_ptr + (k * C + c[:, None]).to(tl.int64) * Cout + o[None, :],
                         mask=mc[:, None] & mo[None, :], other=0.0)
            acc += _mma(col, wk, UPCAST, IN_PREC)
    if HAS_BIAS:
        acc += tl.load(b_ptr + o, mask=mo, other=0.0).to(tl.float32)[None, :]
    dst = out_ptr + n64[:, None] * Cout * HoWo + o[None, :].to(tl.int64) * HoWo + r[:, None]
    tl.store(dst, acc.to(out_ptr.dtype.element_ty), mask=mp[:, None] & mo[None, :])


@triton.jit
def _input_offset_grad_kernel(x_ptr, off_ptr, wt_ptr, gout_ptr, gin_ptr, goff_ptr, NP, C, H, W, Cout, Ho, Wo,
                              Cg, KH: tl.constexpr, KW: tl.constexpr, SH, SW, PH, PW, DH, DW,
                              NEED_IN: tl.constexpr, NEED_OFF: tl.constexpr, IN_PREC: tl.constexpr,
                              UPCAST: tl.constexpr,
                              BP: tl.constexpr, BO: tl.constexpr, BC: tl.constexpr):
    HoWo = Ho * Wo
    K = KH * KW
    G = C // Cg
    mp, n64, r, ho, wo = _pixels(tl.program_id(0) * BP, NP, Wo, HoWo, BP)
    g = tl.program_id(1) // K
    k = tl.program_id(1) % K
    off_base = n64 * (2 * K * G * HoWo) + r
    h_im, w_im = _positions(off_ptr, off_base, ho, wo, k, g, K, HoWo, KW, SH, SW, PH, PW, DH, DW, mp)
    h0, w0, lh, lw, ok_h0, ok_h1, ok_w0, ok_w1 = _corners(h_im[:, None], w_im[:, None], H, W)
    hh = 1.0 - lh
    hw = 1.0 - lw
    img = n64[:, None] * H * W * C
    gy = tl.zeros((BP,), dtype=tl.float32)
    gx = tl.zeros((BP,), dtype=tl.float32)
    for c0 in range(g * Cg, (g + 1) * Cg, BC):
        c = c0 + tl.arange(0, BC)
        mc = c < (g + 1) * Cg
        gcol = tl.zeros((BP, BC), dtype=tl.float32)
        for o0 in range(0, Cout, BO):
            o = o0 + tl.arange(0, BO)
            mo = o < Cout
            go = tl.load(gout_ptr + n64[:, None] * Cout * HoWo + o[None, :].to(tl.int64) * HoWo + r[:, None],
                         mask=mp[:, None] & mo[None, :], other=0.0)
            wk = tl.load(wt_ptr + (k * C + c[None, :]).to(tl.int64) * Cout + o[:, None],
                         mask=mo[:, None] & mc[None, :], other=0.0)
            gcol += _mma(go, wk, UPCAST, IN_PREC)
        m = mp[:, None] & mc[None, :]
        if NEED_OFF:
            v00, v01, v10, v11 = _gather4(x_ptr, img, h0, w0, c[None, :], W, C, m, ok_h0, ok_h1, ok_w0, ok_w1)
            gy += tl.sum(gcol * (hw * (v10 - v00) + lw * (v11 - v01)), axis=1)
            gx += tl.sum(gcol * (hh * (v01 - v00) + lh * (v11 - v10)), axis=1)
        if NEED_IN:
            a = gin_ptr + img + (h0 * W + w0).to(tl.int64) * C + c[None, :]
            tl.atomic_add(a, gcol * hh * hw, mask=m & ok_h0 & ok_w0)
            tl.atomic_add(a + C, gcol * hh * lw, mask=m & ok_h0 & ok_w1)
            tl.atomic_add(a + W * C, gcol * lh * hw, mask=m & ok_h1 & ok_w0)
            tl.atomic_add(a + W * C + C, gcol * lh * lw, mask=m & ok_h1 & ok_w1)
    if NEED_OFF:
        ch = 2 * (g * K + k)
        tl.store(goff_ptr + off_base + ch * HoWo, gy.to(goff_ptr.dtype.element_ty), mask=mp)
        tl.store(goff_ptr + off_base + (ch + 1) * HoWo, gx.to(goff_ptr.dtype.element_ty), mask=mp)


@triton.jit
def _weight_grad_kernel(x_ptr, off_ptr, gout_ptr, gw_ptr, NP, C, H, W, Cout, Ho, Wo, Cg, PER_SPLIT,
                        KH: tl.constexpr, KW: tl.constexpr, SH, SW, PH, PW, DH, DW,
                        ONE_GROUP: tl.constexpr, IN_PREC: tl.constexpr, UPCAST: tl.constexpr,
                        BP: tl.constexpr, BO: tl.constexpr, BC: tl.constexpr):
    HoWo = Ho * Wo
    K = KH * KW
    n_cb = tl.cdiv(C, BC)
    k = tl.program_id(0) // n_cb
    c = (tl.program_id(0) % n_cb) * BC + tl.arange(0, BC)
    mc = c < C
    o = tl.program_id(1) * BO + tl.arange(0, BO)
    mo = o < Cout
    split = tl.program_id(2)
    stop = tl.minimum((split + 1) * PER_SPLIT, NP)
    acc = tl.zeros((BC, BO), dtype=tl.float32)
    for p0 in range(split * PER_SPLIT, stop, BP):
        mp, n64, r, ho, wo = _pixels(p0, stop, Wo, HoWo, BP)
        col = _sample(x_ptr, off_ptr, n64, r, ho, wo, mp, c, mc, k, C, H, W, K, Cg, HoWo, KW, SH, SW, PH, PW,
                      DH, DW, ONE_GROUP)
        go = tl.load(gout_ptr + n64[:, None] * Cout * HoWo + o[None, :].to(tl.int64) * HoWo + r[:, None],
                     mask=mp[:, None] & mo[None, :], other=0.0)
        acc += _mma(tl.trans(col.to(go.dtype)), go, UPCAST, IN_PREC)
    dst = gw_ptr + split.to(tl.int64) * K * C * Cout + (k * C + c[:, None]).to(tl.int64) * Cout + o[None, :]
    tl.store(dst, acc, mask=mc[:, None] & mo[None, :])


def _precision(dtype: torch.dtype) -> dict[str, object]:
    """The kernels' ``IN_PREC`` and ``UPCAST`` for operands of ``dtype``."""
    knobs = getattr(triton, "knobs", None)
    interpreted = bool(knobs.runtime.interpret) if knobs is not None else \
        os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")
    return {"IN_PREC": "tf32" if dtype != torch.float32 or torch.get_float32_matmul_precision() != "highest"
            else "ieee",
            "UPCAST": interpreted and dtype == torch.bfloat16}


def supported(input: torch.Tensor, weight: torch.Tensor) -> bool:
    """Whether these kernels handle the call (``groups=1``; float32, bfloat16, float16)."""
    return (input.dtype in (torch.float32, torch.bfloat16, torch.float16) and weight.dtype == input.dtype
            and weight.dim() == 4 and input.dim() == 4 and weight.shape[1] == input.shape[1])


def _channels_last(t: torch.Tensor) -> torch.Tensor:
    """``(N, C, H, W)`` → contiguous ``(N, H, W, C)`` (free for a channels-last tensor)."""
    return t.permute(0, 2, 3, 1).contiguous()


class TritonDeformConv2d(torch.autograd.Function):
    """Autograd function over the three kernels (see the module docstring)."""

    @staticmethod
    def forward(ctx, input, offset, weight, bias, geom):  # noqa: D102
        h, w, c, ho, wo, kh, kw, sh, sw, ph, pw, dh, dw, og, _ = geom
        n, cout = input.shape[0], weight.shape[0]
        x = _channels_last(input)
        off = offset.contiguous()
        wt = weight.permute(2, 3, 1, 0).reshape(kh * kw, c, cout).contiguous()  # (K, C, Cout)
        out = input.new_empty((n, cout, ho, wo))
        np_ = n * ho * wo
        if np_ and cout:
            b = bias.contiguous() if bias is not None else wt
            grid = (triton.cdiv(np_, BLOCK_P), triton.cdiv(cout, BLOCK_N))
            _forward_kernel[grid](x, off, wt, b, out, np_, c, h, w, cout, ho, wo, c // og, kh, kw, sh, sw, ph, pw,
                                  dh, dw, HAS_BIAS=bias is not None, ONE_GROUP=og == 1,
                                  **_precision(x.dtype), BP=BLOCK_P, BN=BLOCK_N, BC=BLOCK_C)
        # The caller's tensors are kept (autograd keeps them anyway), not the channels-last copies: the copies
        # are remade in the backward pass (one transpose each), which saves one activation-sized buffer per call.
        ctx.save_for_backward(input, offset, weight)
        ctx.geom, ctx.has_bias = geom, bias is not None
        return out

    @staticmethod
    def backward(ctx, grad_out):  # noqa: D102
        input, offset, weight = ctx.saved_tensors
        h, w, c, ho, wo, kh, kw, sh, sw, ph, pw, dh, dw, og, _ = ctx.geom
        x, off = _channels_last(input), offset.contiguous()
        wt = weight.permute(2, 3, 1, 0).reshape(kh * kw, c, weight.shape[0]).contiguous()  # (K, C, Cout)
        n, cout, k = x.shape[0], wt.shape[2], kh * kw
        need_in, need_off, need_w, need_b = ctx.needs_input_grad[:4]
        gout = grad_out.contiguous().to(x.dtype)
        np_ = n * ho * wo
        prec = _precision(x.dtype)
        geo = (np_, c, h, w, cout, ho, wo, c // og, kh, kw, sh, sw, ph, pw, dh, dw)
        gin = torch.zeros((n, h, w, c), dtype=torch.float32, device=x.device) if need_in else None
        goff = torch.zeros_like(off) if need_off else None
        if (need_in or need_off) and np_:
            grid = (triton.cdiv(np_, BLOCK_P), og * k)
            _input_offset_grad_kernel[grid](x, off, wt, gout, gin if need_in else x, goff if need_off else off,
                                            *geo, NEED_IN=bool(need_in), NEED_OFF=bool(need_off), **prec,
                                            BP=BLOCK_P, BO=BLOCK_N, BC=BLOCK_C)
        gweight = None
        if need_w:
            tiles = k * triton.cdiv(c, BLOCK_C) * triton.cdiv(cout, BLOCK_N)
            split = max(1, min(MAX_SPLIT, triton.cdiv(np_, BLOCK_P), triton.cdiv(1024, tiles)))
            per_split = triton.cdiv(triton.cdiv(np_, split), BLOCK_P) * BLOCK_P
            split = max(1, triton.cdiv(np_, per_split))
            part = torch.zeros((split, k, c, cout), dtype=torch.float32, device=x.device)
            if np_:
                grid = (k * triton.cdiv(c, BLOCK_C), triton.cdiv(cout, BLOCK_N), split)
                _weight_grad_kernel[grid](x, off, gout, part, *geo[:8], per_split, *geo[8:], ONE_GROUP=og == 1,
                                          **prec, BP=BLOCK_P, BO=BLOCK_N, BC=BLOCK_C)
            gweight = part.sum(0).reshape(kh, kw, c, cout).permute(3, 2, 0, 1).contiguous().to(wt.dtype)
        gbias = grad_out.sum((0, 2, 3)) if (need_b and ctx.has_bias) else None
        gin_nchw = gin.permute(0, 3, 1, 2).to(x.dtype).contiguous() if gin is not None else None
        return gin_nchw, goff, gweight, gbias, None


def deform_conv2d(input: torch.Tensor, offset: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                  stride: tuple[int, int], padding: tuple[int, int], dilation: tuple[int, int]) -> torch.Tensor:
    """Deformable convolution through the Triton kernels (shapes checked as :func:`dcdr.ops.fast.geometry`)."""
    geom = geometry(input, offset, weight, stride, padding, dilation)
    return TritonDeformConv2d.apply(input, offset, weight, bias, geom)
