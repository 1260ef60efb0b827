"""The Triton deformable convolution against torchvision's kernel (an independent implementation).

Without a GPU the kernels run in Triton's interpreter (TRITON_INTERPRET=1, set by tests/conftest.py before
anything imports triton), on tiny shapes. fp32: values and all four gradients within 1e-4 of torchvision in float64;
bf16/fp16: within the rounding of those formats. On CUDA (tests/test_cuda.py) the same kernels run compiled.
"""

from __future__ import annotations

import os

import pytest
import torch

triton = pytest.importorskip("triton", reason="Triton is not installed")
if not torch.cuda.is_available() and os.environ.get("TRITON_INTERPRET") != "1":
    pytest.skip("no GPU and TRITON_INTERPRET unset (tests/conftest.py sets it before triton is imported)",
                allow_module_level=True)
torchvision = pytest.importorskip("torchvision")

import dcdr.ops as ops  # noqa: E402
from dcdr.ops import triton_dcn  # noqa: E402
from hdrbench.errors import HDRBenchError  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


@pytest.fixture(autouse=True)
def _ieee_fp32():
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    yield
    torch.set_float32_matmul_precision(before)


def _case(n, c, h, w, cout, kernel, stride, pad, dil, groups, offset_scale, integral=False, bias=True, seed=0):
    """float64 leaf tensors of one call, the offsets scaled to reach far outside the image."""
    g = torch.Generator().manual_seed(seed)
    kh, kw = kernel
    ho = (h + 2 * pad - (dil * (kh - 1) + 1)) // stride + 1
    wo = (w + 2 * pad - (dil * (kw - 1) + 1)) // stride + 1
    x = torch.randn(n, c, h, w, generator=g, dtype=torch.float64)
    off = torch.randn(n, 2 * groups * kh * kw, ho, wo, generator=g, dtype=torch.float64) * offset_scale
    if integral:  # positions exactly on pixel centres and on the borders -1, 0, H-1, H
        off = off.round()
    weight = torch.randn(cout, c, kh, kw, generator=g, dtype=torch.float64)
    b = torch.randn(cout, generator=g, dtype=torch.float64) if bias else None
    return [x, off, weight, b], dict(stride=stride, padding=pad, dilation=dil)


def _reference(tensors, geo):
    leaves = [t.clone().requires_grad_() if t is not None else None for t in tensors]
    out = torchvision.ops.deform_conv2d(*leaves[:3], leaves[3], **geo)
    grad = torch.randn(out.shape, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    grads = torch.autograd.grad(out, [t for t in leaves if t is not None], grad)
    return out, grads, grad


def _triton(tensors, geo, grad, dtype, offset_dtype=None):
    leaves = [t.to(DEVICE, offset_dtype if (k == 1 and offset_dtype) else dtype).requires_grad_()
              if t is not None else None for k, t in enumerate(tensors)]
    with ops.use_backend("triton"):
        out = ops.deform_conv2d(*leaves[:3], leaves[3], **geo)
    grads = torch.autograd.grad(out, [t for t in leaves if t is not None], grad.to(DEVICE, out.dtype))
    return out, grads


def _rel(a, b):
    return float((a.detach().double().cpu() - b).abs().max() / b.abs().max().clamp_min(1e-30))


CASES = {
    "batch2-pad1-far-offsets": ((2, 5, 9, 11, 7, (3, 3), 1, 1, 1, 1, 4.0), {}),
    "stride2-dilation2-2groups-3x2": ((2, 6, 10, 9, 5, (3, 2), 2, 2, 2, 2, 3.0), {}),
    "integral-offsets-on-borders-nobias": ((1, 4, 6, 7, 3, (3, 3), 1, 0, 1, 1, 2.0), dict(integral=True, bias=False)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_fp32_values_and_all_gradients_match_torchvision(name):
    args, kw = CASES[name]
    tensors, geo = _case(*args, **kw)
    ref, ref_grads, grad = _reference(tensors, geo)
    out, grads = _triton(tensors, geo, grad, torch.float32)
    assert out.dtype == torch.float32 and out.shape == ref.shape
    assert _rel(out, ref) < 1e-4
    assert len(grads) == len(ref_grads)
    for got, want in zip(grads, ref_grads):
        assert got.shape == want.shape and _rel(got, want) < 1e-4


@pytest.mark.slow
@pytest.mark.parametrize("dtype,tol", [(torch.bfloat16, 2 ** -6), (torch.float16, 2 ** -9)])
def test_half_precision_within_its_rounding(dtype, tol):
    """Inputs rounded to the format first, reference in float64 on those values: the remaining error is the
    rounding of the sampled values and products (8 / 11 significant bits), accumulated in float32."""
    tensors, geo = _case(2, 8, 8, 9, 6, (3, 3), 1, 1, 1, 1, 2.0, seed=3)
    tensors = [t.to(dtype).double() if t is not None else None for t in tensors]
    ref, ref_grads, grad = _reference(tensors, geo)
    out, grads = _triton(tensors, geo, grad.to(dtype).double(), dtype, offset_dtype=torch.float32)
    assert out.dtype == dtype and _rel(out, ref) < tol
    for got, want in zip(grads, ref_grads):
        assert _rel(got, want) < tol
    assert grads[1].dtype == torch.float32  # the offset kept float32, its gradient too


def test_zero_offsets_equal_a_plain_convolution():
    tensors, geo = _case(1, 3, 7, 8, 4, (3, 3), 1, 1, 1, 1, 0.0)
    x, off, w, b = (t.float() for t in tensors)
    with ops.use_backend("triton"):
        out = ops.deform_conv2d(x.to(DEVICE), off.to(DEVICE), w.to(DEVICE), b.to(DEVICE), padding=1)
    torch.testing.assert_close(out.cpu(), torch.nn.functional.conv2d(x, w, b, padding=1), rtol=1e-5, atol=1e-5)


def test_triton_backend_refuses_what_it_cannot_run(monkeypatch):
    x = torch.randn(1, 4, 5, 5)
    with ops.use_backend("triton"), pytest.raises(HDRBenchError, match="groups=1"):
        ops.deform_conv2d(x, torch.zeros(1, 18, 3, 3), torch.randn(4, 2, 3, 3))  # weight groups = 2
    monkeypatch.setattr(ops, "_triton_module", lambda: None)
    with ops.use_backend("triton"), pytest.raises(HDRBenchError, match="needs Triton"):
        ops.deform_conv2d(x, torch.zeros(1, 18, 3, 3), torch.randn(4, 4, 3, 3))


def test_a_failing_kernel_falls_back_to_torchvision_once(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("no kernel for this card")

    monkeypatch.setattr(triton_dcn, "deform_conv2d", broken)
    monkeypatch.setattr(ops, "_triton_failed", False)
    x, off, w = torch.randn(1, 4, 5, 5), torch.randn(1, 18, 5, 5), torch.randn(4, 4, 3, 3)
    assert ops._via_triton(x, off, w, None, 1, 1, 1) is None  # the "fast" backend's CUDA route gives up
    assert ops._triton_failed and "torchvision" in caplog.text
    assert not ops.triton_available()
