"""DCDR-UNet's equations (1), (2), (4), (5), (6), (8), each against a reference composed by hand from
torch/torchvision primitives (F.conv2d, torchvision.ops.deform_conv2d, F.leaky_relu, torch.tanh, torchvision's
VGG) with the module's own weights; and gradients reaching the zero-initialised offset convs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import torchvision
from test_perceptual import BLOCK_FINAL_CONV, tapped, torchvision_vgg_features

from dcdr.blocks import DCRB, SFTLayer
from dcdr.loss import DCDRLoss
from dcdr.network import ConditionNet, DCDRConfig, DCDRUNet, ToneNet

SMALL = DCDRConfig(nf=8, blocks=(1, 1, 1), cond_nf=8, cond_out=6, sft_hidden=4, tone_nf=8)


def conv(x: torch.Tensor, layer: torch.nn.Conv2d) -> torch.Tensor:
    return F.conv2d(x, layer.weight, layer.bias, padding=1)


def cv2_ref(y: torch.Tensor, stack: torch.nn.Sequential) -> torch.Tensor:
    """conv → leaky ReLU(0.1) → conv, the paper's cv² (weights of ``stack``: Conv, LeakyReLU, Conv)."""
    return conv(F.leaky_relu(conv(y, stack[0]), 0.1), stack[2])


def sft_ref(x: torch.Tensor, y: torch.Tensor, sft: SFTLayer) -> torch.Tensor:
    return x + cv2_ref(y, sft.scale) * x + cv2_ref(y, sft.shift)


