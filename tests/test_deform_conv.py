"""dcdr.ops.deform_conv2d (fast C++ backend) against torchvision's deform_conv2d, the independent reference."""

from __future__ import annotations

import pytest
import torch
import torchvision

import dcdr.ops as ops
from dcdr.ops import deform_conv2d, native, use_backend
from hdrbench.errors import HDRBenchError

pytestmark = pytest.mark.skipif(not ops.fast_available(), reason="the C++ kernels could not be built here")


def _inputs(n, c, h, w, cout, k, stride, padding, dilation, offset_groups, groups, offset_scale,
            dtype=torch.float64, seed=0, bias=True):
    kh, kw = (k, k) if isinstance(k, int) else k
    gen = torch.Generator().manual_seed(seed)
    ho = (h + 2 * padding - (dilation * (kh - 1) + 1)) // stride + 1
    wo = (w + 2 * padding - (dilation * (kw - 1) + 1)) // stride + 1
    x = torch.randn(n, c, h, w, generator=gen, dtype=dtype)
    offset = torch.randn(n, 2 * offset_groups * kh * kw, ho, wo, generator=gen, dtype=dtype) * offset_scale
    weight = torch.randn(cout, c // groups, kh, kw, generator=gen, dtype=dtype)
    b = torch.randn(cout, generator=gen, dtype=dtype) if bias else None
    return x, offset, weight, b


def _run(backend, x, offset, weight, bias, grad_out=None, **kw):
    leaves = [t.clone().requires_grad_() for t in (x, offset, weight) + ((bias,) if bias is not None else ())]
    with use_backend(backend):
        y = deform_conv2d(*leaves[:3], leaves[3] if bias is not None else None, **kw)
    if grad_out is None:
        grad_out = torch.randn(y.shape, generator=torch.Generator().manual_seed(1), dtype=y.dtype)
    grads = torch.autograd.grad(y, leaves, grad_out)
    return y, grads, grad_out


def _assert_close(a, b, name, rtol):
    err = float((a - b).detach().abs().max() / b.detach().abs().max().clamp_min(1e-12))
    assert err <= rtol, f"{name}: relative error {err:.2e} > {rtol:.0e}"


CASES = {
    # name: (n, c, h, w, cout, k, stride, padding, dilation, offset_groups, groups, offset_scale)
    "plain": (1, 8, 9, 11, 6, 3, 1, 1, 1, 1, 1, 1.0),
    "batch3": (3, 5, 8, 7, 4, 3, 1, 1, 1, 1, 1, 1.5),
    "large_offsets_outside": (2, 6, 10, 9, 5, 3, 1, 1, 1, 1, 1, 8.0),
    "stride2_dilation2": (2, 8, 13, 12, 6, 3, 2, 2, 2, 1, 1, 2.0),
    "stride3_nopad": (1, 4, 14, 15, 3, 3, 3, 0, 1, 1, 1, 1.0),
    "offset_groups": (2, 8, 9, 9, 6, 3, 1, 1, 1, 4, 1, 3.0),
    "weight_and_offset_groups": (1, 8, 9, 10, 4, 3, 1, 1, 1, 2, 2, 3.0),
    "groups_cross_offset_groups": (1, 6, 7, 7, 6, 3, 1, 0, 1, 2, 3, 5.0),
    "kernel_1x5": (1, 4, 8, 9, 4, (1, 5), 1, 2, 1, 1, 1, 2.0),
    "tiny_image": (1, 3, 2, 3, 2, 3, 1, 1, 1, 1, 1, 1.0),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_values_and_all_gradients_match_torchvision(case):
    n, c, h, w, cout, k, stride, padding, dilation, og, groups, scale = CASES[case]
    x, offset, weight, bias = _inputs(n, c, h, w, cout, k, stride, padding, dilation, og, groups, scale)
    kw = {"stride": stride, "padding": padding, "dilation": dilation}
    y_fast, g_fast, gout = _run("fast", x, offset, weight, bias, **kw)
    y_ref, g_ref, _ = _run("torchvision", x, offset, weight, bias, gout, **kw)
    _assert_close(y_fast, y_ref, "output", 1e-4)
    for name, a, b in zip(("input", "offset", "weight", "bias"), g_fast, g_ref):
        _assert_close(a, b, f"grad {name}", 1e-4)


def test_samples_really_fall_outside_the_image():
    """The large-offset case exercises the out-of-image rules (else it would not test them)."""
    x, offset, weight, _ = _inputs(*CASES["large_offsets_outside"][:5], 3, 1, 1, 1, 1, 1, 8.0)
    base_y = torch.arange(offset.shape[2], dtype=offset.dtype).view(1, 1, -1, 1) - 1
    y = base_y + offset[:, 0::2]
    assert (y <= -1).float().mean() > 0.1 and (y >= x.shape[2]).float().mean() > 0.1


def test_float32_matches_torchvision():
    x, offset, weight, bias = _inputs(2, 16, 20, 24, 8, 3, 1, 1, 1, 1, 1, 2.0, dtype=torch.float32)
    y_fast, g_fast, gout = _run("fast", x, offset, weight, bias, padding=1)
    y_ref, g_ref, _ = _run("torchvision", x, offset, weight, bias, gout, padding=1)
    _assert_close(y_fast, y_ref, "output", 1e-4)
    for name, a, b in zip(("input", "offset", "weight", "bias"), g_fast, g_ref):
        _assert_close(a, b, f"grad {name}", 1e-4)


def test_many_chunks_and_threads_agree(monkeypatch):
    """Images split in many chunks (shared by both threads) give the one-chunk result."""
    x, offset, weight, bias = _inputs(2, 8, 24, 20, 8, 3, 1, 1, 1, 1, 1, 3.0)
    y_ref, g_ref, gout = _run("torchvision", x, offset, weight, bias, padding=1)
    monkeypatch.setattr(ops.fast, "CHUNK_BYTES", 7 * 8 * 9 * 8)  # 7 output pixels per chunk
    y, g, _ = _run("fast", x, offset, weight, bias, gout, padding=1)
    _assert_close(y, y_ref, "output", 1e-10)
    for a, b in zip(g, g_ref):
        _assert_close(a, b, "grad", 1e-10)


def test_backward_is_bit_identical_from_run_to_run_with_two_threads(monkeypatch):
    """Training reruns must match: the private gradient images and weight gradients of the threads are summed
    in a fixed order (static chunk schedule), so repeated backward passes agree to the last bit."""
    x, offset, weight, bias = _inputs(1, 16, 40, 48, 16, 3, 1, 1, 1, 1, 1, 4.0, dtype=torch.float32)
    monkeypatch.setattr(ops.fast, "CHUNK_BYTES", 16 * 9 * 4 * 8)  # 8 output pixels per chunk: 240 chunks
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        runs = [_run("fast", x, offset, weight, bias, torch.ones(1, 16, 40, 48), padding=1)[1] for _ in range(6)]
    finally:
        torch.set_num_threads(before)
    for grads in runs[1:]:
        for a, b in zip(grads, runs[0]):
            assert torch.equal(a, b)


def test_gradcheck_tiny_case():
    x, offset, weight, bias = _inputs(1, 2, 4, 5, 2, 3, 1, 1, 1, 1, 1, 0.7, seed=3)
    offset = offset + 0.25  # keep samples away from integer positions, where bilinear weights have kinks
    args = [t.clone().requires_grad_() for t in (x, offset, weight, bias)]
    assert torch.autograd.gradcheck(lambda *a: deform_conv2d(*a, padding=1), args, eps=1e-6, atol=1e-6)


def test_partial_requires_grad_and_no_bias():
    x, offset, weight, _ = _inputs(1, 4, 6, 6, 4, 3, 1, 1, 1, 1, 1, 1.0, bias=False)
    off = offset.clone().requires_grad_()
    y = deform_conv2d(x, off, weight, padding=1)
    (g,) = torch.autograd.grad(y.square().sum(), off)
    off_ref = offset.clone().requires_grad_()
    y_ref = torchvision.ops.deform_conv2d(x, off_ref, weight, padding=1)
    (g_ref,) = torch.autograd.grad(y_ref.square().sum(), off_ref)
    _assert_close(g, g_ref, "grad offset", 1e-10)


def test_channels_last_input_gives_channels_last_output_and_exact_gradients():
    x, offset, weight, bias = _inputs(2, 6, 8, 10, 4, 3, 1, 1, 1, 1, 1, 2.0)
    leaves = [x.contiguous(memory_format=torch.channels_last).requires_grad_(),
              offset.transpose(2, 3).contiguous().transpose(2, 3).requires_grad_(),  # non-contiguous offsets
              weight.clone().requires_grad_(), bias.clone().requires_grad_()]
    y = deform_conv2d(*leaves, padding=1)
    assert y.is_contiguous(memory_format=torch.channels_last)
    y_ref, g_ref, gout = _run("torchvision", x, offset, weight, bias, padding=1)
    _assert_close(y, y_ref, "output", 1e-10)
    grads = torch.autograd.grad(y, leaves, gout)
    assert grads[0].is_contiguous(memory_format=torch.channels_last)
    for name, a, b in zip(("input", "offset", "weight", "bias"), grads, g_ref):
        _assert_close(a, b, f"grad {name}", 1e-10)


def test_backend_switch_routes_to_torchvision(monkeypatch):
    calls = []
    real = torchvision.ops.deform_conv2d
    monkeypatch.setattr(torchvision.ops, "deform_conv2d", lambda *a, **k: calls.append(1) or real(*a, **k))
    x, offset, weight, bias = _inputs(1, 4, 6, 6, 4, 3, 1, 1, 1, 1, 1, 1.0)
    assert ops.get_backend() == "fast"
    deform_conv2d(x, offset, weight, bias, padding=1)
    assert calls == []
    with use_backend("torchvision"):
        deform_conv2d(x, offset, weight, bias, padding=1)
    assert calls == [1] and ops.get_backend() == "fast"
    with pytest.raises(HDRBenchError, match="unknown deformable-convolution backend 'cuda'"):
        ops.set_backend("cuda")


def test_falls_back_to_torchvision_when_the_kernels_cannot_build(monkeypatch, tmp_path):
    monkeypatch.setenv("CXX", str(tmp_path / "no-such-compiler"))
    with pytest.raises(RuntimeError, match="no C\\+\\+ compiler"):
        native.build()
    monkeypatch.setattr(native, "load", lambda: None)
    x, offset, weight, bias = _inputs(1, 4, 6, 6, 4, 3, 1, 1, 1, 1, 1, 1.0, dtype=torch.float32)
    y = deform_conv2d(x, offset, weight, bias, padding=1)
    assert torch.equal(y, torchvision.ops.deform_conv2d(x, offset, weight, bias, padding=1))


def test_builds_from_an_empty_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("HDRBENCH_CACHE", str(tmp_path))
    path = native.build()
    assert path.parent == tmp_path / "ops" and path.stat().st_size > 0
    assert native.build() == path  # cached: a second call does not rebuild


@pytest.mark.parametrize("bad, message", [
    ({"offset_channels": 17}, "offset has 17 channels"),
    ({"offset_hw": (5, 6)}, "offset shape"),
    ({"weight_in": 3}, "does not fit 8 input channels"),
])
def test_bad_shapes_raise_one_line_errors(bad, message):
    x = torch.randn(1, 8, 6, 6)
    offset = torch.randn(1, bad.get("offset_channels", 18), *bad.get("offset_hw", (6, 6)))
    weight = torch.randn(4, bad.get("weight_in", 8), 3, 3)
    with pytest.raises(HDRBenchError, match=message):
        deform_conv2d(x, offset, weight, padding=1)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_the_cpu_kernel():
    """On CUDA the fast backend runs torchvision's CUDA kernel; check it against the CPU result."""
    x, offset, weight, bias = _inputs(2, 8, 12, 10, 6, 3, 1, 1, 1, 1, 1, 3.0)
    y_cpu, g_cpu, gout = _run("fast", x, offset, weight, bias, padding=1)
    leaves = [t.cuda().requires_grad_() for t in (x, offset, weight, bias)]
    y = deform_conv2d(*leaves, padding=1)
    grads = torch.autograd.grad(y, leaves, gout.cuda())
    _assert_close(y.cpu(), y_cpu, "output", 1e-4)
    for name, a, b in zip(("input", "offset", "weight", "bias"), grads, g_cpu):
        _assert_close(a.cpu(), b, f"grad {name}", 1e-4)
