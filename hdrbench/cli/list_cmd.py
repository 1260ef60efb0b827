"""``hdrbench list``: the registered methods, metrics and datasets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from hdrbench.registry import DATASETS, METHODS, METRICS


@contextmanager
def shapes_only() -> Iterator[None]:
    """While active, ``torch.nn.init``'s in-place initialisers do nothing: networks built for their parameter
    counts skip initialising tens of millions of weights (hdrtv, singlehdr: seconds). Restored on exit."""
    import torch.nn.init as init

    names = [n for n in dir(init) if n.endswith("_") and not n.startswith("_") and callable(getattr(init, n))]
    saved = {n: getattr(init, n) for n in names}
    try:
        for n in names:
            setattr(init, n, lambda tensor, *args, **kwargs: tensor)
        yield
    finally:
        for n, f in saved.items():
            setattr(init, n, f)


def _describe_method(cls: Any) -> dict[str, Any]:
    """A method's description; its network is built uninitialised (:func:`shapes_only`) for the parameter count."""
    with shapes_only():
        return cls().describe()


def _describe_metric(cls: Any) -> dict[str, Any]:
    """A metric's description from its class (building one would load weights, e.g. LPIPS's AlexNet)."""
    doc = (cls.__doc__ or "").strip()
    return {"name": cls.name, "kind": "metric", "lower_better": cls.lower_better, "domain": cls.domain,
            "params": dict(cls.default_params), "summary": doc.splitlines()[0] if doc else ""}


def _describe(kind: str, name: str, obj: Any) -> dict[str, Any]:
    from hdrbench.metrics.base import Metric

    describe = getattr(obj, "describe", None)
    if kind == "method":
        info = _describe_method(obj)
    elif kind == "metric" and isinstance(obj, type) and issubclass(obj, Metric):
        info = _describe_metric(obj)
    elif callable(describe):
        try:
            info = describe()
        except TypeError:  # an instance method: describe a default instance
            info = obj().describe()
    else:
        info = {}
    info = {**info, "name": name, "kind": kind}
    info.setdefault("summary", (obj.__doc__ or "").strip().splitlines()[0] if obj.__doc__ else "")
    return info


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array of objects.")
@click.option("--kind", type=click.Choice(["method", "metric", "dataset"]), default=None,
              help="Only this kind of component.")
def list_cmd(as_json: bool, kind: str | None) -> None:
    """List registered methods (with parameter counts), metrics and datasets."""
    rows: list[dict[str, Any]] = []
    for k, registry in (("method", METHODS), ("metric", METRICS), ("dataset", DATASETS)):
        if kind and k != kind:
            continue
        for name, obj in registry.items():
            rows.append(_describe(k, name, obj))
    if as_json:
        click.echo(json.dumps(rows, indent=None, default=str))
        return
    for k in ("method", "metric", "dataset"):
        group = [r for r in rows if r["kind"] == k]
        if not group:
            continue
        click.echo(f"{k}s:")
        for r in group:
            extra = f"  {r['params'] / 1e6:.3f}M params" if isinstance(r.get("params"), int) else ""
            click.echo(f"  {r['name']:<18}{extra}  {r.get('summary', '')}")
