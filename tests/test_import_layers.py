"""The import graph of hdrbench, dcdr and baselines has no circle and no import that runs up the layers.

The graph is read from the source with ``ast`` (every ``import``, also inside functions and ``TYPE_CHECKING``
blocks), so nothing of the product is imported here. Layers, lowest first; a module may import its own layer and
any layer below it, never one above.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hdrbench", "dcdr", "baselines")

#: (layer name, module prefixes). A module belongs to the layer of its longest matching prefix.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("core", ("hdrbench.errors", "hdrbench.defaults", "hdrbench.version", "hdrbench.distributed",
              "hdrbench.registry", "hdrbench.devices", "hdrbench.keyvalue", "hdrbench.io", "hdrbench.checkpoint",
              "hdrbench.official", "hdrbench.weights", "hdrbench.writing", "hdrbench.checks", "hdrbench.cli.allocator",
              "hdrbench.report.stats", "hdrbench.report.tonemappers")),
    ("blocks", ("hdrbench.nn", "hdrbench.metrics", "hdrbench.method", "hdrbench.display")),
    ("data", ("hdrbench.datasets",)),
    ("methods", ("dcdr", "baselines", "hdrbench.models", "hdrbench.inference")),
    ("benchmark", ("hdrbench.sections", "hdrbench.config", "hdrbench.runs", "hdrbench.plan", "hdrbench.preflight")),
    ("work", ("hdrbench.train", "hdrbench.evaluate")),
    ("report", ("hdrbench.report",)),
    ("interface", ("hdrbench.cli", "hdrbench.__main__", "hdrbench")),
]


def modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules ``name`` imports (``from pkg import mod`` resolves to ``pkg.mod`` when it exists)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            targets = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in known else prefix for a in node.names]
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name:
                found.add(t)
    return found


def layer_of(name: str) -> int:
    best, layer = -1, None
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (name == p or name.startswith(p + ".")) and len(p) > best:
                best, layer = len(p), i
    assert layer is not None, f"module {name} belongs to no layer: add it to LAYERS"
    return layer


def graph() -> dict[str, set[str]]:
    known = modules()
    return {m: imports(m, p, known) for m, p in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), i.e. the import circles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in edges:
        if v not in index:
            visit(v)
    return out


def test_the_walker_sees_a_circle_and_an_upward_import() -> None:
    """The checks below can fail: a made-up graph with a circle and an upward edge is caught."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]
    assert layer_of("hdrbench.metrics.scoring") < layer_of("hdrbench.config")
    known = modules()
    assert "hdrbench.plan" in imports("hdrbench.evaluate.runner", known["hdrbench.evaluate.runner"], known)


def test_no_import_circle() -> None:
    assert cycles(graph()) == []


def test_no_import_runs_up_the_layers() -> None:
    upward = [f"{m} ({LAYERS[layer_of(m)][0]}) imports {t} ({LAYERS[layer_of(t)][0]})"
              for m, targets in graph().items() for t in sorted(targets) if layer_of(t) > layer_of(m)]
    assert upward == []
