"""DCDR-UNet as a registered method: parameter counts derived by hand, ablation module types, any input
size (587×675), recipe and loss description."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dcdr.blocks import DCRB, DeformConv3x3, PlainConvSFT, SFTLayer
from dcdr.loss import DCDRLoss
from dcdr.network import DCDRUNet
from hdrbench.errors import HDRBenchError
from hdrbench.method import create_method
from hdrbench.registry import METHODS

TINY = {"nf": 8, "blocks": [1, 1, 1], "cond_nf": 8, "cond_out": 4, "sft_hidden": 4, "tone_nf": 8}


def conv(c_in: int, c_out: int, k: int = 3) -> int:
    """Parameters of a k×k conv with bias."""
    return c_in * c_out * k * k + c_out


# Hand arithmetic for the default configuration: nf 64, condition maps 32, SFT hidden 8, tone 64, cond trunk 32.
SHELL = conv(3, 64) + 4 * conv(64, 64) + 2 * conv(64, 256) + conv(64, 3)  # first, HR1, 2 downs, HR2; 2 PS ups; last
SFT = 2 * (conv(32, 8) + conv(8, 64))  # scale and shift branches
DCRB_P = conv(64, 18) + 2 * SFT + 2 * conv(64, 64)  # offset estimate, 2 SFT, 2 deformable convs
COND = conv(3, 32) + 2 * conv(32, 32) + 3 * 2 * conv(32, 32)  # cv³ trunk + one cv² per scale
TONE = conv(3, 64) + 2 * conv(64, 64) + conv(64, 3)
FULL = SHELL + 2 * SFT + 8 * DCRB_P + COND + TONE
EXPECTED = {
    "dcdr": FULL,
    "dcdr-no-dcrb": FULL - 8 * conv(64, 18),
    "dcdr-no-tone": FULL - TONE,
    "dcdr-no-cond": SHELL + 2 * conv(64, 64) + 8 * (conv(64, 18) + 2 * conv(64, 64) + 2 * conv(64, 64)) + TONE,
    "dcdr-no-vgg": FULL,
    "dcdr-no-dcrb-no-vgg": FULL - 8 * conv(64, 18),
    "dcdr-eq4": FULL,
    "dcdr-no-dcrb-eq4": FULL - 8 * conv(64, 18),
}


def test_hand_count_is_the_documented_figure():
    assert FULL == 1_524_278
    assert 1_350_000 <= FULL <= 1_650_000


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_parameter_counts_match_hand_arithmetic(name):
    method = create_method(name)
    assert method.parameter_count() == EXPECTED[name]
    assert method.describe()["params"] == EXPECTED[name]


def _types(net: nn.Module) -> dict[type, int]:
    out: dict[type, int] = {}
    for m in net.modules():
        out[type(m)] = out.get(type(m), 0) + 1
    return out


def test_ablation_module_types():
    full = _types(create_method("dcdr").build_network())
    assert full[DCRB] == 8 and full[DeformConv3x3] == 16 and full[SFTLayer] == 2 + 16 and PlainConvSFT not in full
    net = create_method("dcdr").build_network()
    assert all(b.offset.out_channels == 18 and b.offset.kernel_size == (3, 3) for b in net.modules()
               if isinstance(b, DCRB))

    no_dcrb = create_method("dcdr-no-dcrb").build_network()
    assert DeformConv3x3 not in _types(no_dcrb)
    for b in (m for m in no_dcrb.modules() if isinstance(m, DCRB)):
        assert not hasattr(b, "offset") and type(b.conv1) is nn.Conv2d and type(b.conv2) is nn.Conv2d

    no_tone = create_method("dcdr-no-tone").build_network()
    assert no_tone.tone is None and no_tone.condition is not None

    no_cond = create_method("dcdr-no-cond").build_network()
    types = _types(no_cond)
    assert no_cond.condition is None and SFTLayer not in types and types[PlainConvSFT] == 18
    assert types[DeformConv3x3] == 16


def test_no_vgg_methods_train_with_tanh_l1_only():
    assert create_method("dcdr-no-vgg").build_loss().vgg is None
    assert create_method("dcdr-no-dcrb-no-vgg").build_loss().vgg is None
    assert create_method("dcdr-no-dcrb-no-vgg").config().dcrb is False


def test_registered_with_citation_and_paper_recipe():
    for name in EXPECTED:
        assert name in METHODS
    m = create_method("dcdr")
    assert "DCDR-UNet" in m.citation and m.summary
    r = m.recipe
    assert (r.optimizer, r.batch_size, r.patch_size, r.iterations) == ("adam", 16, 512, 200_000)
    assert m.pad_multiple == 4 and m.receptive_margin % 4 == 0


def test_unknown_option_is_a_clear_error():
    with pytest.raises(HDRBenchError, match="did you mean 'tone_nf'"):
        create_method("dcdr", tone_n=3)


@pytest.mark.parametrize(("name", "size"), [("dcdr", (587, 675)), ("dcdr-no-dcrb", (41, 30)),
                                            ("dcdr-no-tone", (33, 63)), ("dcdr-no-cond", (50, 29))])
def test_any_input_size(name, size):
    """Odd sizes: predict pads to a multiple of 4 and crops back (tiny widths keep this fast)."""
    torch.manual_seed(0)
    method = create_method(name, **TINY)
    net = method.build_network().eval()
    assert isinstance(net, DCDRUNet)
    out = method.predict(net, torch.rand(1, 3, *size))
    assert out.shape == (1, 3, *size) and torch.isfinite(out).all() and (out >= 0).all()


def test_default_network_forward_and_backward_on_odd_size():
    torch.manual_seed(0)
    method = create_method("dcdr")
    net = method.build_network()
    ldr = torch.rand(1, 3, 37, 53)
    out = method.predict(net.eval(), ldr)
    assert out.shape == (1, 3, 37, 53) and torch.isfinite(out).all()
    net.train()
    loss, logs = method.training_loss(net, DCDRLoss(vgg_weight=0.0), torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16),
                                      method.stages()[0])
    loss.backward()
    assert set(logs) == {"loss", "tanh_l1", "vgg"} and logs["vgg"] == 0.0
    assert all(p.grad is not None for p in net.parameters())


def test_loss_records_vgg_substitution():
    loss = create_method("dcdr").build_loss()
    info = loss.describe()
    assert info["vgg_weight"] == 0.1 and info["vgg_features"] == "after ReLU"
    assert info["vgg_feature_scale"] == {"caffe": 1 / 3300, "torchvision": 1 / 19}[info["vgg"]["input_convention"]]
    vgg = info["vgg"]
    assert vgg["layers_requested"] == ["relu1_2", "relu2_2", "relu3_4", "relu4_4", "relu5_4"]
    if vgg["arch"] == "vgg16":  # no VGG19 offline: the substitution is recorded where training looks for it
        assert loss.substitution and "vgg16" in loss.substitution
        assert vgg["layers_used"] == ["relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3"]
    else:
        assert loss.substitution is None and vgg["layers_used"] == vgg["layers_requested"]


def _superposition_residual(f, a: torch.Tensor, b: torch.Tensor) -> float:
    """``|f(a+b) − f(a) − f(b) + f(0)| / |f(a) − f(0)|``: 0 for an affine ``f``."""
    with torch.no_grad():
        zero = torch.zeros_like(a)
        return float((f(a + b) - f(a) - f(b) + f(zero)).norm() / (f(a) - f(zero)).norm())


@pytest.mark.parametrize("name", ["dcdr-no-dcrb", "dcdr-no-dcrb-no-vgg"])
def test_no_dcrb_block_is_hdrunets_nonlinear_residual_block(name):
    """The paper's "no DCRB" is HDRUNet's residual block (a ReLU between its convs), not an affine map: the
    superposition residual of one block and of the 4-block ×0.25 trunk is far from 0, while the same block
    without the ReLU (the old ablation) is affine to float precision — the check can fail."""
    torch.manual_seed(0)
    net = create_method(name).build_network()
    trunk = net.restoration.trunk_mid
    assert all(isinstance(b, DCRB) and not b.deformable and b.relu_between for b in trunk)
    a, b, y = torch.randn(1, 64, 12, 12), torch.randn(1, 64, 12, 12), torch.randn(1, 32, 12, 12)
    assert _superposition_residual(lambda z: trunk[0](z, y), a, b) > 1e-3
    assert _superposition_residual(lambda z: trunk(z, y), a, b) > 1e-3
    affine = DCRB(64, 32, 8, deformable=False, relu_between=False)
    affine.load_state_dict(trunk[0].state_dict())
    assert _superposition_residual(lambda z: affine(z, y), a, b) < 1e-5
    assert create_method("dcdr").config().relu_between  # the full model's DCRB is the same block plus offsets


def _tree(net: nn.Module) -> dict[str, tuple[str, tuple]]:
    """Every module of ``net`` by its path: its type name and its parameter shapes (its own, not its children's)."""
    return {name: (type(m).__name__, tuple(tuple(p.shape) for p in m.parameters(recurse=False)))
            for name, m in net.named_modules()}


def _relu_after_conv1(method_name: str) -> list[bool]:
    """Whether each block applies a ReLU after its first conv, observed by hooking conv1's output: a negative value
    there survives into ``sft2``'s input only without the ReLU."""
    torch.manual_seed(0)
    net = create_method(method_name, **TINY).build_network()
    out = []
    for block in (m for m in net.modules() if isinstance(m, DCRB)):
        seen: dict[str, torch.Tensor] = {}
        h = block.sft2.register_forward_pre_hook(lambda mod, args, seen=seen: seen.__setitem__("x", args[0]))
        nf = block.sft1.scale[-1].out_channels
        block(torch.randn(1, nf, 8, 8), torch.randn(1, block.sft1.scale[0].in_channels, 8, 8))
        h.remove()
        out.append(bool((seen["x"] >= 0).all()))
    return out


@pytest.mark.parametrize(("full", "no_dcrb"), [("dcdr", "dcdr-no-dcrb"), ("dcdr-eq4", "dcdr-no-dcrb-eq4")])
def test_no_dcrb_twin_differs_from_its_full_model_only_in_the_deformable_convolution(full, no_dcrb):
    """Table 2 (a) vs (d) changes one thing: walking both module trees, every module is the same (type and
    parameter shapes) except, in each DCRB, the offset conv (only in the full model) and the two convs
    (deformable 3×3 there, ``nn.Conv2d`` 3×3 in the twin, same weight shapes); and both apply the same activation
    between the two convs (observed on the forward pass, not read from a flag)."""
    a, b = _tree(create_method(full).build_network()), _tree(create_method(no_dcrb).build_network())
    offsets = {k for k in a if k.endswith(".offset")}
    assert len(offsets) == 8 and not offsets & set(b)
    assert set(a) - offsets == set(b)
    changed = {k for k in b if a[k] != b[k]}
    assert changed and all(k.endswith((".conv1", ".conv2")) for k in changed)
    for k in changed:
        assert a[k][0] == "DeformConv3x3" and b[k][0] == "Conv2d"
        assert a[k][1] == b[k][1] == ((64, 64, 3, 3), (64,))  # same weights and bias shapes
    assert _relu_after_conv1(full) == _relu_after_conv1(no_dcrb)
    assert all(_relu_after_conv1(full)) is (full == "dcdr")  # dcdr: ReLU in every block; eq4: none
