"""SingleHDR's Linearization-Net: predicts an inverse camera response curve as 11 EMoR coefficients.

Official TF code: ``alex04072000/SingleHDR`` ``linearization_net.py``. Input features (102 channels): the
image (3), its Sobel edges (``tf.image.sobel_edges``: d/dy, d/dx per channel, reflect padding; 6) and soft
histograms with 5, 9 and 17 bins per channel (``relu(1 − |x − i/B|·B)``; 15 + 27 + 51). A ResNet-50 trunk cut
after ``res3b`` (conv1 7×7/2 + BN, 3×3/2 max-pool, res2a–c, res3a–b; bottlenecks without conv biases, BN with
scale) is averaged over the image → 512 → a dense layer → 11 weights ``w``; the inverse CRF is
``g0 + H·w`` at 1024 points (:mod:`baselines.singlehdr.emor`), made monotone by
:func:`~baselines.singlehdr.emor.make_increasing`.

Tensors: ``(N, 3, H, W)`` display-referred in [0, 1] → inverse CRF ``(N, 1024)`` from 0 to 1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from baselines.singlehdr.emor import N_COMPONENTS, InverseEMoR, make_increasing

HISTOGRAM_BINS = (4, 8, 16)  # histogram_layer(img, B) has B + 1 bins
FEATURE_CHANNELS = 3 + 6 + 3 * sum(b + 1 for b in HISTOGRAM_BINS)  # 102


def sobel_edges(img: torch.Tensor) -> torch.Tensor:
    """``tf.image.sobel_edges`` flattened to channels ``[c0_dy, c0_dx, c1_dy, …]`` ``(N, 2C, H, W)``."""
    dy = torch.tensor([[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]], dtype=img.dtype, device=img.device)
    kernels = torch.stack([dy, dy.T])[:, None]  # (2, 1, 3, 3)
    c = img.shape[1]
    padded = F.pad(img, (1, 1, 1, 1), mode="reflect")
    return F.conv2d(padded, kernels.repeat(c, 1, 1, 1), groups=c)


def soft_histogram(img: torch.Tensor, bins: int) -> torch.Tensor:
    """Triangular soft histogram maps ``relu(1 − |x − i/B|·B)``, i = 0…B, bin-major ``(N, 3(B+1), H, W)``."""
    return torch.cat([F.relu(1 - (img - i / bins).abs() * bins) for i in range(bins + 1)], dim=1)


def linearization_features(img: torch.Tensor) -> torch.Tensor:
    """The 102-channel input of the CRF feature net."""
    return torch.cat([img, sobel_edges(img), *(soft_histogram(img, b) for b in HISTOGRAM_BINS)], dim=1)


class Bottleneck(nn.Module):
    """ResNet-50 bottleneck (1×1 → 3×3 → 1×1, BN after each, no conv bias), projection shortcut if asked."""

    def __init__(self, c_in: int, width: int, stride: int = 1, project: bool = False):
        super().__init__()
        self.conv_a = nn.Conv2d(c_in, width, 1, stride=stride, bias=False)
        self.bn_a = nn.BatchNorm2d(width)
        self.conv_b = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn_b = nn.BatchNorm2d(width)
        self.conv_c = nn.Conv2d(width, 4 * width, 1, bias=False)
        self.bn_c = nn.BatchNorm2d(4 * width)
        self.shortcut = (nn.Sequential(nn.Conv2d(c_in, 4 * width, 1, stride=stride, bias=False),
                                       nn.BatchNorm2d(4 * width)) if project else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn_a(self.conv_a(x)))
        y = F.relu(self.bn_b(self.conv_b(y)))
        return F.relu(self.shortcut(x) + self.bn_c(self.conv_c(y)))


class CRFFeatureNet(nn.Module):
    """ResNet-50 up to ``res3b`` on the 102 feature channels, spatially averaged: ``(N, 512)``."""

    def __init__(self, in_channels: int = FEATURE_CHANNELS):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3)  # slim conv2d: with bias
        self.bn1 = nn.BatchNorm2d(64)
        self.res2 = nn.Sequential(Bottleneck(64, 64, project=True), Bottleneck(256, 64), Bottleneck(256, 64))
        self.res3 = nn.Sequential(Bottleneck(256, 128, stride=2, project=True), Bottleneck(512, 128))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, stride=2, padding=1)
        return self.res3(self.res2(x)).mean(dim=(2, 3))


class LinearizationNet(nn.Module):
    """Image → monotone inverse CRF ``(N, 1024)`` through 11 inverse-EMoR coefficients."""

    def __init__(self):
        super().__init__()
        self.features = CRFFeatureNet()
        self.coefficients = nn.Linear(512, N_COMPONENTS)
        self.basis = InverseEMoR()

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        weights = self.coefficients(self.features(linearization_features(img)))
        return make_increasing(self.basis(weights))
