"""HDRCNN (Eilertsen et al., SIGGRAPH Asia 2017): a VGG16 auto-encoder that predicts log HDR in saturated regions.

Re-implemented from the official TensorFlow/TensorLayer code (``gabrieleilertsen/hdrcnn``: ``network.py``,
``training_code/hdrcnn_train.py``):

* encoder: VGG16 conv1_1 … conv5_3 with max-pools, ImageNet weights (torchvision layout, offline cache);
  bottleneck ``h6``: 3×3 conv 512→512, BatchNorm, ReLU;
* decoder: five [4×4 stride-2 transposed conv (bilinear init), BatchNorm, ReLU] up-samplings
  512→512→512→256→128→64, each scale fused with the encoder feature of the same size taken *before* its
  pool and moved to the log domain (``log((s/255)² + 1/255)``) by a 1×1 conv initialised as an addition;
  a final 1×1 conv 64→3 + BatchNorm + ReLU fused (same way) with the log of the linearised input;
* output ``ŷ``: log linear HDR (``exp(ŷ) − 1/255``); :meth:`HDRCNN.forward` blends it with the
  linearised input (γ = 2, as the official ``get_final``) by ``α = clip((max_c x − τ)/(1 − τ), 0, 1)``,
  τ = 0.95, so only near-saturated pixels come from the network (option ``mode = "official"``, the
  default). ``mode = "whole"`` is the DCDR-UNet paper's setting (§4.4.1: "we modify its setting so that its
  network can be used for entirely region, not only for overexposed regions"): no blending, the network's
  output everywhere, and the loss unmasked; the ``paper`` training protocol selects it.

Tensors: input ``(N, 3, H, W)`` display-referred RGB in [0, 1], ``H, W`` multiples of 32 inside the
network (:meth:`Method.predict` pads); :class:`HDRCNNNet` returns log HDR ``(N, 3, H, W)``;
:meth:`HDRCNN.forward` returns linear HDR ``(N, 3, H, W)`` ≥ 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from hdrbench.errors import HDRBenchError
from hdrbench.method import Method, Recipe, Stage
from hdrbench.nn.masks import highlight_mask
from hdrbench.nn.vgg import CAFFE_FEATURE_SCALE
from hdrbench.nn.vgg_autoencoder import VGGSkipAutoencoder, vgg16_features
from hdrbench.official import OfficialWeights, to_tensor

EPS = 1.0 / 255.0
LUMINANCE = (0.213, 0.715, 0.072)
#: ``official``: blend the network's output into the input above τ, highlight-masked loss (the published
#: method); ``whole``: the network's output everywhere, unmasked loss (the DCDR-UNet paper's §4.4.1).
MODES = ("official", "whole")


def bilinear_upsampling_kernel(channels_in: int, channels_out: int, size: int = 4) -> torch.Tensor:
    """``ConvTranspose2d`` weight ``(in, out, k, k)`` that up-samples channel i bilinearly into channel i."""
    factor = (size + 1) // 2
    center = factor - 1 if size % 2 == 1 else factor - 0.5
    taps = 1 - (torch.arange(size, dtype=torch.float32) - center).abs() / factor
    kernel = taps[:, None] * taps[None, :]
    weight = torch.zeros(channels_in, channels_out, size, size)
    for i in range(min(channels_in, channels_out)):
        weight[i, i] = kernel
    return weight


class UpBlock(nn.Module):
    """4×4 stride-2 transposed conv (bilinear init, = TF SAME for even sizes) → BatchNorm → ReLU."""

    def __init__(self, channels_in: int, channels_out: int):
        super().__init__()
        self.deconv = nn.ConvTranspose2d(channels_in, channels_out, 4, stride=2, padding=1)
        with torch.no_grad():
            self.deconv.weight.copy_(bilinear_upsampling_kernel(channels_in, channels_out))
        self.bn = nn.BatchNorm2d(channels_out, eps=1e-5, momentum=0.1)  # TensorLayer: decay 0.9, ε 1e-5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.deconv(x)))


class HDRCNNNet(VGGSkipAutoencoder):
    """The HDRCNN auto-encoder: LDR ``(N, 3, H, W)`` in [0, 1] (``H, W`` multiples of 32) → log HDR."""

    def __init__(self, pretrained: bool = True, skip_feature_scale: float = CAFFE_FEATURE_SCALE,
                 encoder_input: str = "imagenet"):
        super().__init__(UpBlock, pretrained, skip_feature_scale, encoder_input)

    def skip(self, feature: torch.Tensor) -> torch.Tensor:
        """The official skip transform ``log((s/255)² + 1/255)`` on Caffe-scale features ``s``."""
        return torch.log((feature * (self.skip_feature_scale / 255.0)).square() + EPS)

    def forward(self, ldr: torch.Tensor) -> torch.Tensor:
        """Log-domain HDR prediction ``ŷ`` ``(N, 3, H, W)`` for ``ldr`` ``(N, 3, H, W)`` in [0, 1]."""
        if ldr.shape[-1] % 32 or ldr.shape[-2] % 32:
            raise HDRBenchError(f"HDRCNN needs H and W multiples of 32, got {tuple(ldr.shape[-2:])}; "
                                "use Method.predict, which pads")
        return self.fuse_input(self.decode(ldr), torch.log(ldr.square() + EPS))


def gaussian_kernel_2d(size: int = 13, nsig: float = 2.0) -> torch.Tensor:
    """The official loss's illumination filter: √(outer(k, k)) normalised, k = normal-CDF differences."""
    interval = (2 * nsig + 1.0) / size
    edges = torch.linspace(-nsig - interval / 2.0, nsig + interval / 2.0, size + 1, dtype=torch.float64)
    k1 = torch.diff(torch.special.ndtr(edges))
    raw = torch.sqrt(torch.outer(k1, k1))
    return (raw / raw.sum()).float()


