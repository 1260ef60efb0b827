"""The one config loader: ``bench.toml`` → a validated :class:`BenchConfig`.

A benchmark file names a dataset and its test sets, the methods to compare (each trained here, loaded
from a checkpoint, or read as a folder of external predictions), training budgets, metrics and their
protocol, the report tables and the figure. Every key is checked on load: an unknown key is an
:class:`~hdrbench.errors.HDRBenchError` naming the key and the closest valid one. See the README's
*Benchmarks* section for the reference.
"""

from __future__ import annotations

import difflib
import os
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hdrbench.errors import HDRBenchError
from hdrbench.runs import RunLayout

#: Tile size (pixels) of tiled inference in evaluation and ``hdrbench predict``; 0 runs whole images.
DEFAULT_TILE = 512
#: The scoring protocol when bench.toml or the command line names none (:mod:`hdrbench.metrics.protocols`).
DEFAULT_PROTOCOL = "dcdr"
#: The training switch when bench.toml names none: each method's own recipe (see :data:`hdrbench.method.RECIPES`).
DEFAULT_RECIPES = "official"

#: section → {key: accepted python types}; ``dict`` values are free-form tables checked elsewhere.
SCHEMA: dict[str, dict[str, tuple[type, ...]]] = {
    "benchmark": {"name": (str,), "output": (str,), "seed": (int,), "device": (str,)},
    "dataset": {"name": (str,), "root": (str,), "options": (dict,), "train_split": (str,), "test_sets": (list,),
                "max_images": (int,)},
    "train": {"recipes": (str,), "protocol": (str,), "recipe": (dict,), "checkpoint_every": (int,), "log_every": (int,),
              "num_workers": (int,), "tensorboard": (bool,), "amp": (bool,), "keep_checkpoints": (int,)},
    "evaluate": {"metrics": (list,), "protocol": (str,), "metric_params": (dict,), "tile": (int,),
                 "overlap": (int,), "save_predictions": (bool,)},
    "report": {"tables": (dict,), "bootstrap": (int,), "confidence": (float,), "test": (str,), "decimals": (dict,)},
    "plot": {"test_set": (str,), "images": (list, int), "methods": (list,), "tonemapped": (bool,), "box": (int,),
             "formats": (list,)},
}
METHOD_KEYS: dict[str, tuple[type, ...]] = {
    "name": (str,), "id": (str,), "label": (str,), "train": (bool,), "checkpoint": (str,), "external": (str,),
    "options": (dict,), "recipe": (dict,), "params": (int,), "recipes": (str,), "protocol": (str,),
}
#: Old spellings still read, with a one-line deprecation message: key → (new key, value renames).
DEPRECATED_KEYS: dict[str, tuple[str, dict[str, str]]] = {"protocol": ("recipes", {"dcdr": "paper"})}
TABLE_KEYS: dict[str, tuple[type, ...]] = {"methods": (list,), "metrics": (list,), "test_sets": (list,),
                                           "title": (str,), "params": (bool,)}
PAIRED_TESTS = ("wilcoxon", "ttest")


def _unknown(key: str, valid: Any, where: str, path: Path) -> HDRBenchError:
    close = difflib.get_close_matches(key, sorted(valid), n=1, cutoff=0.5)
    prefix = where if where.endswith(".") else ""
    hint = f"; did you mean '{prefix}{close[0]}'?" if close else f" (valid: {', '.join(sorted(valid))})"
    return HDRBenchError(f"unknown key '{where}{key}'{hint}", path)


