"""SingleHDR's Dequantization-Net (and the Refinement-Net, the same U-Net with other widths).

Official TF code: ``alex04072000/SingleHDR`` ``dequantization_net.py`` / ``refinement_net.py``. Every conv is
followed by LeakyReLU(0.1): stem 7×7 (16), 7×7 (16); four down steps [avg-pool 2, two convs] at 32 (5×5), 64,
128 and ``bottleneck`` (3×3); four up steps [bilinear ×2, 3×3 conv, concat skip, 3×3 conv] back to 16; a 3×3
head to 3 channels, ``tanh`` (dequantization only), added to the input's first three channels.

Tensors: ``(N, C_in, H, W)`` with ``H, W`` multiples of 16 → ``(N, 3, H, W)``. For dequantization the input
and output are display-referred LDR in [0, 1] (the caller clips the output); for refinement the input is
``[A; B; C]`` (9 channels, linear HDR) and the output linear HDR.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _conv(c_in: int, c_out: int, k: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, k, padding=k // 2)


class _Down(nn.Module):
    def __init__(self, c_in: int, c_out: int, k: int):
        super().__init__()
        self.conv1, self.conv2 = _conv(c_in, c_out, k), _conv(c_out, c_out, k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.avg_pool2d(x, 2)
        return F.leaky_relu(self.conv2(F.leaky_relu(self.conv1(x), 0.1)), 0.1)


class _Up(nn.Module):
    def __init__(self, c_in: int, c_out: int, c_skip: int):
        super().__init__()
        self.conv1, self.conv2 = _conv(c_in, c_out, 3), _conv(c_out + c_skip, c_out, 3)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        x = F.leaky_relu(self.conv1(x), 0.1)
        return F.leaky_relu(self.conv2(torch.cat([x, skip], 1)), 0.1)


class ResidualUNet(nn.Module):
    """The Dequantization/Refinement U-Net: ``input[:, :3] + head(...)`` (``tanh`` on the head if asked)."""

    def __init__(self, in_channels: int = 3, bottleneck: int = 256, tanh: bool = True):
        super().__init__()
        self.stem1, self.stem2 = _conv(in_channels, 16, 7), _conv(16, 16, 7)
        self.down = nn.ModuleList([_Down(16, 32, 5), _Down(32, 64, 3), _Down(64, 128, 3), _Down(128, bottleneck, 3)])
        self.up = nn.ModuleList([_Up(bottleneck, 128, 128), _Up(128, 64, 64), _Up(64, 32, 32), _Up(32, 16, 16)])
        self.head = _conv(16, 3, 3)
        self.tanh = tanh

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.leaky_relu(self.stem2(F.leaky_relu(self.stem1(x), 0.1)), 0.1)
        skips = [s]
        for down in self.down:
            skips.append(down(skips[-1]))
        y = skips.pop()
        for up in self.up:
            y = up(y, skips.pop())
        y = self.head(y)
        return x[:, :3] + (torch.tanh(y) if self.tanh else y)


def dequantization_net() -> ResidualUNet:
    """Dequantization-Net: 3 → 3, bottleneck 256, ``tanh`` residual (1,999,779 parameters)."""
    return ResidualUNet(3, 256, tanh=True)


def refinement_net() -> ResidualUNet:
    """Refinement-Net: ``[A; B; C]`` 9 → 3, bottleneck 128, plain residual (1,262,243 parameters)."""
    return ResidualUNet(9, 128, tanh=False)
