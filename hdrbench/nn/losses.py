"""Training losses used by more than one method."""

from __future__ import annotations

import torch
from torch import nn


class TanhL1Loss(nn.Module):
    """HDRUNet's loss (reused by DCDR-UNet): ``mean |tanh(pred) − tanh(gt)|`` on raw linear HDR values.

    ``pred``, ``gt``: ``(N, 3, H, W)`` linear HDR; ``ldr`` unused (the common ``loss(pred, gt, ldr)`` signature).
    """

    def forward(self, pred: torch.Tensor, gt: torch.Tensor, ldr: torch.Tensor | None = None) -> torch.Tensor:
        return (torch.tanh(pred) - torch.tanh(gt)).abs().mean()
