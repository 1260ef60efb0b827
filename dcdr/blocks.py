"""DCDR-UNet's building blocks: the SFT layer (eq. 2), the DCRB (eqs. 3–4) and their ablation stand-ins.

Notation of the paper: ``cv`` is a 3×3 convolution, ``cv^n`` n of them in sequence with an activation
between consecutive ones (never after the last), ``dcv(o, x)`` a deformable 3×3 convolution of ``x``
sampled at the offsets ``o`` (deformable convolution v1: offsets only, no modulation mask).

Tensors: ``x``/``z`` feature maps ``(N, nf, H, W)``; ``y`` condition maps ``(N, cond_nc, H, W)`` at the same
resolution; offsets ``(N, 18, H, W)`` in torchvision's layout (channel ``2k`` = dy, ``2k+1`` = dx of tap ``k``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from dcdr.ops import deform_conv2d

#: Negative slope of every leaky ReLU in DCDR-UNet (HDRUNet's value; the paper does not give one).
LRELU_SLOPE = 0.1


def conv3x3(c_in: int, c_out: int) -> nn.Conv2d:
    """A 3×3, stride-1, zero-padded convolution with bias (the paper's ``cv``)."""
    return nn.Conv2d(c_in, c_out, 3, 1, 1)


class ConvStack(nn.Sequential):
    """``cv^n``: ``len(widths) - 1`` 3×3 convs ``widths[0] → … → widths[-1]``, an activation between
    consecutive convs (``"lrelu"``: leaky ReLU with :data:`LRELU_SLOPE`, ``"relu"``) and, if ``act_last``,
    after the last one too."""

    def __init__(self, widths: tuple[int, ...], act: str = "lrelu", act_last: bool = False):
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(conv3x3(a, b))
            if act_last or i < len(widths) - 2:
                layers.append(nn.LeakyReLU(LRELU_SLOPE) if act == "lrelu" else nn.ReLU())
        super().__init__(*layers)


class SFTLayer(nn.Module):
    """Eq. (2): ``SFT(x, y) = x + cv²_γ(y) ⊙ x + cv²_β(y)``.

    The paper writes both terms as ``cv²(y)``; as in the SFT paper [29] and HDRUNet we read them as two
    branches with their own weights, a scale ``γ`` and a shift ``β`` (one shared ``cv²`` would force
    ``γ = β``). Each branch is ``conv3×3(cond_nc → hidden)``, leaky ReLU, ``conv3×3(hidden → nf)``.
    """

    def __init__(self, nf: int, cond_nc: int, hidden: int):
        super().__init__()
        self.scale = ConvStack((cond_nc, hidden, nf))
        self.shift = ConvStack((cond_nc, hidden, nf))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``x`` (N, nf, H, W) features, ``y`` (N, cond_nc, H, W) condition → (N, nf, H, W)."""
        # eq. (2) as one fused multiply-add plus the residual (same values, ~20 % less time than three ops)
        return torch.addcmul(self.shift(y), self.scale(y), x).add_(x)


class PlainConvSFT(nn.Module):
    """The "no condition net" stand-in for an SFT layer (Table 2): a plain 3×3 conv of ``x``; ``y`` is ignored."""

    def __init__(self, nf: int):
        super().__init__()
        self.conv = conv3x3(nf, nf)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.conv(x)


class DeformConv3x3(nn.Module):
    """A deformable 3×3 convolution ``nf → nf`` (v1, no mask) whose offsets are given by the caller."""

    def __init__(self, nf: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(nf, nf, 3, 3))
        self.bias = nn.Parameter(torch.zeros(nf))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # nn.Conv2d's default; init_weights overrides

    def forward(self, offset: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``dcv(offset, x)``: ``offset`` (N, 18, H, W), ``x`` (N, nf, H, W) → (N, nf, H, W)."""
        return deform_conv2d(x, offset, self.weight, self.bias, padding=1)


def make_sft(nf: int, cond_nc: int, hidden: int, use_cond: bool) -> nn.Module:
    """An :class:`SFTLayer`, or its plain-conv stand-in when the condition net is ablated."""
    return SFTLayer(nf, cond_nc, hidden) if use_cond else PlainConvSFT(nf)


class DCRB(nn.Module):
    """Deformable Convolution Residual Block, eqs. (3)–(4).

    ``o = cv(z)`` (one 3×3 conv ``nf → 18``), shared by both deformable convolutions;
    ``DCRB(z, y) = z + dcv(o, SFT(dcv(o, SFT(z, y)), y))``.

    With ``deformable=False`` the offset estimate is removed and both ``dcv`` become ordinary 3×3 convs
    (``z + cv(SFT(cv(SFT(z, y)), y))``); with ``relu_between=True`` too it is HDRUNet's residual block, the
    "no DCRB" block of Table 2 (``dcdr.method`` sets both for the ``-no-dcrb`` methods).
    ``relu_between=True`` inserts a ReLU after the first (deformable) conv, as HDRUNet's residual block
    has; eq. (4) has none, so it is off by default.
    """

    def __init__(self, nf: int, cond_nc: int, sft_hidden: int, *, deformable: bool = True, use_cond: bool = True,
                 relu_between: bool = False):
        super().__init__()
        self.deformable = deformable
        self.relu_between = relu_between
        self.sft1 = make_sft(nf, cond_nc, sft_hidden, use_cond)
        self.sft2 = make_sft(nf, cond_nc, sft_hidden, use_cond)
        if deformable:
            self.offset = conv3x3(nf, 18)
            self.conv1: nn.Module = DeformConv3x3(nf)
            self.conv2: nn.Module = DeformConv3x3(nf)
        else:
            self.conv1 = conv3x3(nf, nf)
            self.conv2 = conv3x3(nf, nf)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """``z`` (N, nf, H, W), ``y`` (N, cond_nc, H, W) or None without condition net → (N, nf, H, W)."""
        if self.deformable:
            o = self.offset(z)
            fea = self.conv1(o, self.sft1(z, y))
            fea = F.relu(fea) if self.relu_between else fea
            return z + self.conv2(o, self.sft2(fea, y))
        fea = self.conv1(self.sft1(z, y))
        fea = F.relu(fea) if self.relu_between else fea
        return z + self.conv2(self.sft2(fea, y))


class DCRBTrunk(nn.ModuleList):
    """``n`` :class:`DCRB` in sequence, all fed the same condition map."""

    def __init__(self, n: int, nf: int, cond_nc: int, sft_hidden: int, **block_options: bool):
        super().__init__(DCRB(nf, cond_nc, sft_hidden, **block_options) for _ in range(n))

    def forward(self, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        for block in self:
            z = block(z, y)
        return z
