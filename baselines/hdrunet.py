"""HDRUNet (Chen et al., CVPRW 2021): a U-Net with spatial feature transform (SFT) conditioning.

Re-implemented from the official code ``chxy95/HDRUNet`` (``codes/models/modules/UNet_arch.py``,
``arch_util.py``, ``customize_loss.py``, ``options/train/train_HDRUNet.yml``). Module names follow the
official ones, so an official ``state_dict`` loads key for key.

Network: ``(ldr, cond)`` → HDR. ``ldr`` and ``cond`` are the same LDR image (the official
``condition: image``), ``(N, 3, H, W)`` display-referred [0, 1], H and W multiples of 4. Output
``(N, 3, H, W)`` in the units of the training ground truth, unbounded (no output activation; a
non-sigmoid mask branch re-injects the input: ``out = mask_est(ldr) · ldr + trunk(ldr, cond)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from hdrbench.errors import HDRBenchError
from hdrbench.method import Method, Recipe
from hdrbench.nn.losses import TanhL1Loss
from hdrbench.nn.unet import UNetShell
from hdrbench.official import OfficialWeights, count_indexed, same_names

#: What users of the released HDRUNet/KUNet models must know about their output.
NTIRE_GAMMA_NOTE = ("the released models were trained on NTIRE 2021 HDR, which is gamma-encoded (gamma 2.24), so "
                    "the output is too: raise it to the power 2.24 for linear HDR")


class SFTLayer(nn.Module):
    """Spatial feature transform: ``fea · (1 + scale(cond)) + shift(cond)``.

    ``scale`` and ``shift`` are each 1×1 conv ``cond_nc → hidden``, LeakyReLU(0.1), 1×1 conv ``hidden → nf``.
    ``fea`` (N, nf, H, W), ``cond`` (N, cond_nc, H, W) at the same resolution.
    """

    def __init__(self, cond_nc: int = 32, nf: int = 64, hidden: int = 32):
        super().__init__()
        self.SFT_scale_conv0 = nn.Conv2d(cond_nc, hidden, 1)
        self.SFT_scale_conv1 = nn.Conv2d(hidden, nf, 1)
        self.SFT_shift_conv0 = nn.Conv2d(cond_nc, hidden, 1)
        self.SFT_shift_conv1 = nn.Conv2d(hidden, nf, 1)

    def forward(self, fea: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        scale = self.SFT_scale_conv1(F.leaky_relu(self.SFT_scale_conv0(cond), 0.1))
        shift = self.SFT_shift_conv1(F.leaky_relu(self.SFT_shift_conv0(cond), 0.1))
        return fea * (scale + 1) + shift


class SFTResBlock(nn.Module):
    """``x + conv2(SFT2(relu(conv1(SFT1(x, cond))), cond))``; convs Kaiming-normal × 0.1, zero bias."""

    def __init__(self, nf: int = 64, cond_nc: int = 32):
        super().__init__()
        self.sft1 = SFTLayer(cond_nc, nf, cond_nc)
        self.conv1 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.sft2 = SFTLayer(cond_nc, nf, cond_nc)
        self.conv2 = nn.Conv2d(nf, nf, 3, 1, 1)
        for conv in (self.conv1, self.conv2):  # the official residual-block initialisation
            nn.init.kaiming_normal_(conv.weight, a=0, mode="fan_in")
            conv.weight.data.mul_(0.1)
            nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        fea = F.relu(self.conv1(self.sft1(x, cond)))
        return x + self.conv2(self.sft2(fea, cond))


class SFTTrunk(nn.Sequential):
    """``n`` :class:`SFTResBlock` sharing one condition map (official ``recon_trunk``)."""

    def __init__(self, n: int, nf: int = 64, cond_nc: int = 32):
        super().__init__(*(SFTResBlock(nf, cond_nc) for _ in range(n)))

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        for block in self:
            x = block(x, cond)
        return x


class HDRUNetNet(UNetShell):
    """HDRUNet: SFT-conditioned two-level U-Net (2 + 8 + 2 residual blocks) plus a mask branch."""

    def __init__(self, in_nc: int = 3, out_nc: int = 3, nf: int = 64, cond_nf: int = 64, cond_out: int = 32,
                 blocks: tuple[int, int, int] = (2, 8, 2)):
        super().__init__(in_nc, out_nc, nf)
        self.SFT_layer1 = SFTLayer(cond_out, nf, cond_out)
        self.SFT_layer2 = SFTLayer(cond_out, nf, cond_out)
        self.recon_trunk1 = SFTTrunk(blocks[0], nf, cond_out)
        self.recon_trunk2 = SFTTrunk(blocks[1], nf, cond_out)
        self.recon_trunk3 = SFTTrunk(blocks[2], nf, cond_out)

        def lrelu() -> nn.LeakyReLU:
            return nn.LeakyReLU(0.1)

        self.cond_first = nn.Sequential(nn.Conv2d(in_nc, cond_nf, 3, 1, 1), lrelu(), nn.Conv2d(cond_nf, cond_nf, 1),
                                        lrelu(), nn.Conv2d(cond_nf, cond_nf, 1), lrelu())
        self.CondNet1 = nn.Sequential(nn.Conv2d(cond_nf, cond_nf, 1), lrelu(), nn.Conv2d(cond_nf, cond_out, 1))
        self.CondNet2 = nn.Sequential(nn.Conv2d(cond_nf, cond_nf, 3, 2, 1), lrelu(), nn.Conv2d(cond_nf, cond_out, 1))
        self.CondNet3 = nn.Sequential(nn.Conv2d(cond_nf, cond_nf, 3, 2, 1), lrelu(),
                                      nn.Conv2d(cond_nf, cond_out, 3, 2, 1))
        self.mask_est = nn.Sequential(nn.Conv2d(in_nc, nf, 3, 1, 1), nn.ReLU(), nn.Conv2d(nf, nf, 3, 1, 1), nn.ReLU(),
                                      nn.Conv2d(nf, nf, 1), nn.ReLU(), nn.Conv2d(nf, out_nc, 1))

    def forward(self, ldr: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """``ldr``, ``cond``: (N, 3, H, W) [0, 1], H, W multiples of 4 → HDR (N, 3, H, W), unbounded."""
        mask = self.mask_est(ldr)
        c = self.cond_first(cond)
        cond1, cond2, cond3 = self.CondNet1(c), self.CondNet2(c), self.CondNet3(c)  # 1, 1/2, 1/4 resolution

        trunks = (partial(self.recon_trunk1, cond=cond2), partial(self.recon_trunk2, cond=cond3),
                  partial(self.recon_trunk3, cond=cond2))
        out = self.sft_unet(ldr, partial(self.SFT_layer1, cond=cond1), trunks, partial(self.SFT_layer2, cond=cond1))
        return mask * ldr + out


class HDRUNet(Method):
    """HDRUNet as in ``chxy95/HDRUNet`` (options: ``nf``, ``blocks`` = residual blocks per trunk)."""

    citation = ("X. Chen, Y. Liu, Z. Zhang, Y. Qiao, C. Dong. HDRUNet: Single Image HDR Reconstruction with "
                "Denoising and Dequantization. CVPR Workshops (NTIRE) 2021.")
    summary = "SFT-conditioned U-Net (condition = the LDR) with a mask branch; tanh-L1 loss; 1.65 M params"
    default_options = {"nf": 64, "blocks": (2, 8, 2)}
    recipe = Recipe(optimizer="adam", lr=2e-4, betas=(0.9, 0.99), scheduler="multistep",
                    milestones=(200_000, 400_000, 600_000, 800_000), gamma=0.5, batch_size=16, patch_size=160,
                    iterations=1_000_000, crop="random", augment=("hflip", "vflip", "transpose"),
                    source="chxy95/HDRUNet codes/options/train/train_HDRUNet.yml (use_flip, use_rot)")
    # chxy95/HDRUNet UNet_arch.HDRUNet(in_nc=3, out_nc=3, nf=64): 12 ResBlock_with_SFT (2 c3 64→64 +
    # 2 SFT layers of 4 c1: 2·36,928 + 2·(2·(32·32+32) + 2·(32·64+64)) = 86,528 each) = 1,038,336;
    # conv_first 1,792 + HR_conv1/2 2·36,928 + down_conv1/2 2·36,928 + SFT_layer1/2 2·12,416;
    # up_conv1/2 2·(64·256·9 + 256) = 295,424; cond net 110,752; mask branch 43,075 → 1,651,494.
    official_params = 1_651_494
    pad_multiple = 4
    clip_negative = True
    receptive_margin = 96  # receptive radius of the conv chain: 93 px
    output_convention = ("HDR RGB in the units of the training ground truth, (N,3,H,W); unbounded while training, "
                         "negatives clipped to 0 by predict (as the official saving code does)")

    def __post_init__(self) -> None:
        super().__post_init__()
        blocks = self.options["blocks"]
        if not (isinstance(blocks, list | tuple) and len(blocks) == 3 and all(isinstance(b, int) and b >= 0
                                                                             for b in blocks)):
            raise HDRBenchError(f"method 'hdrunet': option blocks={blocks!r} must be three integers >= 0, "
                                "e.g. [2, 8, 2]")

    @classmethod
    def convert_official_state_dict(cls, state: Mapping[str, Any]) -> OfficialWeights | None:
        """``chxy95/HDRUNet``'s ``pretrained_model.pth``: the official names are ours, key for key."""
        if "cond_first.0.weight" not in state or "SFT_layer1.SFT_scale_conv0.weight" not in state:
            return None
        options = {"nf": int(state["conv_first.weight"].shape[0]),
                   "blocks": tuple(count_indexed(state, f"recon_trunk{i}.") for i in (1, 2, 3))}
        return same_names(cls, state, options, "HDRUNet official release (chxy95/HDRUNet)", NTIRE_GAMMA_NOTE)

    def build_network(self) -> nn.Module:
        return HDRUNetNet(nf=int(self.options["nf"]), blocks=tuple(self.options["blocks"]))

    def build_loss(self) -> nn.Module:
        return TanhL1Loss()

    def forward(self, net: nn.Module, ldr: torch.Tensor) -> torch.Tensor:
        """The condition input is the LDR image itself (official ``condition: image``)."""
        return net(ldr, ldr)
