"""HDRCNN's two modes: the official highlight blending with a masked loss, and the DCDR-UNet paper's whole-image
mode (§4.4.1) that the ``paper`` protocol selects; and the measured saturation level its ``hdr_scale`` needs."""

from __future__ import annotations

import pytest
import torch

from baselines.hdrcnn import EPS, IlluminationReflectanceLoss, MaskedLogL2Loss
from hdrbench.config import parse_config
from hdrbench.datasets.base import create_dataset
from hdrbench.datasets.saturation import measured_saturation
from hdrbench.errors import HDRBenchError
from hdrbench.method import create_method
from hdrbench.train import job_for


@pytest.fixture(scope="module")
def net_and_input():
    torch.manual_seed(0)
    net = create_method("hdrcnn", pretrained=False).build_network().eval()
    ldr = torch.rand(1, 3, 32, 32) * 0.9  # every pixel below τ = 0.95: the blending takes none of the network
    ldr[..., :4, :4] = 1.0  # except a saturated corner
    return net, ldr


def test_official_mode_blends_only_highlights(net_and_input):
    net, ldr = net_and_input
    m = create_method("hdrcnn", pretrained=False, hdr_scale=0.5)
    assert m.options["mode"] == "official"
    with torch.no_grad():
        out, y = m.forward(net, ldr), torch.exp(net(ldr)) - EPS
    torch.testing.assert_close(out[..., 8:, 8:], 0.5 * ldr[..., 8:, 8:] ** 2.0)  # γ = 2 input, no network
    torch.testing.assert_close(out[..., :4, :4], 0.5 * y[..., :4, :4].clamp_min(0))  # α = 1: network only
    hdr = torch.rand(1, 3, 32, 32) * 0.9  # target below τ everywhere: the masked losses see nothing
    for loss in m.build_loss(), create_method("hdrcnn", pretrained=False, sep_loss=False).build_loss():
        assert loss.masked and float(loss(torch.randn(1, 3, 32, 32), hdr)) == 0.0


def test_whole_image_mode_uses_the_network_everywhere_with_an_unmasked_loss(net_and_input):
    net, ldr = net_and_input
    m = create_method("hdrcnn", pretrained=False, hdr_scale=0.5, mode="whole", sep_loss=False)
    with torch.no_grad():
        out = m.forward(net, ldr)
        ref = 0.5 * (torch.exp(net(ldr)) - 1 / 255).clamp_min(0)
    torch.testing.assert_close(out, ref)
    assert not torch.allclose(out[..., 8:, 8:], 0.5 * ldr[..., 8:, 8:] ** 2.0)
    pred_log, hdr = torch.randn(1, 3, 8, 8), torch.rand(1, 3, 8, 8) * 0.9
    loss = m.build_loss()
    assert isinstance(loss, MaskedLogL2Loss) and not loss.masked
    assert float(loss(pred_log, hdr)) == pytest.approx(float(((pred_log - torch.log(hdr + 1 / 255)) ** 2).mean()))
    sep = create_method("hdrcnn", pretrained=False, mode="whole").build_loss()
    assert isinstance(sep, IlluminationReflectanceLoss) and float(sep(pred_log, hdr)) > 0
    # the training loss divides the target by hdr_scale (units where the LDR saturates at 1)
    target = torch.rand(1, 3, 32, 32) * 0.9
    value, _ = m.training_loss(net, loss, ldr, target * 0.5, m.stages()[0])
    with torch.no_grad():
        ref_loss = ((net(ldr) - torch.log(target + 1 / 255)) ** 2).mean()
    assert float(value.detach()) == pytest.approx(float(ref_loss), rel=1e-5)
    with pytest.raises(HDRBenchError, match="mode='blend'"):
        create_method("hdrcnn", mode="blend")


def test_paper_protocol_selects_whole_image_mode(tmp_path):
    assert create_method("hdrcnn", pretrained=False, recipes="paper").options["mode"] == "whole"
    assert create_method("hdrcnn", pretrained=False, recipes="paper").options["mode"] == "whole"
    assert create_method("hdrcnn", pretrained=False, recipes="official").options["mode"] == "official"
    assert create_method("hdrcnn", pretrained=False, recipes="paper", mode="official").options["mode"] == "official"
    cfg = parse_config({"benchmark": {"output": str(tmp_path)}, "dataset": {"name": "demo"},
                        "train": {"recipes": "paper"},
                        "methods": [{"name": "hdrcnn", "train": True, "options": {"pretrained": False}},
                                    {"name": "hdrcnn", "id": "h2", "train": True, "recipes": "official",
                                     "options": {"pretrained": False}}]}, tmp_path / "b.toml")
    assert job_for(cfg, cfg.methods[0]).method.options["mode"] == "whole"
    assert job_for(cfg, cfg.methods[1]).method.options["mode"] == "official"
    assert job_for(cfg, cfg.methods[1], recipes="paper").method.options["mode"] == "whole"


def test_measured_saturation_recovers_the_demo_cameras_declared_level():
    """Independent of the declaration: read off the demo pairs, the LDR clips at ground truth 1/64 (code 255
    starts at 0.9914 of the sensor's saturation: 254.5/255 linearised with γ 2.2)."""
    demo = create_dataset("demo")
    level = measured_saturation(demo, "test", max_pairs=4)
    assert demo.ldr_camera().saturation == 1 / 64
    assert 0.985 / 64 < level < 1.0 / 64, level * 64
