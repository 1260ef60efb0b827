"""KUNet (Wang et al., IJCAI 2022): a U-Net of knowledge-inspired blocks (KIB) and connections (KIC).

Re-implemented from the official code ``wanghu178/KUNet`` (``codes/models/modules/KIB_DM_F_1X1.py``,
``KIB_DM_F_1x1_mask.py``, ``wh_utils.py``, ``customize_loss.py``, ``options/train/train_KIB.yml``,
``train_hdrtv.yml``). Module names follow the official ones, its spellings included (``belta``,
``gammma1..3``, ``denosing``), so an official ``state_dict`` loads key for key.

The weight sharing is what makes KUNet small: each trunk holds ONE residual block applied N times
(4 at 1/2, 6 at 1/4 resolution); trunk 2 is applied twice; one α and one β branch serve every KIB; the
full-resolution ``conv_2`` runs in the head and again in the tail.

Network: LDR ``(N, 3, H, W)`` display-referred [0, 1], H and W multiples of 4 → HDR ``(N, 3, H, W)``
in the units of the training ground truth, unbounded (no output activation, no input residual).
``variant="mask"`` (the official ``KIB_DM_F_1x1_mask``) adds four training-only auxiliary heads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from baselines.hdrunet import NTIRE_GAMMA_NOTE
from hdrbench.errors import HDRBenchError
from hdrbench.method import Method, Recipe, Stage
from hdrbench.nn.unet import UNetShell, pixel_shuffle_up
from hdrbench.official import OfficialWeights, same_names

#: Over-exposure threshold of ``LQGT_condition_dataset.py``'s ``cond``: m = 1[mean_c(LDR) > 0.83] (``aux_mask``
#: = ``"threshold"``). The mask variant's own config (``train_hdrtv.yml``, dataset mode ``hdrtv``) passes the LDR
#: image itself as ``cond`` instead, so its auxiliary loss is weighted by the LDR (``aux_mask = "ldr"``, default).
MASK_THRESHOLD = 0.83
AUX_MASKS = ("ldr", "threshold")


class ConvReLU(nn.Module):
    """3×3 (or ``k``×``k``) conv followed by ReLU (official ``conv2d(..., acti='relu')``)."""

    def __init__(self, cin: int, cout: int, k: int = 3, relu: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, 1, k // 2)
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return F.relu(y) if self.relu else y


class AddBlock(nn.Module):
    """``x + relu(conv3(x))`` (official ``BasicBLock``: the dense concat replaced by an addition)."""

    def __init__(self, nf: int):
        super().__init__()
        self.conv = ConvReLU(nf, nf)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x)


class RDB(nn.Module):
    """Residual block: two :class:`AddBlock`, a 1×1 conv, plus the input."""

    def __init__(self, nf: int, layers: int = 2):
        super().__init__()
        self.layer = nn.Sequential(*(AddBlock(nf) for _ in range(layers)))
        self.conv1x1 = ConvReLU(nf, nf, 1, relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv1x1(self.layer(x)) + x


class SharedRDBChain(nn.Module):
    """One :class:`RDB` applied ``times`` times in a row; the outputs concatenated and fused by a 1×1 conv.

    Official ``mulRDBx4`` / ``mulRDBx6``: ``T(f)`` of the KIB. (N, nf, h, w) → (N, nf, h, w).
    """

    def __init__(self, nf: int, times: int):
        super().__init__()
        self.times = times
        self.rdb = RDB(nf)
        self.conv1x1 = ConvReLU(nf * times, nf, 1, relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = []
        for _ in range(self.times):
            x = self.rdb(x)
            outs.append(x)
        return self.conv1x1(torch.cat(outs, dim=1))


class SharedResBlock(nn.Module):
    """``x + relu(conv(relu(conv(x))))`` with ONE conv applied twice (official ``res_block``)."""

    def __init__(self, nf: int):
        super().__init__()
        self.conv = ConvReLU(nf, nf)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(self.conv(x))


class KIC(nn.Module):
    """Knowledge-inspired connection (official ``DM_F_1X1``): guides a skip by channel cosine similarity.

    ``enc`` (encoder feature) is denoised (:class:`SharedResBlock`) and tone-mapped (2 × conv3+ReLU); its
    cosine similarity with ``dec`` over channels, a (N, 1, h, w) map, weights ``enc``; a 1×1 conv maps the
    result to the correction added to ``dec`` by the caller.
    """

    def __init__(self, nf: int):
        super().__init__()
        self.tmo = nn.Sequential(ConvReLU(nf, nf), ConvReLU(nf, nf))
        self.denosing = SharedResBlock(nf)
        self.refin = nn.Conv2d(nf, nf, 1)

    def forward(self, enc: torch.Tensor, dec: torch.Tensor) -> torch.Tensor:
        guide = F.cosine_similarity(self.tmo(self.denosing(enc)), dec, dim=1).unsqueeze(1)
        return self.refin(guide * enc)


class KUNetNet(UNetShell):
    """KUNet. ``variant``: ``"plain"`` (``KIB_DM_F_1x1``, 1×1 α/β) or ``"mask"`` (``KIB_DM_F_1x1_mask``: 3×3 α/β,
    a residual around the second trunk-2 KIB, and four auxiliary full-resolution heads for the loss)."""

    def __init__(self, in_nc: int = 3, out_nc: int = 3, nf: int = 64, variant: str = "plain",
                 times: tuple[int, int, int] = (4, 6, 4)):
        super().__init__(in_nc, out_nc, nf)
        self.variant = variant
        self.conv_2 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.recon_trunk1 = SharedRDBChain(nf, times[0])
        self.recon_trunk2 = SharedRDBChain(nf, times[1])
        self.recon_trunk3 = SharedRDBChain(nf, times[2])
        k = 3 if variant == "mask" else 1
        self.alpha = nn.Sequential(nn.Conv2d(nf, nf, k, 1, k // 2), nn.Conv2d(nf, nf, k, 1, k // 2))
        self.belta = nn.Sequential(nn.Conv2d(nf, nf, k, 1, k // 2), nn.Conv2d(nf, nf, k, 1, k // 2))
        self.gammma1, self.gammma2, self.gammma3 = KIC(nf), KIC(nf), KIC(nf)
        if variant == "mask":  # training-only heads: KIB features → full resolution → RGB
            self.up_KIB1 = pixel_shuffle_up(nf)
            self.up_KIB2 = nn.Sequential(*pixel_shuffle_up(nf), *pixel_shuffle_up(nf))
            self.up_KIB3 = nn.Sequential(*pixel_shuffle_up(nf), *pixel_shuffle_up(nf))
            self.up_KIB4 = pixel_shuffle_up(nf)
            for i in range(1, 5):
                setattr(self, f"restoration{i}", nn.Conv2d(nf, out_nc, 3, 1, 1))

    def kib(self, trunk: SharedRDBChain, f: torch.Tensor) -> torch.Tensor:
        """Knowledge-inspired block ``T(f) · α(f) + β(f)`` with the shared α, β branches."""
        return trunk(f) * self.alpha(f) + self.belta(f)

    def forward(self, ldr: torch.Tensor, return_aux: bool = False) -> torch.Tensor | tuple[torch.Tensor, list]:
        """``ldr`` (N, 3, H, W) [0, 1], H, W multiples of 4 → HDR (N, 3, H, W) unbounded.

        With ``return_aux`` (mask variant only) also the four auxiliary HDR estimates, each (N, 3, H, W).
        """
        aux: list[torch.Tensor] = []
        heads = self.variant == "mask" and return_aux
        fea0 = self.act(self.HR_conv1(self.conv_2(self.act(self.conv_first(ldr)))))
        fea1 = self.kib(self.recon_trunk1, self.act(self.down_conv1(fea0)))
        if heads:
            aux.append(self.restoration1(self.up_KIB1(fea1)))
        fea2 = self.act(self.down_conv2(fea1))
        out = self.kib(self.recon_trunk2, fea2)
        if heads:
            aux.append(self.restoration2(self.up_KIB2(out)))
        out = self.kib(self.recon_trunk2, out) + (out if self.variant == "mask" else 0)
        if heads:
            aux.append(self.restoration3(self.up_KIB3(out)))
        out = out + self.gammma3(fea2, out)
        out = self.act(self.up_conv1(out))
        out = self.kib(self.recon_trunk3, out + self.gammma2(fea1, out))
        if heads:
            aux.append(self.restoration4(self.up_KIB4(out)))
        out = self.act(self.up_conv2(out))
        out = out + self.gammma1(fea0, out)
        out = self.conv_last(self.act(self.HR_conv2(self.conv_2(out))))
        return (out, aux) if return_aux else out


class KUNetLoss(nn.Module):
    """Plain L1 (``pixel_criterion: l1``); with ``aux`` outputs, the mask variant's ``maskl1_l1`` loss:

    ``L1(out, gt) + w · Σ_i [L1(aux_i·m, gt·m) + 0.1·L1(aux_i, gt)]``, with ``m`` the official ``cond``: the LDR
    itself (``aux_mask="ldr"``, what ``train_hdrtv.yml`` feeds) or ``1[mean_c(ldr) > 0.83]`` (``"threshold"``).
    ``pred``, ``gt``, each ``aux_i``: (N, 3, H, W) HDR; ``ldr`` (N, 3, H, W) display-referred [0, 1].
    """

    def __init__(self, aux_weight: float = 0.01, aux_mask: str = "ldr"):
        super().__init__()
        self.aux_weight = aux_weight
        self.aux_mask = aux_mask

    def forward(self, pred: torch.Tensor, gt: torch.Tensor, ldr: torch.Tensor | None = None,
                aux: list[torch.Tensor] | tuple = ()) -> torch.Tensor:
        loss = F.l1_loss(pred, gt)
        if aux:
            if ldr is None:
                raise HDRBenchError("KUNet mask loss needs the LDR input (its over-exposure mask comes from it)")
            if self.aux_mask == "ldr":
                m = ldr.to(gt.dtype)
            else:
                m = (ldr.mean(dim=1, keepdim=True) > MASK_THRESHOLD).to(gt.dtype).expand_as(gt)
            for a in aux:
                loss = loss + self.aux_weight * (F.l1_loss(a * m, gt * m) + 0.1 * F.l1_loss(a, gt))
        return loss


class KUNet(Method):
    """KUNet as in ``wanghu178/KUNet``; option ``variant``: ``plain`` (default) or ``mask``."""

    citation = ("H. Wang, M. Ye, X. Zhu, S. Li, C. Zhu, X. Li. KUNet: Imaging Knowledge-Inspired Single HDR Image "
                "Reconstruction. IJCAI 2022.")
    summary = "U-Net of knowledge-inspired blocks with shared weights and cosine-guided skips; L1 loss; 1.14 M params"
    default_options = {"nf": 64, "variant": "plain", "aux_weight": 0.01, "aux_mask": "ldr"}
    recipe = Recipe(optimizer="adam", lr=2e-4, betas=(0.9, 0.99), scheduler="multistep",
                    milestones=(200_000, 400_000, 600_000, 800_000), gamma=0.5, batch_size=8, patch_size=256,
                    iterations=1_000_000, crop="random", augment=("hflip", "vflip", "transpose"),
                    source="wanghu178/KUNet codes/options/train/train_KIB.yml (use_flip, use_rot)")
    #: The mask variant's own configuration (HDRTV1K in the official repo).
    mask_recipe = Recipe(optimizer="adam", lr=2e-4, betas=(0.9, 0.99), scheduler="multistep",
                         milestones=(100_000, 200_000, 300_000, 400_000, 500_000), gamma=0.5, batch_size=12,
                         patch_size=256, iterations=1_000_000, crop="random",
                         augment=("hflip", "vflip", "transpose"),
                         source="wanghu178/KUNet codes/options/train/train_hdrtv.yml")
    # wanghu178/KUNet KIB_DM_F_1X1.HDRUNet (train_KIB.yml): 3 mulRDB chains (one RDB = 2 c3 + c1 = 78,016,
    # plus a c1 fusing 4/6/4 × 64 ch) + shared α/β (4 c1 64→64 = 16,640) + 3 KIC (3 c3 + c1 = 114,944
    # each) + U-Net shell and conv_2 (conv_first 1,792, conv_2/HR_conv1/HR_conv2/down ×2 = 5·36,928,
    # up ×2 = 295,424, conv_last 1,731) → 1,136,643.
    official_params = 1_136_643
    pad_multiple = 4
    clip_negative = True
    receptive_margin = 152  # receptive radius of the conv chain: 143 px
    output_convention = ("HDR RGB in the units of the training ground truth, (N,3,H,W); unbounded while training, "
                         "negatives clipped to 0 by predict")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.options["variant"] not in ("plain", "mask"):
            raise HDRBenchError(f"method 'kunet': option variant='{self.options['variant']}' is not one of "
                                "'plain', 'mask'")
        if self.options["aux_mask"] not in AUX_MASKS:
            raise HDRBenchError(f"method 'kunet': option aux_mask='{self.options['aux_mask']}' is not one of "
                                f"{', '.join(AUX_MASKS)}")

    def stages(self, recipes: str | None = None) -> list[Stage]:
        """One stage; the mask variant trains with its own configuration (:attr:`mask_recipe`)."""
        base = self.mask_recipe if self.options["variant"] == "mask" else self.recipe
        return [Stage(None, self.recipe_for(recipes, base))]

    @classmethod
    def convert_official_state_dict(cls, state: Mapping[str, Any]) -> OfficialWeights | None:
        """``wanghu178/KUNet``'s ``latest_G.pth`` (plain or mask variant): the official names are ours."""
        if "alpha.0.weight" not in state or "belta.0.weight" not in state or "gammma1.refin.weight" not in state:
            return None
        options = {"nf": int(state["conv_first.weight"].shape[0]),
                   "variant": "mask" if "restoration1.weight" in state else "plain"}
        return same_names(cls, state, options, "KUNet official release (wanghu178/KUNet)",
                          f"{NTIRE_GAMMA_NOTE} (the HDRTV1K models output PQ-coded HDR10 instead)")

    def build_network(self) -> nn.Module:
        return KUNetNet(nf=int(self.options["nf"]), variant=self.options["variant"])

    def build_loss(self) -> nn.Module:
        return KUNetLoss(float(self.options["aux_weight"]), self.options["aux_mask"])

    def training_loss(self, net: nn.Module, loss: nn.Module, ldr: torch.Tensor, hdr: torch.Tensor,
                      stage: Stage) -> tuple[torch.Tensor, dict[str, Any]]:
        """L1 of the output; the mask variant adds its auxiliary-head terms."""
        if self.options["variant"] != "mask":
            return super().training_loss(net, loss, ldr, hdr, stage)
        pred, aux = net(ldr, return_aux=True)
        value = loss(pred, hdr, ldr, aux=aux)
        return value, {"loss": value.detach(), "l1": F.l1_loss(pred.detach(), hdr)}
