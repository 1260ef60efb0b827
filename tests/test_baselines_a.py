"""Baselines part A: HDRUNet, KUNet, FHDR — official key names, losses, structure, CLI.

Structural checks compare our modules with hand-written compositions of ``torch.nn.functional`` ops and
with numpy formulas, never with the modules themselves. The contract every method meets (official parameter
count, any size, training, weights round trip, determinism, tiling) is in ``test_contract_methods.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision

from baselines.fhdr import FHDRNet, mu_law
from baselines.hdrunet import SFTLayer
from baselines.kunet import KIC, RDB
from hdrbench.errors import HDRBenchError
from hdrbench.method import count_parameters, create_method
from hdrbench.weights import resolve_backbone

NAMES = ("hdrunet", "kunet", "fhdr")

def _batch(n: int = 2, h: int = 32, w: int = 32, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed tiny (ldr [0,1] display-referred, hdr linear [0,1]) pair with some saturated pixels."""
    g = torch.Generator().manual_seed(seed)
    hdr = F.interpolate(torch.rand(n, 3, h // 4, w // 4, generator=g), size=(h, w), mode="bilinear") ** 2
    ldr = (hdr * 1.6).clamp(0, 1) ** (1 / 2.2)
    return ldr, hdr


def _net(name: str, seed: int = 0, **options):
    torch.manual_seed(seed)
    method = create_method(name, **options)
    return method, method.build_network().eval()


@pytest.mark.parametrize("name, keys", [
    # a sample of the official state_dict keys (module names as in the official classes)
    ("hdrunet", ["recon_trunk2.7.sft2.SFT_shift_conv1.bias", "CondNet3.2.weight", "mask_est.6.weight",
                 "SFT_layer1.SFT_scale_conv0.weight", "up_conv2.0.weight", "cond_first.4.bias"]),
    ("kunet", ["recon_trunk2.rdb.layer.1.conv.conv.weight", "recon_trunk2.conv1x1.conv.weight", "belta.1.bias",
               "gammma3.denosing.conv.conv.weight", "gammma1.tmo.1.conv.bias", "gammma2.refin.weight", "conv_2.bias"]),
    ("fhdr", ["feedback_block.DRDB3.dense_layers.3.conv.weight", "feedback_block.DRDB1.conv_1x1.weight",
              "feedback_block.compress_in.bias", "feedback_block.GFF_3x3.weight", "hrb2.bias", "feb1.weight"]),
])
def test_state_dict_uses_the_official_key_names(name, keys):
    _, net = _net(name)
    state = net.state_dict()
    assert set(keys) <= set(state)
    # tensors in the official state_dicts, counted from the classes (weight + bias per conv):
    # HDRUNet 8 U-Net convs + 12 blocks × 10 + 2 SFT × 4 + cond 9 + mask 4 = 149 convs → 298;
    # KUNet 9 shell convs + 3 chains × 4 + α/β 4 + 3 KIC × 4 = 37 convs → 74;
    # FHDR 9 biased convs (feb1/2, compress_in, GFF, hrb1/2, 3 DRDB compress) → 18 + 15 bias-free → 33.
    official_tensors = {"hdrunet": 298, "kunet": 74, "fhdr": 33}
    assert len(state) == official_tensors[name]


# -- HDRUNet --------------------------------------------------------------------------------------------
def test_hdrunet_sft_layer_equals_its_conv_composition():
    torch.manual_seed(3)
    sft = SFTLayer(32, 64, 32)
    fea, cond = torch.randn(2, 64, 5, 7), torch.randn(2, 32, 5, 7)

    def branch(c0, c1):
        return F.conv2d(F.leaky_relu(F.conv2d(cond, c0.weight, c0.bias), 0.1), c1.weight, c1.bias)

    scale = branch(sft.SFT_scale_conv0, sft.SFT_scale_conv1)
    shift = branch(sft.SFT_shift_conv0, sft.SFT_shift_conv1)
    torch.testing.assert_close(sft(fea, cond), fea * (1 + scale) + shift)


def test_hdrunet_output_is_mask_times_input_plus_trunk_and_condition_is_the_ldr():
    method, net = _net("hdrunet")
    ldr, _ = _batch(1, 16, 20)
    other = torch.rand_like(ldr)
    assert torch.equal(method.forward(net, ldr), net(ldr, ldr))
    assert not torch.allclose(net(ldr, other), net(ldr, ldr))  # the condition input matters
    with torch.no_grad():
        net.conv_last.weight.zero_()
        net.conv_last.bias.zero_()
    m = net.mask_est
    mask = F.conv2d(F.relu(F.conv2d(F.relu(F.conv2d(F.relu(F.conv2d(ldr, m[0].weight, m[0].bias, padding=1)),
                                                      m[2].weight, m[2].bias, padding=1)), m[4].weight, m[4].bias)),
                    m[6].weight, m[6].bias)
    torch.testing.assert_close(method.forward(net, ldr), mask * ldr)


def test_hdrunet_tanh_l1_loss_matches_numpy():
    method = create_method("hdrunet")
    pred = torch.tensor([[-0.5, 0.2, 3.0, 40.0]])
    gt = torch.tensor([[0.0, 0.7, 2.0, 1.0]])
    expected = np.mean(np.abs(np.tanh(pred.numpy()) - np.tanh(gt.numpy())))
    assert float(method.build_loss()(pred, gt, None)) == pytest.approx(expected, rel=1e-6)
    assert method.recipe.patch_size == 160 and method.recipe.betas == (0.9, 0.99)
    with pytest.raises(HDRBenchError, match="blocks"):
        create_method("hdrunet", blocks=[2, 8])
    assert create_method("hdrunet", blocks=[1, 1, 1]).parameter_count() == 1_651_494 - 9 * 86_528  # per SFT block


# -- KUNet ----------------------------------------------------------------------------------------------
def test_kunet_shares_its_blocks_like_the_official_code():
    _, net = _net("kunet")
    calls: dict[str, int] = {}
    for name in ("recon_trunk1.rdb", "recon_trunk2.rdb", "recon_trunk3.rdb", "alpha", "belta", "conv_2"):
        net.get_submodule(name).register_forward_hook(lambda *_, n=name: calls.__setitem__(n, calls.get(n, 0) + 1))
    net(torch.rand(1, 3, 16, 16))
    # one RDB applied 4 / 6 / 4 times; trunk 2 twice; one α and one β for all four KIBs; conv_2 head and tail
    assert calls == {"recon_trunk1.rdb": 4, "recon_trunk2.rdb": 12, "recon_trunk3.rdb": 4, "alpha": 4, "belta": 4,
                     "conv_2": 2}
    assert sum(1 for n, _ in net.named_modules() if n.endswith(".rdb")) == 3


def test_kunet_rdb_and_kic_equal_their_hand_compositions():
    torch.manual_seed(4)
    x, dec = torch.randn(2, 8, 6, 5), torch.randn(2, 8, 6, 5)

    def c3(mod, t):
        return F.conv2d(t, mod.weight, mod.bias, padding=1)

    rdb = RDB(8)
    l0, l1 = rdb.layer[0].conv.conv, rdb.layer[1].conv.conv
    y = x + F.relu(c3(l0, x))
    y = y + F.relu(c3(l1, y))
    torch.testing.assert_close(rdb(x), F.conv2d(y, rdb.conv1x1.conv.weight, rdb.conv1x1.conv.bias) + x)

    kic = KIC(8)
    d = kic.denosing.conv.conv
    den = x + F.relu(c3(d, F.relu(c3(d, x))))  # the same conv applied twice
    tm = F.relu(c3(kic.tmo[1].conv, F.relu(c3(kic.tmo[0].conv, den))))
    cos = (tm * dec).sum(1, keepdim=True) / (tm.norm(dim=1, keepdim=True) * dec.norm(dim=1, keepdim=True)).clamp_min(
        1e-8)
    torch.testing.assert_close(kic(x, dec), F.conv2d(cos * x, kic.refin.weight, kic.refin.bias))


def test_kunet_mask_variant_counts_heads_and_loss_matches_numpy():
    method, net = _net("kunet", variant="mask")
    # official KIB_DM_F_1x1_mask: 3×3 α/β (+4·(36,928 − 4,160)) and four auxiliary heads (893,196) on top
    # of the plain network: 1,136,643 + 131,072 + 893,196 = 2,160,911
    assert count_parameters(net) == 2_160_911
    recipe = method.stages()[0].recipe
    assert recipe.source.endswith("train_hdrtv.yml") and recipe.batch_size == 12
    ldr, hdr = _batch(1, 16, 16)
    out, aux = net(ldr, return_aux=True)
    assert len(aux) == 4 and all(a.shape == hdr.shape for a in aux)
    torch.testing.assert_close(net(ldr), out)
    o, g, l = out.detach().numpy(), hdr.numpy(), ldr.numpy()
    threshold = np.repeat((l.mean(axis=1, keepdims=True) > 0.83).astype(np.float32), 3, axis=1)
    assert 0 < threshold.mean() < 1
    # the official mask config (train_hdrtv.yml, dataset mode hdrtv) passes the LDR itself as the loss's mask;
    # LQGT_condition_dataset.py's cond is the 0.83 threshold mask
    for aux_mask, m in (("ldr", l), ("threshold", threshold)):
        method = create_method("kunet", variant="mask", aux_mask=aux_mask)
        value, _ = method.training_loss(net, method.build_loss(), ldr, hdr, method.stages()[0])
        expected = np.abs(o - g).mean() + sum(
            0.01 * (np.abs(a.detach().numpy() * m - g * m).mean() + 0.1 * np.abs(a.detach().numpy() - g).mean())
            for a in aux)
        assert float(value.detach()) == pytest.approx(float(expected), rel=1e-5)
    assert create_method("kunet").options["aux_mask"] == "ldr"
    with pytest.raises(HDRBenchError, match="variant"):
        create_method("kunet", variant="masked")


# -- FHDR -----------------------------------------------------------------------------------------------
def test_fhdr_resets_hidden_state_at_every_forward():
    _, net = _net("fhdr")
    a, _ = _batch(1, 20, 24, seed=1)
    b, _ = _batch(1, 20, 24, seed=2)
    first_b = net(b)
    net(a)
    torch.testing.assert_close(net(b), first_b, rtol=0, atol=0)  # no state carried over from the call on a
    outs = net(b, return_all=True)
    assert len(outs) == 4 and not torch.allclose(outs[0], outs[-1])  # the feedback iterations do change it
    _, net2 = _net("fhdr", iterations=2)
    assert len(net2(b, return_all=True)) == 2


def test_fhdr_converts_tanh_output_to_linear_unit_range():
    net = FHDRNet(iterations=1)
    with torch.no_grad():
        net.hrb2.weight.zero_()
        net.hrb2.bias.copy_(torch.tensor([-1.0, 0.0, 2.0]))
    out = net(torch.rand(1, 3, 9, 11))
    expected = (np.tanh(np.array([-1.0, 0.0, 2.0])) + 1) / 2
    torch.testing.assert_close(out[0, :, 4, 5], torch.tensor(expected, dtype=torch.float32))


def test_fhdr_first_drdb_pass_equals_hand_composition():
    torch.manual_seed(5)
    drdb = FHDRNet(iterations=1).feedback_block.DRDB1
    x = torch.randn(1, 64, 7, 9)
    y = F.conv2d(torch.cat((x, x), 1), drdb.compress.weight, drdb.compress.bias)  # hidden = input at pass 1
    for layer in drdb.dense_layers:
        y = torch.cat((y, F.relu(F.conv2d(y, layer.conv.weight, padding=2, dilation=2))), 1)
    torch.testing.assert_close(drdb(x, x), F.conv2d(y, drdb.conv_1x1.weight))


def test_fhdr_loss_matches_independent_reference():
    method, net = _net("fhdr", iterations=2)
    loss_fn = method.build_loss()
    ldr, hdr = _batch(2, 16, 16)
    outs = net(ldr, return_all=True)
    value, _ = method.training_loss(net, loss_fn, ldr, hdr, method.stages()[0])
    # reference: numpy μ-law, torchvision's own VGG with the same offline weights, relu{1..5}_1 slices
    arch = loss_fn.vgg.arch
    vgg = getattr(torchvision.models, arch)().features.eval()
    vgg.load_state_dict({k.removeprefix("features."): v for k, v in resolve_backbone(arch).state_dict.items()})
    relu_x_1 = {"vgg16": (1, 6, 11, 18, 25), "vgg19": (1, 6, 11, 20, 29)}[arch]

    caffe = loss_fn.vgg.convention == "caffe"  # the original VGG19: BGR, 0-255, mean subtracted

    def feats(t):
        out = []
        if caffe:  # the official input is torchvision-standardised: the image it stands for, in Caffe's units
            image = t * torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1) + torch.tensor([0.485, 0.456, 0.406]
                                                                                             ).view(1, 3, 1, 1)
            t = image[:, [2, 1, 0]] * 255 - torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
        for i, layer in enumerate(vgg[: relu_x_1[-1] + 1]):
            t = layer(t)
            if i in relu_x_1:
                out.append(t / (255 * 0.226) if caffe else t)  # one input unit = 255·mean(std) Caffe units
        return out

    def mu(t):
        return torch.from_numpy(np.log(1 + 5000 * t.detach().numpy()) / np.log(5001)).float()

    terms = []
    for p in outs:
        fp, fg = feats(mu(p)), feats(mu(hdr))
        perceptual = sum(w * (a - b).abs().mean() for w, a, b in zip((1 / 32, 1 / 16, 1 / 8, 1 / 4, 1), fp, fg))
        terms.append((mu(p) - mu(hdr)).abs().mean() + 10 * perceptual)
    assert float(value.detach()) == pytest.approx(float(sum(terms).detach() / 2), rel=1e-4)
    assert loss_fn.vgg.normalize is None
    torch.testing.assert_close(mu_law(torch.tensor([0.0, 1.0])), torch.tensor([0.0, 1.0]))


def test_fhdr_options_are_checked_and_set_the_margin():
    with pytest.raises(HDRBenchError, match="iterations"):
        create_method("fhdr", iterations=0)
    with pytest.raises(HDRBenchError, match="did you mean 'iterations'"):
        create_method("fhdr", iteration=2)
    assert create_method("fhdr", iterations=2).receptive_margin == 54
    assert create_method("fhdr").recipe_for("paper").patch_size == 512


# -- CLI ------------------------------------------------------------------------------------------------
def test_cli_predict_random_init_at_odd_size(cli, tmp_path, monkeypatch):
    from hdrbench import io

    monkeypatch.setenv("OMP_NUM_THREADS", "1")

    rng = np.random.default_rng(0)
    io.write_ldr(tmp_path / "in.png", rng.random((37, 45, 3)))
    res = cli("predict", "--method", "kunet", "--random-init", "--device", "cpu", tmp_path / "in.png",
              tmp_path / "out.exr")
    assert res.returncode == 0, res.stderr
    hdr = io.read_hdr(tmp_path / "out.exr")
    assert hdr.shape == (37, 45, 3) and np.isfinite(hdr).all()
