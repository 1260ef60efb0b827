"""The one metric interface (pyiqa's ``create_metric`` over a single calling convention).

A metric is a registered :class:`Metric` subclass. Calling it on predicted and ground-truth **linear HDR**
tensors ``(N, 3, H, W)`` float (CPU or CUDA) returns one value per image, a ``(N,)`` float64 tensor.
Each metric declares its ``domain`` (where the comparison happens: ``linear``, ``mu-law``, ``pu21``,
``gamma`` ...), its direction (``lower_better``) and its parameters (``params``), all recorded with
every stored score.

A metric is the *raw* metric: it compares the values it is given, with no normalisation beyond its own
parameters. Scores comparable with the literature come from a protocol (:func:`hdrbench.score`,
``hdrbench score``); a raw metric fed a ground truth outside its declared input range (e.g. PSNR-L with
peak 1 on values up to 1000) warns once (:class:`hdrbench.errors.HDRBenchWarning`).
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import torch
from torch import nn

from hdrbench.checks import check_options
from hdrbench.errors import HDRBenchError, HDRBenchWarning, check_known


class Metric(nn.Module):
    """Base class: subclasses implement :meth:`compute` and set the class attributes."""

    name: ClassVar[str] = ""
    lower_better: ClassVar[bool] = False
    domain: ClassVar[str] = "linear"
    default_params: ClassVar[dict[str, Any]] = {}
    #: The type of a parameter whose default does not say it (as :attr:`hdrbench.method.Method.option_types`).
    param_types: ClassVar[dict[str, Any]] = {}
    #: How tables and figures name the metric (default: the registered name in capitals), and in LaTeX.
    label: ClassVar[str] = ""
    label_latex: ClassVar[str] = ""
    #: Decimal places in tables (None: 2 for values around 10 or more, else 4).
    decimals: ClassVar[int | None] = None

    def __init__(self, **params: Any):
        super().__init__()
        check_known(params, self.default_params, f"metric '{self.name}': parameter")
        check_options(params, self.default_params, f"metric '{self.name}': parameter", self.param_types)
        self.params: dict[str, Any] = {**self.default_params, **params}
        self._domain_warned = False

    def input_peak(self) -> float | None:
        """The largest ground-truth value the parameters assume (None: any scale, the metric normalises).

        Metrics with ``norm='none'`` compare the values as given: a linear metric up to its ``peak`` or
        ``data_range``, a μ-law one up to 1 (μ-law maps [0, 1] to [0, 1]); ``tanh`` and absolute anchors
        take any scale."""
        p = self.params
        if p.get("norm") != "none" or p.get("tanh"):
            return None
        if p.get("domain", self.domain) == "linear":
            return float(p.get("peak", p.get("data_range", 1.0)))
        return 1.0

    def _warn_domain(self, gt: torch.Tensor) -> None:
        peak = self.input_peak()
        if peak is None or self._domain_warned:
            return
        top = float(gt.max())
        if top > peak * (1 + 1e-6):
            self._domain_warned = True
            warnings.warn(f"metric '{self.name}' is the raw metric: its parameters assume values in [0, {peak:g}] "
                          f"but the ground truth reaches {top:.4g}; normalise first, or score with a protocol: "
                          "hdrbench.score(pred, gt, protocol=...) / 'hdrbench score'", HDRBenchWarning,
                          stacklevel=6)  # past forward, torch's no_grad wrapper and Module.__call__: the caller

    def check_choice(self, key: str, choices: tuple[str, ...]) -> None:
        """Raise :class:`HDRBenchError` unless parameter ``key`` is one of ``choices``."""
        if self.params[key] not in choices:
            raise HDRBenchError(f"metric '{self.name}': {key}='{self.params[key]}' is not one of {', '.join(choices)}")

    def compute(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        """Per-image scores ``(N,)`` for linear HDR ``pred`` and ``gt`` of shape ``(N, 3, H, W)``."""
        raise NotImplementedError(f"{type(self).__name__}.compute")

    @torch.no_grad()
    def forward(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        if pred.shape != gt.shape or pred.ndim != 4 or pred.shape[1] != 3:
            raise HDRBenchError(
                f"metric '{self.name}': prediction {tuple(pred.shape)} and ground truth {tuple(gt.shape)} "
                "must both be (N, 3, H, W)"
            )
        self._warn_domain(gt)
        return self.compute(pred.float(), gt.float()).double()

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "kind": "metric", "lower_better": self.lower_better,
                "domain": self.domain, "params": dict(self.params),
                "summary": (type(self).__doc__ or "").strip().splitlines()[0] if type(self).__doc__ else ""}


def display(name: str, latex: bool = False) -> tuple[str, int | None]:
    """``(label, decimals)`` of metric ``name`` (a ``@crf`` suffix is kept); an unregistered name: capitals, None."""
    from hdrbench.registry import METRICS

    base, at, variant = name.partition("@")
    if base not in METRICS:
        return name.upper(), None
    cls = METRICS.get(base)
    label = (cls.label_latex or cls.label) if latex else cls.label
    return (label or base.upper()) + (f"@{variant.upper()}" if at else ""), cls.decimals


def create_metric(name: str, **params: Any) -> Metric:
    """Instantiate the registered metric ``name`` with ``params``."""
    from hdrbench.registry import METRICS

    return METRICS.get(name)(**params)
