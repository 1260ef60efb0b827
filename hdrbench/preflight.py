"""Old import path of the checks before work; they are now failures to build the plan (:mod:`hdrbench.plan`)."""

from __future__ import annotations

from hdrbench.config import BenchConfig, check_names, check_plot_formats
from hdrbench.plan import build_plan


def check_benchmark(cfg: BenchConfig, *, train: bool = True, methods: list[str] | None = None) -> None:
    """Raise the first problem of ``cfg`` (:func:`hdrbench.plan.build_plan` for ``train`` or ``evaluate``)."""
    build_plan(cfg, "train" if train else "evaluate", methods)


validate_names = check_names

__all__ = ["check_benchmark", "check_names", "check_plot_formats", "validate_names"]
