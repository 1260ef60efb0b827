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


def load_model(name: str, checkpoint=None, device="cpu", **options):
    """``(method, net)`` with weights from ``checkpoint`` (hdrbench or official release files; see
    :func:`hdrbench.models.load_model`)."""
    from hdrbench.models import load_model as _load

    return _load(name, checkpoint, device, **options)


def predict_image(method, net, ldr, *, tile: int = 512, overlap=None):
    """Linear HDR for an LDR image (path, array or tensor; see :func:`hdrbench.models.predict_image`)."""
    from hdrbench.models import predict_image as _predict

    return _predict(method, net, ldr, tile=tile, overlap=overlap)


__all__ = ["HDRBenchError", "METHODS", "METRICS", "DATASETS", "register_method", "register_metric",
           "register_dataset", "create_method", "create_metric", "create_dataset", "load_model", "predict_image",
           "__version__"]