def randomize_(module: torch.nn.Module, std: float = 0.2) -> None:
    """Random weights everywhere (so no zero-initialised path hides a mistake)."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * std)


@pytest.fixture(autouse=True)
def _double():
    torch.manual_seed(0)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def test_eq2_sft_layer_matches_hand_composition():
    sft = SFTLayer(nf=8, cond_nc=6, hidden=4)
    randomize_(sft)
    x, y = torch.randn(2, 8, 11, 13), torch.randn(2, 6, 11, 13)
    ref = sft_ref(x, y, sft)
    assert torch.allclose(sft(x, y), ref, atol=1e-10)
    # the two branches are distinct functions (not one cv² used twice)
    assert not torch.allclose(cv2_ref(y, sft.scale), cv2_ref(y, sft.shift))
    assert [type(m).__name__ for m in sft.scale] == ["Conv2d", "LeakyReLU", "Conv2d"]
    assert sft.scale[0].kernel_size == (3, 3) and sft.scale[2].kernel_size == (3, 3)


@pytest.mark.parametrize("relu_between", [False, True])
def test_eq4_dcrb_matches_hand_composition_with_torchvision_deform_conv(relu_between):
    block = DCRB(nf=8, cond_nc=6, sft_hidden=4, relu_between=relu_between)
    randomize_(block)
    with torch.no_grad():  # offsets of a few pixels, so sampling really is deformable (non-integer, varied)
        block.offset.weight.mul_(4.0)
        block.offset.bias.normal_(0, 1.5)
    z, y = torch.randn(2, 8, 12, 10), torch.randn(2, 6, 12, 10)
    o = conv(z, block.offset)
    assert o.shape[1] == 18 and o.abs().mean() > 0.5
    d1 = torchvision.ops.deform_conv2d(sft_ref(z, y, block.sft1), o, block.conv1.weight, block.conv1.bias, padding=1)
    d1 = F.relu(d1) if relu_between else d1
    ref = z + torchvision.ops.deform_conv2d(sft_ref(d1, y, block.sft2), o, block.conv2.weight, block.conv2.bias,
                                            padding=1)
    assert torch.allclose(block(z, y), ref, atol=1e-9)
    # the offsets matter: a plain conv with the same weights gives something else
    plain = z + conv(sft_ref(conv(sft_ref(z, y, block.sft1), block.conv1), y, block.sft2), block.conv2)
    assert (block(z, y) - plain).abs().max() > 1e-3


def test_eq4_plain_block_for_no_dcrb_ablation():
    block = DCRB(nf=8, cond_nc=6, sft_hidden=4, deformable=False)
    randomize_(block)
    z, y = torch.randn(1, 8, 9, 7), torch.randn(1, 6, 9, 7)
    ref = z + conv(sft_ref(conv(sft_ref(z, y, block.sft1), block.conv1), y, block.sft2), block.conv2)
    assert torch.allclose(block(z, y), ref, atol=1e-10)


def test_eq5_condition_net_matches_hand_composition():
    net = ConditionNet(cond_nf=8, cond_out=6)
    randomize_(net)
    x = torch.rand(2, 3, 24, 20)
    d4 = x.reshape(2, 3, 6, 4, 5, 4).mean(dim=(3, 5))  # mean over each 4×4 block
    t = net.trunk
    fea = F.leaky_relu(conv(F.leaky_relu(conv(F.leaky_relu(conv(d4, t[0]), 0.1), t[2]), 0.1), t[4]), 0.1)
    ys = net(x)
    for s, head, y in zip((1.0, 0.5, 0.25), net.heads, ys):
        up = F.interpolate(fea, size=(int(24 * s), int(20 * s)), mode="bilinear", align_corners=False)
        assert y.shape == (2, 6, int(24 * s), int(20 * s))
        assert torch.allclose(y, cv2_ref(up, head), atol=1e-10)


def test_eq6_tone_net_matches_hand_composition():
    tone = ToneNet(tone_nf=8)
    randomize_(tone)
    x = torch.rand(2, 3, 10, 14)
    g = tone.gain
    gain = conv(F.relu(conv(F.relu(conv(F.relu(conv(x, g[0])), g[2])), g[4])), g[6])  # no ReLU after the last
    assert torch.allclose(tone(x), x * gain, atol=1e-10)
    assert (gain < 0).any()  # no activation after the last conv: negative gains survive


def test_eq1_output_is_restoration_plus_tone():
    net = DCDRUNet(SMALL)
    randomize_(net, 0.05)
    x = torch.rand(1, 3, 16, 20)
    expected = net.restoration(x, net.condition(x)) + x * net.tone.gain(x)
    assert torch.allclose(net(x), expected, atol=1e-10)


def test_offset_convs_are_zero_initialised_and_receive_gradients():
    net = DCDRUNet(SMALL)
    offsets = [m.offset for m in net.modules() if isinstance(m, DCRB)]
    assert len(offsets) == 3 and all(o.weight.abs().sum() == 0 and o.bias.abs().sum() == 0 for o in offsets)
    x, gt = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    (net(x) - gt).abs().mean().backward()
    for o in offsets:
        assert o.weight.grad is not None and o.weight.grad.abs().sum() > 0
        assert o.bias.grad.abs().sum() > 0


def test_eq8_loss_matches_tanh_l1_plus_torchvision_vgg():
    from hdrbench.weights import resolve_backbone

    gt = torch.rand(2, 3, 32, 32) ** 2.2
    pred = gt + 0.1 * torch.randn_like(gt)
    tv = None
    for after_relu, scale in ((False, 1.0), (True, 1 / 3300)):
        loss = DCDRLoss(after_relu=after_relu, feature_scale=scale, vgg_input="raw").double()  # eq. (8) as written
        arch, conv = loss.vgg.arch, loss.vgg.convention
        tv = tv or torchvision_vgg_features(arch, resolve_backbone(arch).state_dict).double()
        idx = tuple(i + int(after_relu) for i in BLOCK_FINAL_CONV[arch])
        vgg = sum(((scale * a - scale * b) ** 2).mean()
                  for a, b in zip(tapped(tv, pred, idx, conv), tapped(tv, gt, idx, conv)))
        ref = (torch.tanh(pred) - torch.tanh(gt)).abs().mean() + 0.1 * vgg
        assert torch.allclose(loss(pred, gt), ref, rtol=1e-9)
        assert loss(gt, gt).item() == 0.0


def test_default_loss_is_srgan_scaled_post_relu_and_balanced():
    """Defaults follow SRGAN [18]: post-ReLU features rescaled so that the unweighted VGG term is of the pixel
    loss's scale on the error a network starts from (the identity row on demo training views; the scale
    depends on the weights' input convention), so w_vgg = 0.1 weighs it at about a tenth of Tanh_L1 (the
    paper's 'w_vgg = 0.1 makes a balance'). Measured here on 4 other patches than the derivation's."""
    from dcdr.loss import AUTO_FEATURE_SCALE
    from hdrbench.datasets.base import create_dataset

    loss = DCDRLoss()
    assert loss.after_relu and loss.feature_scale == AUTO_FEATURE_SCALE[loss.vgg.convention]
    demo = create_dataset("demo")
    ldr, gt = zip(*(demo.load_pair(p) for p in demo.pairs("train")[1:3]))
    patches = [torch.from_numpy(a[y:y + 96, x:x + 96]).permute(2, 0, 1) for a in (*ldr, *gt)
               for y, x in ((40, 20), (150, 140))]
    ldr, gt = torch.stack(patches[:4]), torch.stack(patches[4:])
    terms = loss.components(ldr**2.2 / 64, gt)
    ratio = float(loss.vgg_weight * terms["vgg"] / terms["tanh_l1"])
    assert 0.03 < ratio < 0.3, ratio


def test_loss_without_vgg_is_tanh_l1_and_loads_no_vgg():
    loss = DCDRLoss(vgg_weight=0.0)
    assert loss.vgg is None and loss.substitution is None and loss.describe()["vgg"] is None
    pred, gt = torch.rand(1, 3, 8, 8) * 3, torch.rand(1, 3, 8, 8)
    assert torch.allclose(loss(pred, gt), (torch.tanh(pred) - torch.tanh(gt)).abs().mean())
