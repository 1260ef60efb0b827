"""hdrbench: benchmark and evaluation harness for single-image HDR reconstruction.

Data flow: ``io`` → ``datasets`` → methods (``dcdr``, ``baselines``) → ``train`` → ``evaluate``
(metrics, result store) → ``report`` / ``plot`` → ``cli``.
"""

from hdrbench.errors import HDRBenchError
from hdrbench.registry import DATASETS, METHODS, METRICS, register_dataset, register_method, register_metric

__version__ = "0.1.0"


def create_method(name: str, **options):
    """Instantiate a registered method (see :func:`hdrbench.method.create_method`)."""
    from hdrbench.method import create_method as _create

    return _create(name, **options)


def create_metric(name: str, **params):
    """Instantiate a registered metric (see :func:`hdrbench.metrics.create_metric`)."""
    from hdrbench.metrics.base import create_metric as _create

    return _create(name, **params)


def create_dataset(name: str, root=None, **options):
    """Instantiate a registered dataset (see :func:`hdrbench.datasets.create_dataset`)."""
    from hdrbench.datasets.base import create_dataset as _create

    return _create(name, root, **options)


__all__ = ["HDRBenchError", "METHODS", "METRICS", "DATASETS", "register_method", "register_metric",
           "register_dataset", "create_method", "create_metric", "create_dataset", "__version__"]
