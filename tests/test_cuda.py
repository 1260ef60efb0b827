"""CUDA checks, run where a CUDA device exists (skipped elsewhere): every registered method's forward and one
training step on CUDA against CPU, the Triton deformable convolution against torchvision's CUDA kernel, finite
outputs under bf16 autocast, cached batches decoded on the GPU equal to the streamed ones, and a 2-step training
run on CUDA that resumes after a crash.

    python -m pytest -q -p no:xdist tests/test_cuda.py         # on a GPU machine (a few minutes)
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

from hdrbench.errors import HDRBenchError  # noqa: E402
from hdrbench.method import create_method  # noqa: E402
from hdrbench.registry import METHODS  # noqa: E402

#: Options that keep every method small and free of downloaded weights where it has such options.
SMALL = {"hdrcnn": {"pretrained": False}, "singlehdr": {"pretrained": False}}


def _methods() -> list[str]:
    return [n for n in METHODS.names() if not n.startswith("fake")]


@pytest.fixture(autouse=True)
def _exact_fp32():
    matmul, cudnn = torch.get_float32_matmul_precision(), torch.backends.cudnn.allow_tf32
    torch.set_float32_matmul_precision("highest")
    torch.backends.cudnn.allow_tf32 = False
    yield
    torch.set_float32_matmul_precision(matmul)
    torch.backends.cudnn.allow_tf32 = cudnn


def _build(name: str):
    method = create_method(name, **SMALL.get(name, {}))
    torch.manual_seed(0)
    try:
        net = method.build_network()
    except HDRBenchError as exc:  # weights this machine has not prepared
        pytest.skip(f"{name}: {exc}")
    return method, net


def _batch(n: int = 2, size: int = 64):
    g = torch.Generator().manual_seed(1)
    ldr = torch.rand(n, 3, size, size, generator=g)
    return ldr, (ldr ** 2.2 * (1 + 3 * (ldr > 0.9))).clamp_min(0)


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.detach().double().cpu() - b.detach().double().cpu()).norm() / b.detach().double().norm()
                 .clamp_min(1e-30))


@pytest.mark.parametrize("name", _methods())
def test_forward_on_cuda_matches_cpu(name):
    method, net = _build(name)
    ldr, _ = _batch()
    net.eval()
    with torch.no_grad():
        cpu = method.predict(net, ldr)
        gpu = method.predict(net.cuda(), ldr.cuda())
    assert gpu.is_cuda and gpu.shape == cpu.shape and torch.isfinite(gpu).all()
    assert _rel(gpu, cpu) < 1e-4


@pytest.mark.parametrize("name", _methods())
def test_one_training_step_on_cuda_matches_cpu(name):
    method, net = _build(name)
    try:
        loss_fn = method.build_loss()
    except HDRBenchError as exc:
        pytest.skip(f"{name}: {exc}")
    ldr, hdr = _batch()
    net.train()
    grads = []
    for device in ("cpu", "cuda"):
        net.to(device).zero_grad(set_to_none=True)
        loss_fn.to(device)
        torch.manual_seed(0)
        stage = method.stages()[-1]  # the whole network (HDRTV: HG, which runs the cascade)
        stage.parameters(net)
        value, _ = method.training_loss(net, loss_fn, ldr.to(device), hdr.to(device), stage)
        value.backward()
        grads.append((value.detach().cpu(), [p.grad.detach().cpu() for p in net.parameters() if p.grad is not None]))
    (lc, gc), (lg, gg) = grads
    assert torch.isfinite(lg) and _rel(lg, lc) < 1e-4 and len(gc) == len(gg) > 0
    assert _rel(torch.cat([g.flatten() for g in gg]), torch.cat([g.flatten() for g in gc])) < 1e-3


@pytest.mark.parametrize("name", _methods())
def test_bf16_autocast_outputs_are_finite(name):
    method, net = _build(name)
    ldr, _ = _batch()
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        out = method.predict(net.cuda().eval(), ldr.cuda())
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-4), (torch.bfloat16, 2 ** -6)])
def test_triton_deform_conv_matches_torchvision_cuda(dtype, tol):
    import torchvision

    import dcdr.ops as ops

    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 64, 48, 40, generator=g)
    off = torch.randn(4, 18, 48, 40, generator=g) * 6  # far offsets: many samples outside the image
    w = torch.randn(64, 64, 3, 3, generator=g) / 24
    b = torch.randn(64, generator=g)
    gout = torch.randn(4, 64, 48, 40, generator=g)
    ref_in = [t.to(dtype).double().cuda().requires_grad_() for t in (x, off, w, b)]
    ref = torchvision.ops.deform_conv2d(*ref_in[:3], ref_in[3], padding=1)
    ref_grads = torch.autograd.grad(ref, ref_in, gout.double().cuda())
    leaves = [t.to(dtype).cuda().requires_grad_() for t in (x, off, w, b)]
    with ops.use_backend("triton"):
        out = ops.deform_conv2d(*leaves[:3], leaves[3], padding=1)
    grads = torch.autograd.grad(out, leaves, gout.to(dtype).cuda())
    assert out.dtype == dtype and _rel(out, ref) < tol
    for got, want in zip(grads, ref_grads):
        assert _rel(got, want) < tol


def test_fast_backend_uses_triton_on_cuda_under_autocast():
    import dcdr.ops as ops

    x, off, w = torch.randn(1, 8, 9, 9).cuda(), torch.zeros(1, 18, 9, 9).cuda(), torch.randn(8, 8, 3, 3).cuda()
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = ops.deform_conv2d(x, off, w, padding=1)
    assert out.dtype == torch.bfloat16 and ops.triton_available()  # torchvision's would be float32


def test_cached_batches_on_cuda_equal_streamed_batches():
    from test_patch_cache import Pictures, _streamed

    from hdrbench.method import Recipe
    from hdrbench.train.data import training_batches

    ds = Pictures([(40, 56), (33, 70), (48, 48)], hdr_dtype=np.float32)
    recipe = Recipe(batch_size=5, patch_size=16, crop="random", augment=("hflip", "vflip", "transpose"))
    want = _streamed(ds, recipe, 7, 0, 6)
    got = list(training_batches(ds, "train", recipe, 7, 0, 6, torch.device("cuda"), num_workers=2))
    assert all(a.is_cuda and torch.equal(a.cpu(), c) and torch.equal(b.cpu(), d) for (a, b), (c, d) in zip(got, want))


def test_two_step_training_on_cuda_resumes(tmp_path):
    from test_train_fakes import FakeDataset

    from hdrbench.checkpoint import read_weights
    from hdrbench.train import TrainJob, train

    method = create_method("dcdr", nf=16, blocks=(1, 1, 1), vgg_weight=0.0)

    def job(run):
        return TrainJob(method=method, dataset=FakeDataset(None), run_dir=tmp_path / run, device="cuda", amp=False,
                        overrides={"iterations": 2, "batch_size": 2, "patch_size": 16, "crop": "grid"},
                        checkpoint_every=1, log_every=1, tensorboard=False, progress=False)

    full = train(job("full"))

    def crash(step):
        if step == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(job("crashed"), on_step=crash)
    resumed = train(job("crashed"))
    assert full.steps == 2 and resumed.resumed_from == 1
    a, _ = read_weights(full.weights)
    b, _ = read_weights(resumed.weights)
    for k in a:  # CUDA float atomics (input gradients) may reorder sums: close, not bit-identical
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-6)
