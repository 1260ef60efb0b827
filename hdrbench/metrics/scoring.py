"""Score (prediction, ground truth) pairs with a protocol's metrics: the one scoring path of hdrbench.

``hdrbench score`` and the evaluation runner both go through :class:`Scorer`: validation
(:func:`hdrbench.metrics.validate.check_pair`), the protocol's preparation, each metric, and optionally
the same metrics on the CRF-corrected prediction (reported as ``<metric>@crf`` beside the raw value).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from hdrbench.config import DEFAULT_PROTOCOL
from hdrbench.metrics.base import Metric
from hdrbench.metrics.protocols import Protocol, get_protocol
from hdrbench.metrics.validate import check_pair

CRF_SUFFIX = "@crf"


class Scorer:
    """A protocol, its metrics (built once) and the CRF option.

    ``metrics``: names (default: the protocol's list); ``overrides``: ``{metric: {param: value}}`` on top of
    the protocol's parameters; ``crf``: report CRF-corrected scores too (default: the protocol's choice).
    """

    def __init__(self, protocol: str | Protocol = DEFAULT_PROTOCOL, metrics: Sequence[str] | None = None,
                 overrides: dict[str, dict[str, Any]] | None = None, crf: bool | None = None,
                 device: str | torch.device = "cpu"):
        self.protocol = get_protocol(protocol) if isinstance(protocol, str) else protocol
        names = list(metrics) if metrics else list(self.protocol.metrics)
        overrides = overrides or {}
        self.metrics: dict[str, Metric] = {n.lower(): self.protocol.create(n, **overrides.get(n.lower(), {}))
                                           for n in dict.fromkeys(names)}
        self.crf = self.protocol.crf_correction if crf is None else bool(crf)
        self.device = torch.device(device)
        for m in self.metrics.values():
            m.to(self.device)

    @property
    def columns(self) -> list[str]:
        """Result names in order: each metric, then (with CRF) each ``<metric>@crf``."""
        return list(self.metrics) + ([n + CRF_SUFFIX for n in self.metrics] if self.crf else [])

    def score(self, pred: torch.Tensor, gt: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-image scores ``{column: (N,) float64}`` of validated linear HDR ``(N, 3, H, W)`` tensors."""
        pred, gt = self.protocol.prepare(pred.to(self.device).float(), gt.to(self.device).float())
        out = {name: m(pred, gt).cpu() for name, m in self.metrics.items()}
        if self.crf:
            corrected = self.protocol.correct(pred, gt)
            out.update({name + CRF_SUFFIX: m(corrected, gt).cpu() for name, m in self.metrics.items()})
        return out

    def score_arrays(self, pred: np.ndarray | torch.Tensor, gt: np.ndarray | torch.Tensor,
                     pred_name: str = "prediction", gt_name: str = "ground truth",
                     clamp: bool = False) -> dict[str, float]:
        """Validate and score one ``(H, W, 3)`` linear HDR pair; ``{column: value}`` (metric's own units)."""
        p, g = check_pair(pred, gt, pred_name, gt_name, clamp)
        scores = self.score(p.permute(2, 0, 1)[None], g.permute(2, 0, 1)[None])
        return {k: float(v[0]) for k, v in scores.items()}

    def describe(self) -> dict[str, Any]:
        """Protocol and per-metric parameters, JSON-able, to store beside the scores."""
        return {"protocol": self.protocol.describe(), "crf_correction": self.crf,
                "metrics": {n: m.describe() for n, m in self.metrics.items()}}
