"""SingleHDR's Hallucination-Net: HDRCNN's VGG16 auto-encoder with resize-convolution up-sampling.

Official TF code: ``alex04072000/SingleHDR`` ``hallucination_net.py`` (a modified copy of HDRCNN's
``network.py``). Differences from HDRCNN's net (both are
:class:`hdrbench.nn.vgg_autoencoder.VGGSkipAutoencoder`), all as the official code:

* each up-sampling is nearest ×2 → reflect pad 1 → 3×3 conv (VALID) with ReLU → BatchNorm → ReLU
  (instead of a 4×4 transposed conv);
* skip features are only scaled by 1/255 (no log transform);
* the network's input is the *linear* image ``B`` (output of the Linearization-Net), not the LDR.

The output ``ŷ`` is used as ``A = B + α·relu(ŷ)`` with ``α = clip((max_c B − 1 + 0.12)/0.12, 0, 1)``
(:func:`hallucinate`). Tensors: ``B`` ``(N, 3, H, W)`` linear in [0, 1], ``H, W`` multiples of 32.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hdrbench.nn.masks import highlight_mask
from hdrbench.nn.vgg import CAFFE_FEATURE_SCALE
from hdrbench.nn.vgg_autoencoder import VGGSkipAutoencoder


class ResizeConvUp(nn.Module):
    """Nearest ×2 → reflect pad 1 → 3×3 conv (VALID) + ReLU → BatchNorm → ReLU."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(F.interpolate(x, scale_factor=2, mode="nearest"), (1, 1, 1, 1), mode="reflect")
        return F.relu(self.bn(F.relu(self.conv(x))))


class HallucinationNet(VGGSkipAutoencoder):
    """VGG16 encoder + h6 bottleneck + 5 resize-conv up-samplings with addition-initialised skip fusions."""

    def __init__(self, pretrained: bool = True, skip_feature_scale: float = CAFFE_FEATURE_SCALE):
        super().__init__(ResizeConvUp, pretrained, skip_feature_scale)

    def skip(self, feature: torch.Tensor) -> torch.Tensor:
        """Caffe-scale feature divided by 255 (linear, unlike HDRCNN's log skips)."""
        return feature * (self.skip_feature_scale / 255.0)

    def forward(self, linear: torch.Tensor) -> torch.Tensor:
        """``ŷ`` ``(N, 3, H, W)`` for the linear image ``B`` ``(N, 3, H, W)`` in [0, 1]."""
        return self.fuse_input(self.decode(linear), linear)


def hallucinate(net: HallucinationNet, linear: torch.Tensor, threshold: float = 0.12) -> torch.Tensor:
    """``A = B + α·relu(ŷ)``, ``α = clip((max_c B − (1 − threshold))/threshold, 0, 1)``: linear HDR ≥ ``B``."""
    alpha = highlight_mask(linear, 1.0 - threshold)
    return linear + alpha * F.relu(net(linear))
