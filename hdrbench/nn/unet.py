"""The two-level U-Net shell shared by HDRUNet, KUNet and DCDR-UNet's restoration net.

Both official codebases (``chxy95/HDRUNet``, ``wanghu178/KUNet``, the latter a fork of the former) build
the same outer U-Net: a full-resolution head, two stride-2 3×3 down-convs, two conv + PixelShuffle(2)
up-samplers and a full-resolution tail. Attribute names follow the official code so that an official
``state_dict`` maps onto ours key for key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn


def pixel_shuffle_up(nf: int) -> nn.Sequential:
    """3×3 conv ``nf → 4·nf`` then PixelShuffle(2): ``(N, nf, H, W) → (N, nf, 2H, 2W)``."""
    return nn.Sequential(nn.Conv2d(nf, nf * 4, 3, 1, 1), nn.PixelShuffle(2))


class UNetShell(nn.Module):
    """The outer layers of HDRUNet/KUNet (width ``nf`` everywhere); subclasses add trunks and forward.

    Resolutions: ``conv_first``, ``HR_conv1``, ``HR_conv2``, ``conv_last`` at full size; ``down_conv1``
    halves, ``down_conv2`` quarters; ``up_conv1``/``up_conv2`` double. Inputs must have H, W multiples of 4.
    """

    def __init__(self, in_nc: int = 3, out_nc: int = 3, nf: int = 64):
        super().__init__()
        self.conv_first = nn.Conv2d(in_nc, nf, 3, 1, 1)
        self.HR_conv1 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.down_conv1 = nn.Conv2d(nf, nf, 3, 2, 1)
        self.down_conv2 = nn.Conv2d(nf, nf, 3, 2, 1)
        self.up_conv1 = pixel_shuffle_up(nf)
        self.up_conv2 = pixel_shuffle_up(nf)
        self.HR_conv2 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_last = nn.Conv2d(nf, out_nc, 3, 1, 1)

    @staticmethod
    def act(x: torch.Tensor) -> torch.Tensor:
        """The shell's activation (ReLU, the official ``act_type: relu``)."""
        return torch.relu(x)

    def sft_unet(self, ldr: torch.Tensor, head: Callable[[torch.Tensor], torch.Tensor],
                 trunks: Sequence[Callable[[torch.Tensor], torch.Tensor]],
                 tail: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """HDRUNet's wiring of the shell, with skip additions at 1/4, 1/2 and full resolution.

        ``head``/``tail``: feature modulations at full resolution (SFT in HDRUNet); ``trunks``: three
        feature maps → same-shape maps at 1/2, 1/4, 1/2 resolution. ``ldr`` (N, in_nc, H, W), H, W
        multiples of 4 → ``conv_last`` output (N, out_nc, H, W).
        """
        trunk1, trunk2, trunk3 = trunks
        fea0 = self.act(self.HR_conv1(head(self.act(self.conv_first(ldr)))))
        fea1 = trunk1(self.act(self.down_conv1(fea0)))
        fea2 = self.act(self.down_conv2(fea1))
        out = self.act(self.up_conv1(trunk2(fea2) + fea2)) + fea1
        out = self.act(self.up_conv2(trunk3(out))) + fea0
        return self.conv_last(self.act(self.HR_conv2(tail(out))))