def _check_table(table: Any, schema: dict[str, tuple[type, ...]], where: str, path: Path) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise HDRBenchError(f"'{where.rstrip('.')}' must be a table ([{where.rstrip('.')}])", path)
    for key, value in table.items():
        if key not in schema:
            raise _unknown(key, schema, where, path)
        types = schema[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            want = " or ".join(t.__name__ for t in types)
            raise HDRBenchError(f"key '{where}{key}' must be {want}, not {type(value).__name__} ({value!r})", path)
    return table


@dataclass
class MethodEntry:
    """One compared method: ``name`` is the registered method (or a free name for ``external``).

    ``id`` (default ``name``) is the row key in the store and the tables; ``label`` the displayed name.
    Exactly one source: ``train = true`` (trained by ``hdrbench train``/``run`` into the output folder),
    ``checkpoint`` (a weights file) or ``external`` (a folder of predicted EXR/HDR files).
    """

    name: str
    id: str = ""
    label: str = ""
    train: bool = False
    checkpoint: str | None = None
    external: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    recipe: dict[str, Any] = field(default_factory=dict)
    params: int | None = None
    recipes: str | None = None

    def __post_init__(self) -> None:
        self.id = self.id or self.name
        self.label = self.label or self.id


@dataclass
class TableSpec:
    """A report table: rows ``methods`` (ids; empty = all), columns test sets × ``metrics``."""

    name: str
    title: str = ""
    methods: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    test_sets: list[str] = field(default_factory=list)
    params: bool = False


@dataclass
class BenchConfig:
    """A validated benchmark description (see the module docstring); paths are resolved."""

    path: Path
    name: str
    output: Path
    seed: int = 0
    device: str = "auto"
    dataset: str = "demo"
    dataset_root: str | None = None
    dataset_options: dict[str, Any] = field(default_factory=dict)
    train_split: str | None = None
    test_sets: list[str] = field(default_factory=list)
    max_images: int = 0
    methods: list[MethodEntry] = field(default_factory=list)
    train: dict[str, Any] = field(default_factory=dict)
    metrics: list[str] = field(default_factory=list)
    eval_protocol: str | None = None
    metric_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    tile: int = DEFAULT_TILE
    overlap: int | None = None
    save_predictions: bool = False
    tables: list[TableSpec] = field(default_factory=list)
    bootstrap: int = 2000
    confidence: float = 0.95
    paired_test: str = "wilcoxon"
    decimals: dict[str, int] = field(default_factory=dict)
    plot: dict[str, Any] = field(default_factory=dict)

    def method(self, method_id: str) -> MethodEntry:
        """The entry whose id is ``method_id``."""
        for m in self.methods:
            if m.id == method_id:
                return m
        raise _unknown(method_id, [m.id for m in self.methods], "methods: ", self.path)

    @property
    def runs(self) -> RunLayout:
        """Where this benchmark's checkpoints, predictions, scores and report live."""
        return RunLayout(self.output)

    @property
    def scored_metrics(self) -> list[str]:
        """``evaluate.metrics``, else the scoring protocol's default list."""
        if self.metrics:
            return list(self.metrics)
        from hdrbench.metrics.protocols import get_protocol

        return list(get_protocol(self.eval_protocol or DEFAULT_PROTOCOL).metrics)

    def resolved_device(self) -> str:
        if self.device != "auto":
            return self.device
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"


TRAIN_DEFAULTS: dict[str, Any] = {"recipes": DEFAULT_RECIPES, "recipe": {}, "checkpoint_every": 500, "log_every": 10,
                                  "num_workers": 0, "tensorboard": True, "amp": True, "keep_checkpoints": 2}


def _renamed(table: dict[str, Any], where: str, path: Path) -> dict[str, Any]:
    """``table`` with deprecated keys moved to their new names (one warning each)."""
    out = dict(table)
    for old, (new, values) in DEPRECATED_KEYS.items():
        if old in out:
            value = out.pop(old)
            value = values.get(value, value)
            warnings.warn(f"{path.name}: '{where}{old}' is deprecated; write {where}{new} = \"{value}\"",
                          FutureWarning, stacklevel=3)
            out.setdefault(new, value)
    return out


def _resolve(base: Path, p: str) -> Path:
    q = Path(os.path.expanduser(p))
    return q if q.is_absolute() else (base / q)


def _methods(raw: Any, path: Path) -> list[MethodEntry]:
    if not isinstance(raw, list) or not raw:
        raise HDRBenchError("needs at least one [[methods]] entry (name = a registered method)", path)
    out: list[MethodEntry] = []
    for i, m in enumerate(raw):
        where = f"methods[{i}]."
        _check_table(m, METHOD_KEYS, where, path)
        m = _renamed(m, where, path)
        if "name" not in m:
            raise HDRBenchError(f"'{where}name' is missing (a registered method, see 'hdrbench list')", path)
        entry = MethodEntry(**m)
        sources = [s for s in ("train", "checkpoint", "external") if m.get(s)]
        if len(sources) != 1:
            raise HDRBenchError(f"method '{entry.id}' needs exactly one of train = true, checkpoint = \"FILE\" or "
                                f"external = \"FOLDER\" (has {', '.join(sources) or 'none'})", path)
        if entry.checkpoint:
            entry.checkpoint = str(_resolve(path.parent, entry.checkpoint))
        if entry.external:
            entry.external = str(_resolve(path.parent, entry.external))
        if any(o.id == entry.id for o in out):
            raise HDRBenchError(f"method id '{entry.id}' appears twice; give one of them id = \"...\"", path)
        out.append(entry)
    return out


def _tables(raw: dict[str, Any], path: Path) -> list[TableSpec]:
    tables = []
    for name, spec in raw.items():
        _check_table(spec, TABLE_KEYS, f"report.tables.{name}.", path)
        tables.append(TableSpec(name=name, **spec))
    if not any(t.name == "table1" for t in tables):
        tables.insert(0, TableSpec(name="table1", title="Quantitative comparison", params=True))
    return tables


def parse_config(data: dict[str, Any], path: str | os.PathLike = "bench.toml") -> BenchConfig:
    """Validate a parsed TOML document (``path`` only names it in errors and anchors relative paths)."""
    path = Path(path).resolve()
    allowed = {**{k: None for k in SCHEMA}, "methods": None}
    for key in data:
        if key not in allowed:
            raise _unknown(key, allowed, "", path)
    sec = {k: _check_table(data.get(k, {}), SCHEMA[k], f"{k}.", path) for k in SCHEMA}
    bench, ds, ev, rep = sec["benchmark"], sec["dataset"], sec["evaluate"], sec["report"]
    tr = _renamed(sec["train"], "train.", path)
    name = bench.get("name") or path.stem
    if "name" not in ds:
        raise HDRBenchError("'dataset.name' is missing (a registered dataset, see 'hdrbench list')", path)
    test = rep.get("test", "wilcoxon")
    if test not in PAIRED_TESTS:
        raise HDRBenchError(f"'report.test' must be one of {', '.join(PAIRED_TESTS)}, not '{test}'", path)
    if not 0.5 <= rep.get("confidence", 0.95) < 1:
        raise HDRBenchError("'report.confidence' must lie in [0.5, 1)", path)
    for key in ("checkpoint_every", "log_every"):
        if key in tr and tr[key] <= 0:
            raise HDRBenchError(f"'train.{key}' must be a positive number of iterations", path)
    cfg = BenchConfig(
        path=path, name=name, output=_resolve(path.parent, bench.get("output", f"results/{name}")),
        seed=bench.get("seed", 0), device=bench.get("device", "auto"),
        dataset=ds["name"], dataset_root=str(_resolve(path.parent, ds["root"])) if ds.get("root") else None,
        dataset_options=dict(ds.get("options", {})), train_split=ds.get("train_split"),
        test_sets=[str(t) for t in ds.get("test_sets", [])], max_images=ds.get("max_images", 0),
        methods=_methods(data.get("methods"), path), train={**TRAIN_DEFAULTS, **tr},
        metrics=[str(m) for m in ev.get("metrics", [])], eval_protocol=ev.get("protocol"),
        metric_params=dict(ev.get("metric_params", {})), tile=ev.get("tile", DEFAULT_TILE), overlap=ev.get("overlap"),
        save_predictions=ev.get("save_predictions", False), tables=_tables(rep.get("tables", {}), path),
        bootstrap=rep.get("bootstrap", 2000), confidence=float(rep.get("confidence", 0.95)), paired_test=test,
        decimals=dict(rep.get("decimals", {})), plot=dict(sec["plot"]),
    )
    ids = {m.id for m in cfg.methods}
    for mid in cfg.plot.get("methods", []):
        if mid not in ids:
            raise _unknown(mid, ids, "plot.methods: ", path)
    for t in cfg.tables:
        for mid in t.methods:
            if mid not in ids:
                raise _unknown(mid, ids, f"report.tables.{t.name}.methods: ", path)
    return cfg


def validate_names(cfg: BenchConfig) -> None:
    """Check registered names (dataset, methods, metrics, recipe keys) so a typo fails before any work."""
    from hdrbench.method import RECIPES, Recipe
    from hdrbench.metrics.protocols import get_protocol
    from hdrbench.registry import DATASETS, METHODS, METRICS

    try:
        get_protocol(cfg.eval_protocol or DEFAULT_PROTOCOL)
        metrics = cfg.scored_metrics
        DATASETS.check(cfg.dataset)
        for m in cfg.methods:
            if not m.external:
                METHODS.check(m.name)
        for recipes in {cfg.train["recipes"], *(m.recipes for m in cfg.methods if m.recipes)}:
            if recipes not in RECIPES:
                raise HDRBenchError(f"unknown recipes '{recipes}' (known: {', '.join(RECIPES)})")
        for metric in metrics:
            METRICS.check(metric)
        for table in cfg.tables:
            for metric in table.metrics:
                if metric not in metrics:
                    raise _unknown(metric, metrics, f"report.tables.{table.name}.metrics: ", cfg.path)
        Recipe().replace(**cfg.train["recipe"])
        for m in cfg.methods:
            Recipe().replace(**m.recipe)
    except HDRBenchError as exc:
        raise HDRBenchError(exc.message if exc.path else str(exc), cfg.path) from None


def load_config(path: str | os.PathLike, *, check_names: bool = True) -> BenchConfig:
    """Read and validate ``bench.toml``; ``check_names`` also resolves registered names."""
    p = Path(path)
    if not p.is_file():
        raise HDRBenchError("benchmark file not found (the demo is ./bench.toml)", p)
    try:
        with open(p, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise HDRBenchError(f"not valid TOML ({exc})", p) from None
    cfg = parse_config(data, p)
    if check_names:
        validate_names(cfg)
    return cfg
