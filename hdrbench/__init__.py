"""hdrbench: benchmark and evaluation harness for single-image HDR reconstruction.

Data flow: ``io`` → ``datasets`` → methods (``dcdr``, ``baselines``) → ``train`` → ``evaluate``
(metrics, result store) → ``report`` / ``plot`` → ``cli``.

Score your own files: ``hdrbench.score(pred, gt, protocol="dcdr")`` returns what ``hdrbench score --json``
prints (see docs/scoring.md for which protocol fits your data).
"""

from hdrbench.errors import HDRBenchError, HDRBenchWarning
from hdrbench.registry import DATASETS, METHODS, METRICS, register_dataset, register_method, register_metric
from hdrbench.version import __version__


def create_method(name: str, **options):
    """Instantiate a registered method (see :func:`hdrbench.method.create_method`)."""
    from hdrbench.method import create_method as _create

    return _create(name, **options)


def score(pred, gt, protocol: str = "dcdr", metrics=None, **options):
    """Score a linear HDR prediction against its ground truth under a named protocol, exactly as
    ``hdrbench score --json`` does: the documented entry point for scoring (see
    :func:`hdrbench.metrics.scoring.score` for the arguments). ``pred``/``gt``: paths or ``(H, W, 3)``
    arrays/tensors. Returns ``{"pred", "gt", "protocol", "metrics": {name: value}, "warnings": [...]}``."""
    from hdrbench.metrics.scoring import score as _score

    return _score(pred, gt, protocol, metrics, **options)


def create_metric(name: str, **params):
    """The *raw* registered metric (see :func:`hdrbench.metrics.create_metric`): it compares the values it is
    given, with no protocol (no normalisation, no clipping), and warns when the ground truth lies outside its
    declared input range. For scores comparable with the literature use :func:`score`."""
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


__all__ = ["HDRBenchError", "HDRBenchWarning", "score", "METHODS", "METRICS", "DATASETS", "register_method",
           "register_metric", "register_dataset", "create_method", "create_metric", "create_dataset", "load_model",
           "predict_image", "__version__"]
