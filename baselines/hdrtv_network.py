"""HDRTVNet's network (Chen et al., ICCV 2021): AGCM → LE → HG as ``nn.Module`` s, shared by the method
(:mod:`baselines.hdrtv`: stages, loss, recipes) and the official test-time cascade (:mod:`baselines.hdrtv_official`).

Tensors: input ``(N, 3, H, W)`` display-referred RGB in [0, 1] (``H, W`` multiples of 32); output ``(N, 3, H, W)``
in the units of the training target.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hdrbench.errors import HDRBenchError
from hdrbench.nn.masks import highlight_mask

STAGES = ("agcm", "le", "hg")
#: Smallest condition-image side: its 4 InstanceNorm layers follow 4 stride-2 pools and need > 1 pixel.
MIN_CONDITION_SIZE = 32


# -- AGCM ---------------------------------------------------------------------------------------------
def _color_block(c_in: int, c_out: int, norm: bool) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 1), nn.AvgPool2d(3, stride=2, padding=1), nn.LeakyReLU(0.2)]
    if norm:
        layers.append(nn.InstanceNorm2d(c_out, affine=True))
    return layers


class ColorCondition(nn.Module):
    """Condition net: 5 [1×1 conv, avg-pool s2, LeakyReLU(0.2) (+ InstanceNorm)] → dropout → 1×1 → global mean."""

    def __init__(self, cond_c: int = 6):
        super().__init__()
        widths = (3, 16, 32, 64, 128, 128)
        layers: list[nn.Module] = []
        for i in range(5):
            layers += _color_block(widths[i], widths[i + 1], norm=i < 4)
        self.body = nn.Sequential(*layers, nn.Dropout(0.5), nn.Conv2d(128, cond_c, 1), nn.AdaptiveAvgPool2d(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).flatten(1)


class AGCM(nn.Module):
    """Adaptive global colour mapping: pixel-wise 1×1 convs modulated by a global condition vector."""

    def __init__(self, nf: int = 64, cond_c: int = 6):
        super().__init__()
        self.condition = ColorCondition(cond_c)
        self.convs = nn.ModuleList([nn.Conv2d(3, nf, 1), nn.Conv2d(nf, nf, 1), nn.Conv2d(nf, 3, 1)])
        self.scales = nn.ModuleList([nn.Linear(cond_c, nf), nn.Linear(cond_c, nf), nn.Linear(cond_c, 3)])
        self.shifts = nn.ModuleList([nn.Linear(cond_c, nf), nn.Linear(cond_c, nf), nn.Linear(cond_c, 3)])

    def forward(self, x: torch.Tensor, cond_image: torch.Tensor) -> torch.Tensor:
        cond = self.condition(cond_image)
        out = x
        for i, (conv, scale, shift) in enumerate(zip(self.convs, self.scales, self.shifts)):
            out = conv(out)
            out = out * (1 + scale(cond)[..., None, None]) + shift(cond)[..., None, None]
            if i < 2:
                out = F.relu(out)
        return out


# -- LE -----------------------------------------------------------------------------------------------
def _kaiming_scaled(modules: list[nn.Module], scale: float) -> None:
    """The official ``initialize_weights``: Kaiming-normal (fan-in) × ``scale``, zero bias."""
    for module in modules:
        for m in module.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in")
                m.weight.data.mul_(scale)
                if m.bias is not None:
                    m.bias.data.zero_()


class ResidualBlockNoBN(nn.Module):
    """conv-ReLU-conv + identity, init ×0.1."""

    def __init__(self, nf: int = 64):
        super().__init__()
        self.conv1 = nn.Conv2d(nf, nf, 3, padding=1)
        self.conv2 = nn.Conv2d(nf, nf, 3, padding=1)
        _kaiming_scaled([self.conv1, self.conv2], 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


class LocalEnhancement(nn.Module):
    """The modified SRResNet: stride-2 stem, ``nb`` residual blocks, PixelShuffle ×2 back to full size."""

    def __init__(self, nf: int = 64, nb: int = 16):
        super().__init__()
        self.conv_first = nn.Conv2d(3, nf, 3, stride=2, padding=1)
        self.trunk = nn.Sequential(*(ResidualBlockNoBN(nf) for _ in range(nb)))
        self.upconv = nn.Conv2d(nf, nf * 4, 3, padding=1)
        self.hr_conv = nn.Conv2d(nf, nf, 3, padding=1)
        self.conv_last = nn.Conv2d(nf, 3, 3, padding=1)
        _kaiming_scaled([self.conv_first, self.upconv, self.hr_conv, self.conv_last], 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fea = F.relu(self.conv_first(x))
        out = F.relu(F.pixel_shuffle(self.upconv(self.trunk(fea)), 2))
        return self.conv_last(F.relu(self.hr_conv(out)))


# -- HG -----------------------------------------------------------------------------------------------
def _conv_bn_relu(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU())


def _up(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out * 4, 3, padding=1), nn.PixelShuffle(2), nn.ReLU())


class HighlightGeneration(nn.Module):
    """The HG U-Net; ``forward(img, mask)`` returns ``mask·conv_last([u; img]) + img``."""

    def __init__(self, nf: int = 64):
        super().__init__()
        self.conv1, self.conv2 = _conv_bn_relu(3, nf), _conv_bn_relu(nf, 2 * nf)
        self.conv3_1, self.conv3_2 = _conv_bn_relu(2 * nf, 4 * nf), _conv_bn_relu(4 * nf, 4 * nf)
        self.conv4_1, self.conv4_2 = _conv_bn_relu(4 * nf, 8 * nf), _conv_bn_relu(8 * nf, 8 * nf)
        self.conv5_1, self.conv5_2 = _conv_bn_relu(8 * nf, 8 * nf), _conv_bn_relu(8 * nf, 8 * nf)
        self.code1, self.code2 = _conv_bn_relu(8 * nf, 8 * nf), _conv_bn_relu(8 * nf, 8 * nf)
        self.up1, self.fuse1 = _up(8 * nf, 8 * nf), nn.Conv2d(16 * nf, 8 * nf, 1)
        self.up2, self.fuse2 = _up(8 * nf, 8 * nf), nn.Conv2d(16 * nf, 4 * nf, 1)
        self.up3, self.fuse3 = _up(4 * nf, 4 * nf), nn.Conv2d(8 * nf, 2 * nf, 1)
        self.up4, self.fuse4 = _up(2 * nf, 2 * nf), nn.Conv2d(4 * nf, nf, 1)
        self.up5, self.fuse5 = _up(nf, nf), nn.Conv2d(2 * nf, 3, 1)
        self.conv_last = nn.Conv2d(6, 3, 1)
        for m in self.modules():  # the official weights_init_kaiming
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)

    def forward(self, img: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        pool = F.max_pool2d
        c1 = self.conv1(img)
        c2 = self.conv2(pool(c1, 2))
        c3 = self.conv3_2(pool(self.conv3_1(c2), 2))
        c4 = self.conv4_2(pool(self.conv4_1(c3), 2))
        c5 = self.conv5_2(pool(self.conv5_1(c4), 2))
        code = self.code2(pool(self.code1(c5), 2))
        u = self.fuse1(torch.cat([self.up1(code), c5], 1))
        u = self.fuse2(torch.cat([self.up2(u), c4], 1))
        u = self.fuse3(torch.cat([self.up3(u), c3], 1))
        u = self.fuse4(torch.cat([self.up4(u), c2], 1))
        u = self.fuse5(torch.cat([self.up5(u), c1], 1))
        return mask * self.conv_last(torch.cat([u, img], 1)) + img


class HDRTVNet(nn.Module):
    """The three stages in one module; ``forward(ldr, upto)`` runs AGCM, then LE, then HG (up to ``upto``)."""

    def __init__(self, nf: int = 64, nb: int = 16, cond_c: int = 6, mask_threshold: float = 0.95,
                 hg_nf: int | None = None):
        super().__init__()
        self.agcm = AGCM(nf, cond_c)
        self.le = LocalEnhancement(nf, nb)
        self.hg = HighlightGeneration(hg_nf or nf)
        self.mask_threshold = mask_threshold

    def stage_inputs(self, ldr: torch.Tensor, stage: str) -> tuple[torch.Tensor, ...]:
        """Inputs of ``stage``: ``(ldr, cond)`` for AGCM, ``(agcm_out,)`` for LE, ``(le_out, mask)`` for HG."""
        if stage == "agcm":  # the official condition image: MATLAB bicubic ×1/4 (anti-aliased)
            cond = F.interpolate(ldr, scale_factor=0.25, mode="bicubic", antialias=True, align_corners=False)
            if min(cond.shape[-2:]) < MIN_CONDITION_SIZE:  # InstanceNorm needs > 1 pixel after 4 pools
                scale = MIN_CONDITION_SIZE / min(cond.shape[-2:])
                size = [max(MIN_CONDITION_SIZE, round(s * scale)) for s in cond.shape[-2:]]
                cond = F.interpolate(cond, size=size, mode="bilinear", align_corners=False)
            return ldr, cond
        if stage == "le":
            return (self.agcm(*self.stage_inputs(ldr, "agcm")),)
        if stage == "hg":
            return self.le(*self.stage_inputs(ldr, "le")), highlight_mask(ldr, self.mask_threshold)
        raise HDRBenchError(f"unknown HDRTV stage '{stage}' (known: {', '.join(STAGES)})")

    def forward(self, ldr: torch.Tensor, upto: str = "hg", mode: str = "infer") -> torch.Tensor:
        """Run the cascade on ``ldr`` ``(N, 3, H, W)`` in [0, 1] (``H, W`` multiples of 32).

        ``mode="infer"``: the output of stage ``upto``. ``"stage"``: the same, but the stages before
        ``upto`` run frozen (eval mode, no gradient), as the official offline cascade trains ``upto``.
        Training goes through this ``forward`` so that a DDP wrapper sees it.
        """
        if ldr.shape[-1] % 32 or ldr.shape[-2] % 32:
            raise HDRBenchError(f"HDRTV needs H and W multiples of 32, got {tuple(ldr.shape[-2:])}; "
                                "use Method.predict, which pads")
        if mode == "stage":
            earlier = [getattr(self, name) for name in STAGES[: STAGES.index(upto)]]
            modes = [m.training for m in earlier]
            try:
                for m in earlier:
                    m.eval()
                with torch.no_grad():
                    inputs = self.stage_inputs(ldr, upto)
            finally:
                for m, was_training in zip(earlier, modes):
                    m.train(was_training)
            return getattr(self, upto)(*inputs)
        if mode != "infer":
            raise HDRBenchError(f"HDRTVNet: unknown mode '{mode}' (infer, stage)")
        return getattr(self, upto)(*self.stage_inputs(ldr, upto))
