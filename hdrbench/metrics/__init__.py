"""Metrics: one interface (:class:`Metric`), registered by name; ``create_metric(name)`` builds one.

Each metric module is registered in ``pyproject.toml`` (``[project.entry-points."hdrbench.metrics"]``)
and imported when the metric is first used.
"""

from hdrbench.metrics.base import Metric, create_metric

__all__ = ["Metric", "create_metric"]
