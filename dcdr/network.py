"""DCDR-UNet's network, eq. (1): ``I_hdr = Net_R(I_ldr, Net_C(I_ldr)) + Net_T(I_ldr)``.

* :class:`ConditionNet` (eq. 5): ``y_s = cv²_s(up_{1/s}(cv³(d_4(I))))`` for ``s ∈ {1, 0.5, 0.25}``.
* :class:`ToneNet` (eq. 6): ``I ⊙ cv⁴(I)``, ReLU between the convs, none after the last.
* :class:`RestorationNet`: HDRUNet's two-level U-Net (stride-2 conv down, conv + PixelShuffle up, width
  ``nf``) with SFT layers at ×1 (encoder and decoder side) and DCRB trunks at ×0.5 (encoder), ×0.25 and
  ×0.5 (decoder).

Input ``ldr`` ``(N, 3, H, W)`` display-referred [0, 1] with H, W multiples of 4; output ``(N, 3, H, W)`` linear
HDR in the units of the training ground truth (unbounded; [0, 1] for the paper's Cityscapes data).
Design choices the paper leaves open are explained in ``dcdr/README.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dcdr.blocks import DCRB, LRELU_SLOPE, ConvStack, DCRBTrunk, DeformConv3x3, make_sft
from hdrbench.nn.unet import UNetShell

SCALES = (1.0, 0.5, 0.25)


@dataclass(frozen=True)
class DCDRConfig:
    """Widths and switches of a DCDR-UNet (defaults: the configuration of ``dcdr/README.md``).

    ``blocks`` = DCRBs in the ×0.5 encoder, ×0.25 and ×0.5 decoder trunks. ``dcrb``/``tone``/``cond`` off
    give the Table 2 ablations; ``relu_between`` is the ReLU between each block's two convs (§4.2's reading: the
    DCRB is HDRUNet's residual block [1] plus offsets; ``False``: eq. (4) as written).
    ``init``, ``tone_init``, ``residual_scale``, ``zero_offsets``: the initialisation (:func:`init_weights`;
    ``init`` follows §4.1.3's "Kaiming initialization [11]", the others the learning study in ``dcdr/README.md``).
    """

    nf: int = 64
    blocks: tuple[int, int, int] = (2, 4, 2)
    cond_nf: int = 32
    cond_out: int = 32
    sft_hidden: int = 8
    tone_nf: int = 64
    dcrb: bool = True
    tone: bool = True
    cond: bool = True
    relu_between: bool = True
    init: str = "kaiming_normal"
    tone_init: str = "neutral"
    residual_scale: float = 0.1
    zero_offsets: bool = True


#: ``DCDRConfig.init``: how every conv is drawn: He et al.'s std sqrt(2/fan_in) (§4.1.3 "Kaiming initialization
#: [11]", the default) or PyTorch's ``kaiming_uniform(a=sqrt 5)`` (1/6 of that variance).
INITS = ("kaiming_normal", "torch_default")
#: ``DCDRConfig.tone_init``: the tone net's last conv ("neutral": zero weights, so T_G(I) = its bias).
TONE_INITS = ("kaiming", "small", "neutral")


class ConditionNet(nn.Module):
    """Eq. (5): average-pool by 4, ``cv³`` (leaky ReLU after each conv), bilinear up-sampling to ×1, ×0.5
    and ×0.25, then one ``cv²`` (conv, leaky ReLU, conv) per scale.

    ``ldr`` (N, 3, H, W), H, W multiples of 4 → ``[y_1, y_0.5, y_0.25]``, each (N, cond_out, H·s, W·s).
    """

    def __init__(self, in_nc: int = 3, cond_nf: int = 32, cond_out: int = 32):
        super().__init__()
        self.trunk = ConvStack((in_nc, cond_nf, cond_nf, cond_nf), act_last=True)
        self.heads = nn.ModuleList(ConvStack((cond_nf, cond_nf, cond_out)) for _ in SCALES)

    def forward(self, ldr: torch.Tensor) -> list[torch.Tensor]:
        fea = self.trunk(F.avg_pool2d(ldr, 4))
        out = []
        for s, head in zip(SCALES, self.heads):
            factor = int(round(s * 4))
            up = fea if factor == 1 else F.interpolate(fea, scale_factor=factor, mode="bilinear", align_corners=False)
            out.append(head(up))
        return out


class ToneNet(nn.Module):
    """Eq. (6): ``Net_T(I) = I ⊙ T_G(I)``, ``T_G = cv⁴`` (3 → tone_nf → tone_nf → tone_nf → 3), ReLU between
    convs, none after the last. ``ldr`` (N, 3, H, W) → (N, 3, H, W)."""

    def __init__(self, in_nc: int = 3, tone_nf: int = 64):
        super().__init__()
        self.gain = ConvStack((in_nc, tone_nf, tone_nf, tone_nf, in_nc), act="relu")

    def forward(self, ldr: torch.Tensor) -> torch.Tensor:
        return ldr * self.gain(ldr)


class RestorationNet(UNetShell):
    """``Net_R``: HDRUNet's U-Net shell with SFT layers at ×1 and DCRB trunks at ×0.5 / ×0.25 / ×0.5.

    ``forward(ldr, conds)``: ``ldr`` (N, 3, H, W), ``conds`` = ``[y_1, y_0.5, y_0.25]`` or None without a
    condition net → (N, 3, H, W).
    """

    def __init__(self, cfg: DCDRConfig, in_nc: int = 3, out_nc: int = 3):
        super().__init__(in_nc, out_nc, cfg.nf)
        nf, c, h = cfg.nf, cfg.cond_out, cfg.sft_hidden
        self.sft_enc = make_sft(nf, c, h, cfg.cond)
        self.sft_dec = make_sft(nf, c, h, cfg.cond)
        opts = {"deformable": cfg.dcrb, "use_cond": cfg.cond, "relu_between": cfg.relu_between}
        self.trunk_enc = DCRBTrunk(cfg.blocks[0], nf, c, h, **opts)
        self.trunk_mid = DCRBTrunk(cfg.blocks[1], nf, c, h, **opts)
        self.trunk_dec = DCRBTrunk(cfg.blocks[2], nf, c, h, **opts)

    def forward(self, ldr: torch.Tensor, conds: list[torch.Tensor] | None) -> torch.Tensor:  # type: ignore[override]
        y1, y2, y4 = conds if conds is not None else (None, None, None)
        fea0 = self.act(self.conv_first(ldr))
        fea0 = self.act(self.HR_conv1(self.sft_enc(fea0, y1)))
        fea1 = self.trunk_enc(self.act(self.down_conv1(fea0)), y2)
        fea2 = self.act(self.down_conv2(fea1))
        out = self.trunk_mid(fea2, y4) + fea2
        out = self.act(self.up_conv1(out)) + fea1
        out = self.trunk_dec(out, y2)
        out = self.act(self.up_conv2(out)) + fea0
        out = self.act(self.HR_conv2(self.sft_dec(out, y1)))
        return self.conv_last(out)


class DCDRUNet(nn.Module):
    """Eq. (1): ``Net_R(I, Net_C(I)) + Net_T(I)``; ablated parts are simply absent (``None``)."""

    def __init__(self, cfg: DCDRConfig = DCDRConfig()):
        super().__init__()
        self.cfg = cfg
        self.restoration = RestorationNet(cfg)
        self.condition = ConditionNet(cond_nf=cfg.cond_nf, cond_out=cfg.cond_out) if cfg.cond else None
        self.tone = ToneNet(tone_nf=cfg.tone_nf) if cfg.tone else None
        init_weights(self, cfg)

    def forward(self, ldr: torch.Tensor) -> torch.Tensor:
        """``ldr`` (N, 3, H, W) display-referred [0, 1], H, W multiples of 4 → linear HDR (N, 3, H, W)."""
        conds = self.condition(ldr) if self.condition is not None else None
        out = self.restoration(ldr, conds)
        return out + self.tone(ldr) if self.tone is not None else out


def init_weights(net: nn.Module, cfg: DCDRConfig | None = None) -> None:
    """Initialise ``net`` as ``cfg`` says (see ``dcdr/README.md``, *Initialisation*).

    * ``init="kaiming_normal"``: Kaiming-normal (fan-in, ReLU gain; leaky-ReLU gain where a leaky ReLU
      follows), zero biases; ``"torch_default"``: PyTorch's own conv initialisation (Kaiming-uniform with
      ``a = √5``, i.e. std ``1/√(3·fan_in)``, and uniform biases), which is what HDRUNet's official code
      leaves its shell, SFT and mask-branch convs with;
    * the two (deformable) convs closing each residual block and the restoration net's last conv are scaled
      by ``residual_scale`` (HDRUNet's ``initialize_weights(…, 0.1)``);
    * ``zero_offsets``: the offset convs start at zero, so every DCRB starts as its plain-conv twin (the
      DCN/BasicSR recipe); gradients still reach them;
    * ``tone_init``: the tone net's last conv as drawn (``"kaiming"``), scaled by ``residual_scale``
      (``"small"``), or zero weights and zero bias (``"neutral"``: ``Net_T`` starts at 0 with the same gain, 0,
      on every channel, so no colour cast; its weights receive gradients from the first step).
    """
    cfg = cfg or DCDRConfig()
    if cfg.init not in INITS or cfg.tone_init not in TONE_INITS:
        raise ValueError(f"DCDRConfig: init must be one of {INITS} and tone_init one of {TONE_INITS}")
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, DeformConv3x3)):
            if cfg.init == "torch_default":
                nn.init.kaiming_uniform_(m.weight, a=5**0.5)
                bound = 1 / (m.weight[0].numel() ** 0.5)
                nn.init.uniform_(m.bias, -bound, bound)
            else:
                nn.init.kaiming_normal_(m.weight, a=0.0, mode="fan_in", nonlinearity="relu")
                nn.init.zeros_(m.bias)
    for m in net.modules():
        if isinstance(m, ConvStack) and cfg.init == "kaiming_normal":  # convs feeding a leaky ReLU: its gain
            layers = list(m)
            for conv, act in zip(layers[:-1], layers[1:]):
                if isinstance(act, nn.LeakyReLU):
                    nn.init.kaiming_normal_(conv.weight, a=LRELU_SLOPE, mode="fan_in", nonlinearity="leaky_relu")
        if isinstance(m, RestorationNet):
            m.conv_last.weight.data.mul_(cfg.residual_scale)
        if isinstance(m, ToneNet):
            last = m.gain[-1]
            if cfg.tone_init == "small":
                last.weight.data.mul_(cfg.residual_scale)
            elif cfg.tone_init == "neutral":
                nn.init.zeros_(last.weight)
                nn.init.zeros_(last.bias)
        if isinstance(m, DCRB):
            for conv in (m.conv1, m.conv2):
                conv.weight.data.mul_(cfg.residual_scale)
            if m.deformable and cfg.zero_offsets:
                nn.init.zeros_(m.offset.weight)
                nn.init.zeros_(m.offset.bias)
