"""The learning study (benchmarks/learning.py) and DCDR-UNet's initialisation choices that it motivated."""

from __future__ import annotations

import csv
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from dcdr.network import DCDRConfig, DCDRUNet

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(nf=8, blocks=(1, 1, 1), cond_nf=8, cond_out=8, sft_hidden=4, tone_nf=8)


def _learning():
    spec = importlib.util.spec_from_file_location("learning_bench", ROOT / "benchmarks" / "learning.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def test_default_tone_net_starts_as_a_neutral_gain():
    """At init ``T_G(I)`` must be the same on every channel (no colour cast to unlearn) and its last conv must
    still receive gradients, else the tone net could never leave its start."""
    torch.manual_seed(0)
    net = DCDRUNet(DCDRConfig(**TINY))
    x = torch.rand(2, 3, 16, 16)
    gain = net.tone.gain(x)
    assert torch.allclose(gain[:, 0], gain[:, 1]) and torch.allclose(gain[:, 1], gain[:, 2])
    net(x).square().mean().backward()
    assert net.tone.gain[-1].weight.grad.abs().sum() > 0


def test_kaiming_tone_init_is_a_random_per_channel_gain():
    """The old initialisation, kept as an option: the per-channel gains differ (what the neutral one fixes)."""
    torch.manual_seed(0)
    net = DCDRUNet(DCDRConfig(**TINY, tone_init="kaiming"))
    g = net.tone.gain(torch.rand(2, 3, 16, 16)).mean(dim=(0, 2, 3))
    assert (g.max() - g.min()).abs() > 1e-3


def test_torch_default_init_has_pytorchs_conv_statistics():
    """``init="torch_default"`` draws every conv as a fresh ``nn.Conv2d`` would (independent reference: PyTorch's
    own initialiser): uniform weights within 1/sqrt(fan_in) and biases within the same bound."""
    torch.manual_seed(0)
    net = DCDRUNet(DCDRConfig(nf=16, blocks=(1, 1, 1), init="torch_default", tone_init="kaiming", residual_scale=1.0,
                              zero_offsets=False))
    conv = net.restoration.HR_conv1
    ref = nn.Conv2d(16, 16, 3, 1, 1)
    bound = 1 / math.sqrt(16 * 9)
    assert conv.weight.abs().max() <= bound and conv.bias.abs().max() <= bound
    assert conv.weight.std().item() == pytest.approx(ref.weight.std().item(), rel=0.1)


def test_parse_spec():
    mod = _learning()
    s = mod.parse_spec("dcdr-relu=dcdr:relu_between=true,blocks=1;2;1,vgg_feature_scale=1/12.75")
    assert (s.label, s.name) == ("dcdr-relu", "dcdr")
    assert s.options == {"relu_between": True, "blocks": [1, 2, 1], "vgg_feature_scale": pytest.approx(1 / 12.75)}
    assert mod.parse_spec("hdrunet").label == "hdrunet"
    assert mod.parse_spec("c=dcdr:recipe.scheduler=constant").recipe == {"scheduler": "constant"}
    # a file path is text, not a fraction
    assert mod.parse_spec("t=dcdr:vgg_weights=/w/vgg16.safetensors").options == {"vgg_weights": "/w/vgg16.safetensors"}


def test_smoke_run_writes_curves_figure_and_an_identity_row_computed_by_hand(tmp_path, capsys):
    """A 2-iteration study of two tiny networks: every checkpoint scored, one PNG, and the identity row equals
    PSNR-mu of ldr**2.2/64 computed here with numpy from the protocol's definition."""
    from hdrbench.datasets.base import create_dataset

    mod = _learning()
    tiny = ",".join(f"{k}={';'.join(map(str, v)) if isinstance(v, tuple) else v}" for k, v in TINY.items())
    rc = mod.main(["--method", "hdrunet:nf=8,blocks=1;1;1", "--method", f"dcdr:{tiny},vgg_weight=0",
                   "--iterations", "2", "--eval-every", "1", "--patch", "16", "--batch", "1", "--views", "1",
                   "--out", str(tmp_path)])
    assert rc == 0
    rows = list(csv.DictReader(open(tmp_path / "curves.csv")))
    assert [(r["method"], r["step"]) for r in rows] == [("identity", "0")] + [
        (m, s) for m in ("hdrunet", "dcdr") for s in ("0", "1", "2")]
    assert (tmp_path / "learning.png").stat().st_size > 5000
    out = capsys.readouterr().out
    assert "hdrunet - dcdr psnr_mu:" in out and "hdrunet - dcdr psnr_mu_over:" in out and "well-exposed" in out

    ds = create_dataset("demo")
    ldr, hdr = ds.load_pair(ds.pairs("test")[0])
    pred = np.clip(ldr.astype(np.float64) ** 2.2 / 64, 0, 1)
    scale = max(1.0, float(hdr.max()))
    mu = lambda x: np.log1p(10 * x) / np.log1p(10)  # noqa: E731
    psnr_mu = 10 * np.log10(1 / np.mean((mu(pred / scale) - mu(hdr / scale)) ** 2))
    assert float(rows[0]["psnr_mu"]) == pytest.approx(psnr_mu, abs=1e-3)
    # in-region PSNR-mu: the paper's overexposure rule (8-bit BT.601 gray > 240, OpenCV's fixed-point weights)
    rgb8 = np.clip(np.rint(ldr.astype(np.float64) * 255), 0, 255).astype(np.int64)
    gray = (rgb8[..., 0] * 4899 + rgb8[..., 1] * 9617 + rgb8[..., 2] * 1868 + 8192) >> 14
    over = gray > 240
    assert over.sum() > 0
    err = (mu(pred / scale) - mu(hdr / scale))[over]
    assert float(rows[0]["psnr_mu_over"]) == pytest.approx(10 * np.log10(1 / np.mean(err**2)), abs=1e-3)
    views = list(csv.DictReader(open(tmp_path / "final_views.csv")))
    ident = next(r for r in views if r["method"] == "identity")
    well = ldr.max(axis=-1) < 250 / 255
    assert float(ident["wratio_g"]) == pytest.approx(pred[well, 1].mean() / hdr[well, 1].mean(), rel=1e-4)
