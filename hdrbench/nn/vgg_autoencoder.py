"""The VGG16 skip auto-encoder shared by HDRCNN and SingleHDR's hallucination net.

Shape (Eilertsen et al. 2017, ``gabrieleilertsen/hdrcnn`` ``network.py``; SingleHDR's ``hallucination_net.py``
is a modified copy): the ImageNet VGG16 encoder conv1_1 … relu5_3 (torchvision layout, offline weights), a
3×3 bottleneck after pool5, five ×2 up-samplings each fused with the pre-pool encoder feature of the same size
by an addition-initialised 1×1 conv, a 1×1 head, and a last fusion with the input image. Subclasses choose
the up-sampling block and how a skip feature enters (:meth:`VGGSkipAutoencoder.skip`).
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import nn

from hdrbench.errors import HDRBenchError
from hdrbench.nn.shapes import building_shapes_only
from hdrbench.nn.vgg import CAFFE_FEATURE_SCALE, IMAGENET_MEAN, IMAGENET_STD, vgg_trunk

log = logging.getLogger(__name__)

#: torchvision ``vgg16().features`` indices whose outputs feed the skip connections (the ReLU before each pool).
VGG16_BEFORE_POOL = (3, 8, 15, 22, 29)
#: The Caffe VGG16 input (HDRCNN's official encoder): 0–255 BGR minus these means, in B, G, R order.
CAFFE_VGG_MEAN_BGR = (103.939, 116.779, 123.68)
#: ``encoder_input``: ``imagenet`` = torchvision's ``(x − mean)/std`` RGB; ``caffe`` = 255·BGR − the VGG means.
ENCODER_INPUTS = ("imagenet", "caffe")


def load_vgg16_encoder(features: nn.Sequential, pretrained: bool) -> str:
    """Load ImageNet VGG16 conv weights (offline cache) into torchvision-layout ``features``.

    Returns a sentence recording where the weights came from (or that training starts from scratch).
    """
    if not pretrained:
        return "VGG16 encoder: random init (pretrained=false)"
    if building_shapes_only():
        return "VGG16 encoder: not loaded (network built for its shapes only)"
    from hdrbench.weights import resolve_backbone

    try:
        backbone = resolve_backbone("vgg16")
    except HDRBenchError as exc:
        log.warning("hdrbench: no offline ImageNet VGG16 weights (%s); the encoder trains from scratch", exc)
        return f"VGG16 encoder: random init (no offline weights: {exc})"
    state = {k.removeprefix("features."): v for k, v in backbone.state_dict.items()}
    features.load_state_dict(state, strict=True)
    return f"VGG16 encoder: ImageNet, {backbone.source}"


def vgg16_features() -> nn.Sequential:
    """torchvision's ``vgg16().features`` layout (same module indices and parameter names), built here: importing
    torchvision costs ~2-3 s of start-up (``hdrbench list``)."""
    return vgg_trunk("vgg16")


class SkipFusion(nn.Module):
    """Concatenate a decoder feature with a (log-domain) skip feature and fuse them with a 1×1 conv.

    The conv starts as an element-wise addition (decoder channel i + skip channel i), as the official code.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.fuse = nn.Conv2d(2 * channels, channels, 1)
        with torch.no_grad():
            eye = torch.eye(channels)[:, :, None, None]
            self.fuse.weight.copy_(torch.cat([eye, eye], dim=1))
            self.fuse.bias.zero_()

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.fuse(torch.cat([x, skip], dim=1))


class VGGSkipAutoencoder(nn.Module):
    """HDRCNN's network shape, which SingleHDR's hallucination net reuses: the VGG16 encoder (conv1_1 … relu5_3),
    a 3×3 bottleneck after pool5, five ×2 up-samplings (``up_block``) each fused with the matching pre-pool
    encoder feature, and a 1×1 head. Subclasses say how skips enter (:meth:`skip`) and fuse the input image."""

    def __init__(self, up_block: type[nn.Module], pretrained: bool = True,
                 skip_feature_scale: float = CAFFE_FEATURE_SCALE, encoder_input: str = "imagenet"):
        super().__init__()
        if encoder_input not in ENCODER_INPUTS:
            raise HDRBenchError(f"encoder_input='{encoder_input}' is not one of {', '.join(ENCODER_INPUTS)}")
        self.encoder_input = encoder_input
        self.encoder = vgg16_features()[:30]  # conv1_1 … relu5_3 (no pool5)
        self.weight_sources = load_vgg16_encoder(self.encoder, pretrained)
        self.skip_feature_scale = float(skip_feature_scale)
        self.bottleneck = nn.Sequential(nn.Conv2d(512, 512, 3, padding=1), nn.BatchNorm2d(512), nn.ReLU())
        widths = (512, 512, 512, 256, 128, 64)
        self.up = nn.ModuleList(up_block(widths[i], widths[i + 1]) for i in range(5))
        self.fuse = nn.ModuleList(SkipFusion(c) for c in (512, 512, 256, 128, 64))  # pool5 … pool1 skips
        self.head = nn.Sequential(nn.Conv2d(64, 3, 1), nn.BatchNorm2d(3), nn.ReLU())
        nn.init.xavier_normal_(self.head[0].weight)
        nn.init.zeros_(self.head[0].bias)
        self.fuse_input = SkipFusion(3)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("caffe_mean", torch.tensor(CAFFE_VGG_MEAN_BGR).view(1, 3, 1, 1), persistent=False)

    def skip(self, feature: torch.Tensor) -> torch.Tensor:
        """How an encoder feature (torch-scale VGG activation) enters its decoder fusion."""
        raise NotImplementedError(f"{type(self).__name__}.skip")

    def decode(self, image: torch.Tensor) -> torch.Tensor:
        """Head output ``(N, 3, H, W)`` for ``image`` ``(N, 3, H, W)`` in [0, 1], before the input fusion."""
        if self.encoder_input == "caffe":
            x = image.flip(1) * 255.0 - self.caffe_mean
        else:
            x = (image - self.mean) / self.std
        skips = []
        for i, layer in enumerate(self.encoder):
            x = layer(x)
            if i in VGG16_BEFORE_POOL:
                skips.append(x)
        x = self.bottleneck(F.max_pool2d(x, 2))
        for up, fuse, skip in zip(self.up, self.fuse, reversed(skips)):
            x = fuse(up(x), self.skip(skip))
        return self.head(x)
