"""Metrics: one interface (:class:`Metric`), registered by name; ``create_metric(name)`` builds one.

Importing this package registers the built-in metrics (explicit imports below).
"""

from hdrbench.metrics.base import Metric, create_metric

# -- built-in metric modules (each registers itself on import) --
# isort: split
import hdrbench.metrics.colorvideovdp  # noqa: F401  (registration)
import hdrbench.metrics.lpips  # noqa: F401
import hdrbench.metrics.psnr  # noqa: F401
import hdrbench.metrics.ssim  # noqa: F401
from hdrbench.metrics import hdrvdp2  # noqa: F401

__all__ = ["Metric", "create_metric"]
