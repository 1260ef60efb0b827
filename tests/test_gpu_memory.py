"""Memory at the paper's protocol: FHDR's activation recomputation and gradient accumulation change memory,
not the gradients."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from baselines.fhdr import FHDRLoss, FHDRNet
from hdrbench.method import Method, Recipe, Stage, create_method
from hdrbench.train.loop import _accumulated_backward


def _saved_bytes(fn) -> int:
    """Bytes of the tensors autograd keeps for the backward pass while ``fn()`` runs."""
    total = 0

    def pack(t):
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return total


def _fhdr_grads(checkpoint: bool, ldr, hdr):
    torch.manual_seed(0)
    net = FHDRNet(nf=16, iterations=2, checkpoint=checkpoint)
    loss_fn = FHDRLoss(checkpoint=checkpoint)
    out = {}

    def step():
        out["loss"] = loss_fn(net(ldr, return_all=True), hdr)

    saved = _saved_bytes(step)
    out["loss"].backward()
    return out["loss"].detach(), [p.grad.clone() for p in net.parameters()], saved


def test_fhdr_checkpointing_gives_the_same_gradients_with_less_saved_memory():
    g = torch.Generator().manual_seed(1)
    ldr, hdr = torch.rand(2, 3, 40, 40, generator=g), torch.rand(2, 3, 40, 40, generator=g) ** 2
    loss_a, grads_a, saved_a = _fhdr_grads(False, ldr, hdr)
    loss_b, grads_b, saved_b = _fhdr_grads(True, ldr, hdr)
    assert torch.equal(loss_a, loss_b)
    for a, b in zip(grads_a, grads_b):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-9)
    assert saved_b < saved_a / 3  # the dense blocks' and VGG's activations are no longer kept


def test_fhdr_checkpoint_option_and_paper_recipe():
    assert create_method("fhdr").options["checkpoint"] == "auto"
    assert create_method("fhdr").recipe_for("paper").accumulate == 2
    assert create_method("fhdr").recipe_for("official").accumulate == 1
    with pytest.raises(Exception, match="checkpoint"):
        create_method("fhdr", checkpoint="sometimes")


class _Tiny(Method):
    name = "tiny-accumulate"

    def build_network(self) -> nn.Module:
        return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 3, 3, padding=1))

    def build_loss(self) -> nn.Module:
        class L1(nn.Module):
            def forward(self, pred, gt, ldr=None):
                return (pred - gt).abs().mean()

        return L1()


@pytest.mark.parametrize("parts", [2, 4])
def test_accumulated_micro_batches_give_the_full_batch_gradient(parts):
    method = _Tiny()
    g = torch.Generator().manual_seed(2)
    ldr, hdr = torch.rand(8, 3, 12, 12, generator=g), torch.rand(8, 3, 12, 12, generator=g)
    results = []
    for acc in (1, parts):
        torch.manual_seed(0)
        net, loss_fn = method.build_network(), method.build_loss()
        stage = Stage(None, Recipe(batch_size=8, accumulate=acc))
        loss, terms = _accumulated_backward(method, net, loss_fn, ldr, hdr, stage, None, None, Path("."))
        results.append((loss, [p.grad.clone() for p in net.parameters()], terms))
    (la, ga, ta), (lb, gb, tb) = results
    torch.testing.assert_close(la, lb, rtol=1e-6, atol=0)
    torch.testing.assert_close(torch.as_tensor(ta["loss"]), torch.as_tensor(tb["loss"]), rtol=1e-6, atol=0)
    for a, b in zip(ga, gb):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-8)


def test_recipe_refuses_an_accumulation_that_does_not_divide_the_batch():
    with pytest.raises(Exception, match="accumulate"):
        Recipe(batch_size=16, accumulate=3)
