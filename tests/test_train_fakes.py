"""Tiny fake components (method, dataset, metrics) shared by the training/evaluation/report tests.

Holds no tests. Registered under ``fake-*`` names so the tests never wait for the real methods.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import torch
from torch import nn

from hdrbench.datasets.base import Pair, PairedDataset
from hdrbench.method import Method, Recipe, Stage
from hdrbench.metrics.base import Metric
from hdrbench.registry import DATASETS, METHODS, METRICS


class TinyNet(nn.Module):
    def __init__(self, width: int = 8, dropout: float = 0.1):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU(), nn.Dropout2d(dropout),
                                  nn.Conv2d(width, 3, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


class FakeLoss(nn.Module):
    def forward(self, pred, gt, ldr):
        return (pred - gt).abs().mean()


class FakeMethod(Method):
    """A 2-layer residual CNN (with dropout, so RNG state matters)."""

    default_options = {"width": 8, "nan": False}
    recipe = Recipe(lr=1e-3, batch_size=2, patch_size=16, iterations=12, scheduler="multistep",
                    milestones=(6,), gamma=0.5)

    def build_network(self) -> nn.Module:
        return TinyNet(self.options["width"])

    def build_loss(self) -> nn.Module:
        return FakeLoss()

    def forward(self, net, ldr):
        out = net(ldr)
        return out * float("nan") if self.options["nan"] else out


class FakeStagedMethod(FakeMethod):
    """Two stages: first trains the first conv only, then everything at a lower lr."""

    recipe = Recipe(lr=1e-3, batch_size=2, patch_size=16, iterations=12)
    seen: list[tuple[str, int]] = []  # (stage name, number of parameters that train)

    def stages(self, recipes=None):
        base = self.recipe_for(recipes)
        return [Stage("first", base.replace(iterations=4, lr=1e-3), trains=("body.0",)),
                Stage("all", base.replace(iterations=8, lr=1e-4))]

    def training_loss(self, net, loss, ldr, hdr, stage):
        FakeStagedMethod.seen.append((stage.name, sum(p.requires_grad for p in net.parameters())))
        return super().training_loss(net, loss, ldr, hdr, stage)


class FakeDataset(PairedDataset):
    """Deterministic synthetic pairs: HDR = smooth field with highlights, LDR = clipped gamma of it."""

    default_options = {"n": 4, "size": 24, "n_test": 3, "nan_image": None}
    test_sets = ("set_a", "set_b")

    def pairs(self, split: str) -> list[Pair]:
        n = self.options["n"] if split == "train" else self.options["n_test"]
        base = Path(self.root or "/nonexistent")
        s = self.options["size"]
        return [Pair(f"{split}_{i:02d}", base / f"{split}_{i:02d}.png", base / f"{split}_{i:02d}.exr",
                     {"height": s, "width": s}) for i in range(n)]

    def load_pair(self, pair: Pair) -> tuple[np.ndarray, np.ndarray]:
        g = np.random.default_rng(zlib.crc32(pair.id.encode()))
        s = self.options["size"]
        hdr = (g.random((s, s, 3)) * 1.5).astype(np.float32)
        ldr = np.clip(hdr, 0, 1) ** (1 / 2.2)
        if pair.id == self.options["nan_image"]:  # a broken test image (tests of the checks before training)
            hdr[0, 0, 0] = np.nan
        return ldr.astype(np.float32), hdr


class FakeMAE(Metric):
    """Mean absolute error (lower is better)."""

    lower_better = True

    def compute(self, pred, gt):
        return (pred - gt).abs().flatten(1).mean(1)


class FakePSNR(Metric):
    """PSNR on [0, 1]-clipped values (higher is better)."""

    def compute(self, pred, gt):
        mse = ((pred.clamp(0, 1) - gt.clamp(0, 1)) ** 2).flatten(1).mean(1)
        return 10 * torch.log10(1 / mse.clamp_min(1e-12))


def stamped(cfg, scores: list) -> list:
    """``scores`` (``hdrbench.evaluate.Score`` rows made by hand) with the digests the benchmark's plan expects, as
    if evaluation had computed them (report tests build synthetic stores this way)."""
    import dataclasses

    from hdrbench.plan import build_plan

    want = build_plan(cfg, "report").expected().set_index(["method", "test_set", "image", "metric"])
    out = []
    for s in scores:
        r = want.loc[(s.method, s.test_set, s.image, s.metric)]
        out.append(dataclasses.replace(s, digest=r.digest, scoring_digest=r.scoring_digest,
                                       source_digest=r.source_digest, pair_digest=r.pair_digest))
    return out


def register_fakes() -> None:
    """Register every fake (idempotent)."""
    METHODS.register("fake-net", FakeMethod, override=True)
    METHODS.register("fake-staged", FakeStagedMethod, override=True)
    DATASETS.register("fake-data", FakeDataset, override=True)
    METRICS.register("fake-mae", FakeMAE, override=True)
    METRICS.register("fake-psnr", FakePSNR, override=True)


register_fakes()
