"""DCDR-UNet's ``init`` option: ``kaiming_normal`` is He et al.'s normal initialisation (std √(2/fan_in), the
literal reading of §4.1.3's "Kaiming initialization"); ``torch_default`` is PyTorch's ``kaiming_uniform(a=√5)``,
whose std is √(1/3)/√fan_in, i.e. √(1/6) ≈ 0.41 of He's (the 64-channel plain convs are checked)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from hdrbench.method import create_method


def ratios(init: str) -> list[float]:
    """std / √(2/fan_in) of every conv with at least 64·64·9 weights (enough for a 1 % std estimate)."""
    torch.manual_seed(0)
    net = create_method("dcdr", init=init).build_network()
    out = []
    for m in net.modules():
        if isinstance(m, nn.Conv2d) and m.weight.numel() >= 64 * 64 * 9:
            fan_in = m.weight[0].numel()
            out.append(float(m.weight.std()) / math.sqrt(2.0 / fan_in))
    return out


@pytest.mark.parametrize("init,full", [("kaiming_normal", 1.0), ("torch_default", math.sqrt(1 / 6))])
def test_conv_weight_std_follows_the_named_initialisation(init, full):
    r = ratios(init)
    assert len(r) >= 6  # the trunk's and the condition net's 64-channel 3x3 convs
    for x in r:
        assert abs(x / full - 1) < 0.05, (init, x)  # within 5 % of He's std (or of PyTorch's 0.41 of it)