class IlluminationReflectanceLoss(nn.Module):
    """HDRCNN's published loss (``sep_loss=true``): masked log-domain illumination + reflectance L2.

    ``loss(pred_log, hdr, ldr)``: ``pred_log`` the network's log output, ``hdr`` the linear target
    ``(N, 3, H, W)``; mask ``α`` from the target (τ = 0.95; ``masked=False``: α = 1, whole-image mode).
    Illumination = 13×13 Gaussian (σ-range 2) blur of log luminance; reflectance = log RGB − illumination;
    ``mean(α·[λ ΔI² + (1 − λ) ΔR²])``.
    """

    def __init__(self, lambda_ir: float = 0.5, tau: float = 0.95, masked: bool = True):
        super().__init__()
        self.lambda_ir = lambda_ir
        self.tau = tau
        self.masked = masked
        self.register_buffer("gauss", gaussian_kernel_2d()[None, None], persistent=False)
        self.register_buffer("lum", torch.tensor(LUMINANCE).view(1, 3, 1, 1), persistent=False)

    def _illumination(self, linear: torch.Tensor) -> torch.Tensor:
        log_lum = torch.log((linear * self.lum).sum(dim=1, keepdim=True) + EPS)
        return F.conv2d(log_lum, self.gauss, padding=self.gauss.shape[-1] // 2)  # zero pad = TF SAME

    def forward(self, pred_log: torch.Tensor, hdr: torch.Tensor, ldr: torch.Tensor | None = None) -> torch.Tensor:
        mask = highlight_mask(hdr, self.tau) if self.masked else 1.0
        ill_true = self._illumination(hdr)
        ill_pred = self._illumination(torch.exp(pred_log) - EPS)
        refl_true = torch.log(hdr + EPS) - ill_true
        refl_pred = pred_log - ill_pred
        per_pixel = (self.lambda_ir * (ill_pred - ill_true).square()
                     + (1 - self.lambda_ir) * (refl_pred - refl_true).square())
        return (per_pixel * mask).mean()


class MaskedLogL2Loss(nn.Module):
    """HDRCNN's alternative loss (``sep_loss=false``): ``mean((α·(ŷ − log(y + 1/255)))²)`` (α = 1 unmasked)."""

    def __init__(self, tau: float = 0.95, masked: bool = True):
        super().__init__()
        self.tau = tau
        self.masked = masked

    def forward(self, pred_log: torch.Tensor, hdr: torch.Tensor, ldr: torch.Tensor | None = None) -> torch.Tensor:
        diff = pred_log - torch.log(hdr + EPS)
        return (diff * highlight_mask(hdr, self.tau) if self.masked else diff).square().mean()


def official_parameter_names() -> list[tuple[str, str, str]]:
    """``(TensorLayer name, our key, kind)`` of HDRCNN's official parameters, in ``network.all_params`` order.

    ``kind``: ``conv`` (TF ``[h, w, in, out]``), ``deconv`` (TF ``[h, w, out, in]``) or ``vector``.
    The order is ``network.py``'s layer order; a BatchNormLayer holds beta, gamma, moving mean, moving variance.
    """
    out: list[tuple[str, str, str]] = []

    def conv(tf: str, ours: str, kind: str = "conv", suffix: str = "conv2d") -> None:
        out.extend([(f"{tf}/W_{suffix}", f"{ours}.weight", kind), (f"{tf}/b_{suffix}", f"{ours}.bias", "vector")])

    def bn(tf: str, ours: str) -> None:
        out.extend((f"{tf}/{a}", f"{ours}.{b}", "vector") for a, b in (
            ("beta", "bias"), ("gamma", "weight"), ("moving_mean", "running_mean"), ("moving_variance", "running_var")))

    vgg = [("h1", 2), ("h2", 2), ("h3", 3), ("h4", 3), ("h5", 3)]
    index = iter(i for i, layer in enumerate(vgg16_features()[:30]) if isinstance(layer, nn.Conv2d))
    for block, n in vgg:
        for j in range(1, n + 1):
            conv(f"encoder/{block}/conv_{j}", f"encoder.{next(index)}")
    conv("encoder/h6/conv", "bottleneck.0")
    bn("encoder/h6/batch_norm", "bottleneck.1")
    for i in range(5):
        if i:
            conv(f"decoder/h{i + 1}/fuse_skip_connection", f"fuse.{i - 1}.fuse")
        conv(f"decoder/h{i + 1}/decon2d", f"up.{i}.deconv", "deconv", "deconv2d")
        bn(f"decoder/h{i + 1}/decon2d/batch_norm_dc", f"up.{i}.bn")
    conv("decoder/h6/fuse_skip_connection", "fuse.4.fuse")
    conv("decoder/h7/conv2d", "head.0")
    bn("decoder/h7/batch_norm", "head.1")
    conv("decoder/h7/fuse_skip_connection", "fuse_input.fuse")
    return out


def _from_tf(value: Any, kind: str) -> torch.Tensor:
    t = to_tensor(value)
    return t.permute(3, 2, 0, 1).contiguous() if kind in ("conv", "deconv") else t


class HDRCNN(Method):
    """HDRCNN: VGG16 auto-encoder predicting log HDR, blended with the γ=2-linearised input above τ=0.95."""

    citation = ("G. Eilertsen, J. Kronander, G. Denes, R. K. Mantiuk, J. Unger. HDR image reconstruction from a "
                "single exposure using deep CNNs. ACM TOG (SIGGRAPH Asia) 36(6), 2017")
    summary = "VGG16 encoder / deconv decoder in the log domain; blends with the input above τ=0.95 (γ=2)"
    default_options = {"pretrained": True, "tau": 0.95, "gamma": 2.0, "sep_loss": True, "lambda_ir": 0.5,
                       "skip_feature_scale": CAFFE_FEATURE_SCALE, "hdr_scale": 1.0,
                       "encoder_input": "imagenet", "mode": "official"}
    #: §4.4.1 of the DCDR-UNet paper: the network "used for entirely region" under the paper's protocol.
    recipes_options = {"paper": {"mode": "whole"}}
    recipe = Recipe(
        optimizer="adam", lr=5e-5, betas=(0.9, 0.999), scheduler="exponential", gamma=0.99, step_every=1000,
        batch_size=4, patch_size=320, iterations=100_000, crop="random", augment=("hflip",),
        source="gabrieleilertsen/hdrcnn training_code/hdrcnn_train.py flag defaults: Adam 5e-5 (0.9, 0.999), "
               "batch 4, 320x320, 100 epochs, lr x0.99 per epoch (an epoch taken as 1000 iterations here); "
               "virtualcamera.cpp: random crops, random horizontal flips (its random crop scaling is not "
               "reproduced)",
    )
    # gabrieleilertsen/hdrcnn network.py layer by layer (VGG16 convs 14,714,688; h6 conv + BN 2,360,832;
    # 5 deconvs + BN; 1×1 fusions h2…h7; head conv + BN): 29,443,358 (tests/test_baselines_b.py derives it).
    official_params = 29_443_358
    tiny_options = {"pretrained": False}
    pad_multiple = 32
    receptive_margin = 192  # conv-chain radius ≈ 169 px (VGG16 pool5 RF 212, h6 +64, decoder +62)

    weight_sources: str = ""

    @classmethod
    def convert_official_state_dict(cls, state: Mapping[str, Any]) -> OfficialWeights | None:
        """``hdrcnn_params.npz`` (TensorLayer ``save_npz``: one ordered ``params`` list) or an ``.npz`` of the same
        parameters under their TensorFlow names; TF layouts become PyTorch's (conv ``[h, w, in, out]`` →
        ``[out, in, h, w]``, transposed conv ``[h, w, out, in]`` → ``[in, out, h, w]``, no spatial flip)."""
        names = official_parameter_names()
        keys = {k.removesuffix(":0"): k for k in state}
        if set(keys) == {f"params/{i}" for i in range(len(names))}:
            values = [state[f"params/{i}"] for i in range(len(names))]
        elif set(keys) == {tf for tf, _, _ in names}:
            values = [state[keys[tf]] for tf, _, _ in names]
        else:
            return None
        converted = {ours: _from_tf(v, kind) for (_, ours, kind), v in zip(names, values)}
        for key in [k for k in converted if k.endswith(".running_mean")]:
            converted[key.replace("running_mean", "num_batches_tracked")] = torch.tensor(0)
        options = {"pretrained": False, "encoder_input": "caffe", "skip_feature_scale": 1.0, "tau": 0.95,
                   "gamma": 2.0}
        return OfficialWeights(converted, options, "HDRCNN official parameters (gabrieleilertsen/hdrcnn)",
                               "the official prediction script resizes the input to multiples of 32; here it is "
                               "padded")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.options["mode"] not in MODES:
            raise HDRBenchError(f"method 'hdrcnn': option mode='{self.options['mode']}' must be one of "
                                f"{', '.join(MODES)}")

    @property
    def whole(self) -> bool:
        """Whole-image mode: no blending, unmasked loss."""
        return self.options["mode"] == "whole"

    def build_network(self) -> nn.Module:
        net = HDRCNNNet(pretrained=bool(self.options["pretrained"]),
                        skip_feature_scale=float(self.options["skip_feature_scale"]),
                        encoder_input=str(self.options["encoder_input"]))
        self.weight_sources = net.weight_sources
        return net

    def build_loss(self) -> nn.Module:
        tau, masked = float(self.options["tau"]), not self.whole
        if self.options["sep_loss"]:
            return IlluminationReflectanceLoss(float(self.options["lambda_ir"]), tau, masked=masked)
        return MaskedLogL2Loss(tau, masked=masked)

    def forward(self, net: nn.Module, ldr: torch.Tensor) -> torch.Tensor:
        """Linear HDR: ``hdr_scale·((1 − α)·ldr^γ + α·(exp(ŷ) − 1/255))``, α from the input (τ), clipped at 0;
        in whole-image mode ``hdr_scale·(exp(ŷ) − 1/255)`` everywhere.

        The network works in units where the LDR saturates at 1 (as the official code); ``hdr_scale`` is the
        ground-truth value of that level in the training data (1 in the official setups).
        """
        predicted = torch.exp(net(ldr)) - EPS
        if self.whole:
            return predicted.clamp_min(0) * float(self.options["hdr_scale"])
        alpha = highlight_mask(ldr, float(self.options["tau"]))
        out = (1 - alpha) * ldr.clamp(0, 1).pow(float(self.options["gamma"])) + alpha * predicted
        return out.clamp_min(0) * float(self.options["hdr_scale"])

    def training_loss(self, net: nn.Module, loss: nn.Module, ldr: torch.Tensor, hdr: torch.Tensor,
                      stage: Stage) -> tuple[torch.Tensor, dict[str, float]]:
        """The official loss acts on the network's log output, before blending (target in saturation units)."""
        value = loss(net(ldr), hdr / float(self.options["hdr_scale"]), ldr)
        return value, {"loss": value.detach()}

    def describe(self) -> dict[str, Any]:
        out = super().describe()  # builds the network, which records weight_sources
        out["weight_sources"] = self.weight_sources
        return out


__all__ = ["HDRCNN", "HDRCNNNet", "IlluminationReflectanceLoss", "MaskedLogL2Loss", "gaussian_kernel_2d",
           "bilinear_upsampling_kernel", "official_parameter_names"]
