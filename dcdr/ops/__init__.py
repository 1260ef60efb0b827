"""Deformable convolution used by DCDR-UNet (v1: offsets only, no modulation mask).

``deform_conv2d`` has the signature and offset layout of :func:`torchvision.ops.deform_conv2d`.
"""

from __future__ import annotations

import torch
import torchvision


def deform_conv2d(input: torch.Tensor, offset: torch.Tensor, weight: torch.Tensor,
                  bias: torch.Tensor | None = None, stride: int | tuple[int, int] = 1,
                  padding: int | tuple[int, int] = 0, dilation: int | tuple[int, int] = 1) -> torch.Tensor:
    """Deformable convolution v1 (torchvision's implementation)."""
    return torchvision.ops.deform_conv2d(input, offset, weight, bias, stride=stride, padding=padding,
                                         dilation=dilation)
