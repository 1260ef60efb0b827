"""ImageNet VGG: the feature extractor of perceptual losses and the weight conventions every VGG user shares.

Layers are named as in the VGG papers: ``conv{b}_{j}``, ``relu{b}_{j}``, ``pool{b}`` (block ``b``,
conv ``j``). Weights resolve through :func:`hdrbench.weights.resolve_backbone`; when VGG19 is requested
and only VGG16 is available offline, each requested layer maps to the same block's conv of the same
index, capped at VGG16's block length (``conv3_4`` → ``conv3_3``, ``conv4_4`` → ``conv4_3``,
``conv5_4`` → ``conv5_3``), and :attr:`VGGFeatures.substitution` records it.

Input: ``(N, 3, H, W)`` RGB. With ``normalize="imagenet"`` it is an image in ``[0, 1]`` and is put into the
input convention the resolved weights were trained with (:attr:`BackboneWeights.convention`):

* ``torchvision``: standardised with ImageNet's mean/std;
* ``caffe`` (the original VGG19 from hdrbench's cache): channels reversed to BGR, ×255, minus
  :data:`~hdrbench.weights.CAFFE_MEAN_BGR`, no std division.

With ``normalize=None`` the input is taken to be already in torchvision's standardised space (as code written
for torchvision weights that skips the standardisation passes it, e.g. FHDR's official loss); for Caffe
weights it is mapped back to the image it stands for (``x·std + mean``) and then into Caffe's convention, so
that either weight set sees the same image.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import torch
from torch import nn

from hdrbench.errors import HDRBenchError
from hdrbench.weights import CAFFE_MEAN_BGR, resolve_backbone

log = logging.getLogger(__name__)

CONVS_PER_BLOCK = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
#: Per-channel RGB mean/std that torchvision's ImageNet weights expect (input in [0, 1]).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: Caffe VGG sees 0–255 mean-subtracted input, torchvision's sees (x − mean)/std: features of a ReLU
#: stack scale with the input, so torchvision features × 255·mean(std) are on the Caffe scale that
#: the official TensorFlow/Caffe-era codes (HDRCNN, SingleHDR) were tuned for.
CAFFE_FEATURE_SCALE = 255.0 * sum(IMAGENET_STD) / 3.0


def vgg_layer_names(arch: str) -> list[str]:
    """Names of torchvision's ``vgg{16,19}().features`` modules, in order."""
    names: list[str] = []
    for b, n in enumerate(CONVS_PER_BLOCK[arch], start=1):
        for j in range(1, n + 1):
            names += [f"conv{b}_{j}", f"relu{b}_{j}"]
        names.append(f"pool{b}")
    return names


def _map_layer(name: str, to_arch: str) -> str:
    """Map a layer name to ``to_arch`` (same block, index capped at that block's length)."""
    kind = name.rstrip("0123456789_")
    try:
        b, j = (int(v) for v in name[len(kind):].split("_"))
    except ValueError:  # pool{b} or a malformed name: unchanged (an unknown name is reported by the caller)
        return name
    if not 1 <= b <= len(CONVS_PER_BLOCK[to_arch]):
        return name
    return f"{kind}{b}_{min(j, CONVS_PER_BLOCK[to_arch][b - 1])}"


def _features(arch: str) -> nn.Sequential:
    layers: list[nn.Module] = []
    c_in = 3
    for b, n in enumerate(CONVS_PER_BLOCK[arch]):
        c_out = (64, 128, 256, 512, 512)[b]
        for _ in range(n):
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(inplace=False)]
            c_in = c_out
        layers.append(nn.MaxPool2d(2, 2))
    return nn.Sequential(*layers)


class VGGFeatures(nn.Module):
    """Frozen ImageNet VGG returning the requested layers' feature maps, in the order requested."""

    def __init__(self, layers: Sequence[str], arch: str = "vgg19", weights: str | os.PathLike | None = None,
                 normalize: str | None = "imagenet"):
        super().__init__()
        resolved = resolve_backbone(arch, weights)
        if not resolved.arch.startswith("vgg"):
            raise HDRBenchError(f"weights for a VGG loss resolved to '{resolved.arch}'", weights)
        self.arch = resolved.arch
        self.convention = resolved.convention
        if self.convention not in ("torchvision", "caffe"):
            raise HDRBenchError(f"unknown input convention '{self.convention}' of VGG weights", weights)
        self.source = resolved.source
        self.substitution = resolved.substitution
        names = vgg_layer_names(self.arch)
        self.requested = list(layers)
        self.layers = [_map_layer(name, self.arch) for name in layers]
        for asked, used in zip(self.requested, self.layers):
            if used not in names:
                raise HDRBenchError(f"unknown VGG layer '{asked}' (known: {', '.join(vgg_layer_names(arch))})")
        last = max(names.index(n) for n in self.layers)
        feats = _features(self.arch)
        feats.load_state_dict({k.removeprefix("features."): v for k, v in resolved.state_dict.items()})
        self.features = feats[: last + 1]
        self._index = {n: names.index(n) for n in self.layers}
        self.normalize = normalize
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("caffe_mean", torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()
        if self.substitution:
            mapped = ", ".join(f"{a}->{u}" for a, u in zip(self.requested, self.layers) if a != u)
            log.warning("hdrbench: VGG loss uses %s; layers %s", self.substitution, mapped or "unchanged")

    def train(self, mode: bool = True) -> VGGFeatures:  # always frozen, always eval
        return super().train(False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps of the requested layers for ``x`` ``(N, 3, H, W)``."""
        x = self.to_convention(x)
        wanted = {i: n for n, i in self._index.items()}
        out: dict[str, torch.Tensor] = {}
        for i, module in enumerate(self.features):
            x = module(x)
            if i in wanted:
                out[wanted[i]] = x
        return [out[n] for n in self.layers]

    def to_convention(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` as the weights expect it (see the module docstring)."""
        if self.convention == "torchvision":
            return (x - self.mean) / self.std if self.normalize == "imagenet" else x
        if self.normalize != "imagenet":  # torchvision-standardised input: back to the image it stands for
            x = x * self.std + self.mean
        return x.flip(1) * 255.0 - self.caffe_mean

    def describe(self) -> dict[str, object]:
        """What was loaded (recorded with results that depend on it)."""
        return {"arch": self.arch, "source": self.source, "substitution": self.substitution,
                "input_convention": self.convention,
                "layers_requested": self.requested, "layers_used": self.layers}
