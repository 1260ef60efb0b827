"""``hdrbench list``: the registered methods, metrics and datasets."""

from __future__ import annotations

import json
from typing import Any

import click

from hdrbench.registry import DATASETS, METHODS, METRICS


def _describe(kind: str, name: str, obj: Any) -> dict[str, Any]:
    describe = getattr(obj, "describe", None)
    if kind == "method":
        info = obj().describe()
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
