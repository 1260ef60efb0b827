"""SingleHDR (Liu et al., CVPR 2020, "Single-Image HDR Reconstruction by Learning to Reverse the Camera
Pipeline") as a registered method: dequantization → linearization (inverse EMoR) → hallucination
(→ optional refinement).

Pipeline, as the official ``test_real.py`` / ``test_real_refinement.py``: ``C = clip(Deq(LDR), 0, 1)``;
``g = Lin(C)`` (monotone inverse CRF, 1024 samples); ``B = g(C)`` (per-pixel lookup); ``A = B + α·relu(Hal(B))``
(``α`` from ``B``, threshold 0.12); with ``refinement=True``, ``relu(Ref([A; B; C]))``.

Tensors: input LDR ``(N, 3, H, W)`` display-referred in [0, 1] (``H, W`` multiples of 32 inside the network;
:meth:`Method.predict` pads); output linear HDR ``(N, 3, H, W)`` ≥ 0.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from baselines.singlehdr.dequantization import dequantization_net, refinement_net
from baselines.singlehdr.emor import apply_response
from baselines.singlehdr.hallucination import HallucinationNet, hallucinate
from baselines.singlehdr.linearization import LinearizationNet
from hdrbench.errors import HDRBenchError
from hdrbench.method import Method, Recipe, Stage
from hdrbench.nn.vgg import CAFFE_FEATURE_SCALE, VGGFeatures

log = logging.getLogger(__name__)

LINEARIZATION_INIT = ("Linearization ResNet-50 trunk: random init (official: crf_net_v2.npy; no offline ResNet "
                      "weights, so it trains from scratch)")


class SingleHDRNet(nn.Module):
    """The whole camera-pipeline inversion; ``forward(ldr)`` → linear HDR, ``stages(ldr)`` → every stage."""

    def __init__(self, pretrained: bool = True, refinement: bool = False, threshold: float = 0.12,
                 skip_feature_scale: float = CAFFE_FEATURE_SCALE):
        super().__init__()
        self.dequantization = dequantization_net()
        self.linearization = LinearizationNet()
        self.hallucination = HallucinationNet(pretrained, skip_feature_scale)
        self.refinement = refinement_net() if refinement else None
        self.threshold = threshold
        self.weight_sources = f"Hallucination {self.hallucination.weight_sources}; {LINEARIZATION_INIT}"

    def stages(self, ldr: torch.Tensor) -> dict[str, torch.Tensor]:
        """``C`` (dequantized LDR), ``invcrf`` ``(N, 1024)``, ``B`` (linear), ``A`` (hallucinated), ``out``."""
        if ldr.shape[-1] % 32 or ldr.shape[-2] % 32:
            raise HDRBenchError(f"SingleHDR needs H and W multiples of 32, got {tuple(ldr.shape[-2:])}; "
                                "use Method.predict, which pads")
        c = self.dequantization(ldr).clamp(0, 1)
        invcrf = self.linearization(c)
        b = apply_response(c, invcrf)
        a = hallucinate(self.hallucination, b, self.threshold)
        out = F.relu(self.refinement(torch.cat([a, b, c], 1))) if self.refinement is not None else a
        return {"C": c, "invcrf": invcrf, "B": b, "A": a, "out": out}

    def forward(self, ldr: torch.Tensor) -> torch.Tensor:
        return self.stages(ldr)["out"]


def log_tonemap(x: torch.Tensor) -> torch.Tensor:
    """The official training tone curve ``log(1 + 10x) / log(11)``."""
    return torch.log1p(10.0 * x.clamp_min(0)) / math.log(11.0)


def extreme_exposure_mask(ldr: torch.Tensor) -> torch.Tensor:
    """Per-image weight ``(N,)``: 0 when over half the pixels are ≥ 249 or ≤ 6 in 8-bit gray, else 1.

    The official Hallucination-Net training excludes such crops (``loss_mask``); gray as
    ``tf.image.rgb_to_grayscale`` (0.2989, 0.5870, 0.1140).
    """
    w = torch.tensor([0.2989, 0.5870, 0.1140], dtype=ldr.dtype, device=ldr.device).view(1, 3, 1, 1)
    gray = torch.round((ldr.clamp(0, 1) * 255 * w).sum(1))
    over = (gray >= 249).float().mean(dim=(1, 2)) > 0.5
    under = (gray <= 6).float().mean(dim=(1, 2)) > 0.5
    return (~(over | under)).to(ldr.dtype)


class SingleHDRLoss(nn.Module):
    """SingleHDR's published losses on the final output ``pred`` vs the linear target ``hdr`` ``(N, 3, H, W)``.

    ``mode="hallucination"`` (default; ``train_hallucination_net.py``): per image L1 of
    ``log(1+10x)/log 11`` + 0.001 · VGG16 pool1–3 L1 perceptual + 0.1 · TV of the prediction, weighted by
    :func:`extreme_exposure_mask`. ``mode="finetune"`` (``finetune_real_dataset.py``): both images scaled to
    mean 0.5, then L1 of ``log(1+10x)/log 11`` (scale-invariant).
    """

    def __init__(self, mode: str = "hallucination", perceptual_weight: float = 1e-3, tv_weight: float = 0.1):
        super().__init__()
        if mode not in ("hallucination", "finetune"):
            raise HDRBenchError(f"singlehdr: loss '{mode}' is not one of hallucination, finetune")
        self.mode = mode
        self.perceptual_weight = perceptual_weight
        self.tv_weight = tv_weight
        self.vgg = None
        self.substitution: str | None = None
        if mode == "hallucination" and perceptual_weight > 0:
            try:
                self.vgg = VGGFeatures(["pool1", "pool2", "pool3"], arch="vgg16")
            except HDRBenchError as exc:
                log.warning("hdrbench: singlehdr perceptual loss disabled (%s)", exc)
                self.substitution = f"singlehdr perceptual loss disabled: {exc}"

    def forward(self, pred: torch.Tensor, hdr: torch.Tensor, ldr: torch.Tensor) -> torch.Tensor:
        if self.mode == "finetune":
            def norm(x: torch.Tensor) -> torch.Tensor:
                return x / (1e-6 + x.mean(dim=(1, 2, 3), keepdim=True)) * 0.5
            return (log_tonemap(norm(pred)) - log_tonemap(norm(hdr))).abs().mean()
        tp, tt = log_tonemap(pred), log_tonemap(hdr)
        per_image = (tp - tt).abs().mean(dim=(1, 2, 3))
        if self.vgg is not None:
            # Caffe VGG16 features (0-255 input) are ~CAFFE_FEATURE_SCALE x torchvision's: keep the weight's meaning
            feats = zip(self.vgg(tp), self.vgg(tt))
            perceptual = sum((a - b).abs().mean(dim=(1, 2, 3)) for a, b in feats) * CAFFE_FEATURE_SCALE
            per_image = per_image + self.perceptual_weight * perceptual
        tv = (tp[..., 1:, :] - tp[..., :-1, :]).abs().sum() / tp.numel() + \
             (tp[..., :, 1:] - tp[..., :, :-1]).abs().sum() / tp.numel()  # symmetric pad: last difference is 0
        return ((per_image + self.tv_weight * tv) * extreme_exposure_mask(ldr)).mean()


class SingleHDR(Method):
    """SingleHDR: dequantization, EMoR linearization, hallucination (and optional refinement) networks."""

    citation = ("Y.-L. Liu, W.-S. Lai, Y.-S. Chen, Y.-L. Kao, M.-H. Yang, Y.-Y. Chuang, J.-B. Huang. Single-Image "
                "HDR Reconstruction by Learning to Reverse the Camera Pipeline. CVPR 2020")
    summary = "reverses the camera pipeline: dequantization, inverse-CRF (11 EMoR weights), highlight hallucination"
    default_options = {"pretrained": True, "refinement": False, "threshold": 0.12, "loss": "hallucination",
                       "perceptual_weight": 1e-3, "tv_weight": 0.1, "skip_feature_scale": CAFFE_FEATURE_SCALE,
                       "hdr_scale": 1.0}
    recipe = Recipe(
        optimizer="adam", lr=1e-4, betas=(0.9, 0.999), scheduler="constant", batch_size=8, patch_size=256,
        iterations=500_000, crop="random", augment=("hflip", "vflip", "transpose"),
        source="alex04072000/SingleHDR training_code/train_hallucination_net.py: Adam 1e-4 (TF default betas), "
               "batch 8, 256x256 crops, 500k iterations (each sub-network's pre-training recipe; trained end to end "
               "here, see baselines/README.md); dataset.py: random crops, random rot90 and both flips (the 8 "
               "rotations/reflections, drawn here as hflip, vflip, transpose; its random rescaling is not "
               "reproduced)",
    )
    # alex04072000/SingleHDR: Dequantization-Net 1,999,779 + Linearization-Net 1,200,971 +
    # Hallucination-Net 24,569,118 (refinement off).
    official_params = 27_769_868
    global_context = True  # the inverse camera response is predicted from the whole image
    tiny_options = {"pretrained": False}
    pad_multiple = 32
    receptive_margin = 320  # Deq 118 px + Hal ≈ 170 px in series; the inverse CRF is global (see README)

    weight_sources: str = ""

    def build_network(self) -> nn.Module:
        o = self.options
        net = SingleHDRNet(bool(o["pretrained"]), bool(o["refinement"]), float(o["threshold"]),
                           float(o["skip_feature_scale"]))
        self.weight_sources = net.weight_sources
        log.info("hdrbench: singlehdr weights: %s", net.weight_sources)
        return net

    def build_loss(self) -> nn.Module:
        o = self.options
        return SingleHDRLoss(str(o["loss"]), float(o["perceptual_weight"]), float(o["tv_weight"]))

    def forward(self, net: nn.Module, ldr: torch.Tensor) -> torch.Tensor:
        """Linear HDR in ground-truth units: the network's output (saturation = 1) times ``hdr_scale``."""
        return net(ldr) * float(self.options["hdr_scale"])

    def training_loss(self, net: nn.Module, loss: nn.Module, ldr: torch.Tensor, hdr: torch.Tensor,
                      stage: Stage) -> tuple[torch.Tensor, dict[str, float]]:
        """The published loss between the network output and the target in saturation units."""
        value = loss(net(ldr), hdr / float(self.options["hdr_scale"]), ldr)
        return value, {"loss": value.detach()}

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out["weight_sources"] = self.weight_sources
        return out
