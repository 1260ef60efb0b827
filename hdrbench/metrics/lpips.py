"""LPIPS (Zhang et al. 2018, v0.1, AlexNet) implemented here, with the real weights from the offline cache.

Network: torchvision AlexNet ``features`` (ImageNet weights, :func:`hdrbench.weights.resolve_backbone`),
tapped after each of its five ReLUs; per layer, features are unit-normalised along channels, their squared
difference is weighted by the LPIPS linear head (:func:`hdrbench.weights.lpips_heads`), averaged over
space, and the five layers are summed. Input: display-referred RGB in ``[-1, 1]``, ``(N, 3, H, W)``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from hdrbench.errors import HDRBenchError
from hdrbench.metrics.base import Metric
from hdrbench.metrics.transforms import NORMS, encode_domain
from hdrbench.weights import lpips_heads, resolve_backbone

#: The LPIPS input scaling layer (per-channel shift and scale applied to [-1, 1] inputs).
LPIPS_SHIFT = (-0.030, -0.088, -0.188)
LPIPS_SCALE = (0.458, 0.448, 0.450)
#: Index of the last module of each AlexNet ``features`` stage LPIPS reads (relu1 … relu5).
ALEX_TAPS = (1, 4, 7, 9, 11)
#: Smallest side AlexNet's two max-pools accept (conv1 11/4 → 7, pool → 3, pool → 1).
MIN_SIDE = 31


def alexnet_features(last: int = ALEX_TAPS[-1]) -> nn.Sequential:
    """AlexNet's convolutional trunk (Krizhevsky 2014 "one weird trick" variant, as torchvision's
    ``alexnet().features``: same layers, same indices, so the same state_dict keys) up to module ``last``.
    Defined here so LPIPS does not import torchvision (about 2 s of start-up)."""
    layers = [nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
              nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
              nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
              nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
              nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2)]
    return nn.Sequential(*layers[: last + 1])


class LPIPSAlex(nn.Module):
    """LPIPS distance network (AlexNet, v0.1); ``forward(x, y)`` → ``(N,)`` distances for inputs in [-1, 1]."""

    def __init__(self, backbone_path: str | None = None):
        super().__init__()
        weights = resolve_backbone("alexnet", backbone_path)
        self.source = weights.source
        self.features = alexnet_features()
        self.features.load_state_dict({k.removeprefix("features."): v for k, v in weights.state_dict.items()
                                       if int(k.split(".")[1]) <= ALEX_TAPS[-1]})
        heads = lpips_heads("alex")
        self.heads = nn.ParameterList([nn.Parameter(heads[f"lin{i}.model.1.weight"], requires_grad=False)
                                       for i in range(len(ALEX_TAPS))])
        self.register_buffer("shift", torch.tensor(LPIPS_SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(LPIPS_SCALE).view(1, 3, 1, 1))
        self.requires_grad_(False).eval()
        self.features.to(memory_format=torch.channels_last)

    def _taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        # channels-last: oneDNN's NHWC convolutions are faster on CPU (same sums, same values to float rounding)
        h = ((x - self.shift) / self.scale).contiguous(memory_format=torch.channels_last)
        for i, layer in enumerate(self.features):
            h = layer(h)
            if i in ALEX_TAPS:
                out.append(h / (h.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10))
        return out

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if min(x.shape[-2:]) < MIN_SIDE:
            raise HDRBenchError(f"LPIPS (AlexNet) needs images of at least {MIN_SIDE}×{MIN_SIDE} pixels "
                                f"(got {x.shape[-1]}×{x.shape[-2]}); leave 'lpips' out for smaller images")
        total = torch.zeros(x.shape[0], dtype=torch.float64, device=x.device)
        for fx, fy, head in zip(self._taps(x), self._taps(y), self.heads):  # two passes: faster than one of 2N
            total += nn.functional.conv2d((fx - fy).pow_(2), head).mean(dim=(1, 2, 3)).double()
        return total


class LPIPS(Metric):
    """LPIPS (AlexNet, v0.1) on the normalised images, μ-law encoded (default) or linear, mapped to [-1, 1].

    ``domain``: ``mu-law`` → ``clip(log(1+μx)/log(1+μ), 0, 1)``, or ``linear`` → ``clip(x, 0, 1)``, of
    ``x`` = values / ``norm`` reference; then ``2x − 1``. Lower is better (0 = identical).
    """

    label = "LPIPS"
    decimals = 4
    lower_better: ClassVar[bool] = True
    domain: ClassVar[str] = "mu-law"
    default_params: ClassVar[dict[str, Any]] = {"domain": "mu-law", "mu": 10.0, "norm": "none", "backbone": None}

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.check_choice("domain", ("linear", "mu-law"))
        self.check_choice("norm", NORMS)
        self.domain = self.params["domain"]
        self.net = LPIPSAlex(self.params["backbone"])

    def compute(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        pred, gt = encode_domain(pred, gt, self.params)
        self.net.to(pred.device)
        return self.net(pred.clamp(0, 1) * 2 - 1, gt.clamp(0, 1) * 2 - 1)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "weights": f"AlexNet {self.net.source}; LPIPS v0.1 linear heads"}
