"""``hdrbench list``: the registered methods, metrics and datasets."""

from __future__ import annotations

import json
from typing import Any

import click

from hdrbench.cli.options import Command
from hdrbench.registry import DATASETS, METHODS, METRICS


def _describe_method(cls: Any) -> dict[str, Any]:
    """A method's description; the parameter count comes from its network built for its shapes only
    (:meth:`hdrbench.method.Method.parameter_count`: nothing initialised, no weights read)."""
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


@click.command("list", cls=Command)
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
