"""The one config loader: ``bench.toml`` → a validated :class:`BenchConfig`.

A benchmark file names a dataset and its test sets, the methods to compare (each trained here, loaded
from a checkpoint, or read as a folder of external predictions), training budgets, metrics and their
protocol, the report tables and the figure. Every key is checked on load: an unknown key is an
:class:`~hdrbench.errors.HDRBenchError` naming the key and the closest valid one. See the README's
*bench.toml reference* for every key; each section is one dataclass of :mod:`hdrbench.sections` (re-exported
here), whose fields are its keys and defaults.
"""

from __future__ import annotations

import difflib
import os
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hdrbench.checks import MIN_TILE
from hdrbench.defaults import DEFAULT_PROTOCOL, DEFAULT_RECIPES, DEFAULT_TILE, PAIRED_TESTS, PRECISIONS
from hdrbench.devices import check_device_spelling
from hdrbench.errors import HDRBenchError
from hdrbench.runs import RunLayout
from hdrbench.sections import (
    SECTIONS,
    BenchmarkSection,
    DatasetSection,
    EvaluateSection,
    MethodEntry,
    PlotSection,
    ReportSection,
    TableSpec,
    TrainSection,
    TrainSettings,
    schema,
)

#: Old spellings still read, with a one-line deprecation message: key → (new key, value renames).
DEPRECATED_KEYS: dict[str, tuple[str, dict[str, str]]] = {"protocol": ("recipes", {"dcdr": "paper"})}


def unknown_key(key: str, valid: Any, where: str, path: Path) -> HDRBenchError:
    close = difflib.get_close_matches(key, sorted(valid), n=1, cutoff=0.5)
    prefix = where if where.endswith(".") else ""
    hint = f"; did you mean '{prefix}{close[0]}'?" if close else f" (valid: {', '.join(sorted(valid))})"
    return HDRBenchError(f"unknown key '{where}{key}'{hint}", path)


def _check_table(table: Any, schema: dict[str, tuple[type, ...]], where: str, path: Path) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise HDRBenchError(f"'{where.rstrip('.')}' must be a table ([{where.rstrip('.')}])", path)
    for key, value in table.items():
        if key not in schema:
            raise unknown_key(key, schema, where, path)
        types = schema[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            want = " or ".join(t.__name__ for t in types)
            raise HDRBenchError(f"key '{where}{key}' must be {want}, not {type(value).__name__} ({value!r})", path)
    return table


@dataclass
class BenchConfig:
    """A validated benchmark description: one dataclass per ``bench.toml`` section; paths are resolved
    (``output``, ``dataset.root``, a method's ``checkpoint``/``external``)."""

    path: Path
    name: str
    output: Path
    methods: list[MethodEntry]
    tables: list[TableSpec]
    benchmark: BenchmarkSection = field(default_factory=BenchmarkSection)
    dataset: DatasetSection = field(default_factory=DatasetSection)
    train: TrainSection = field(default_factory=TrainSection)
    evaluate: EvaluateSection = field(default_factory=EvaluateSection)
    report: ReportSection = field(default_factory=ReportSection)
    plot: PlotSection = field(default_factory=PlotSection)

    def method(self, method_id: str) -> MethodEntry:
        """The entry whose id is ``method_id``."""
        for m in self.methods:
            if m.id == method_id:
                return m
        raise unknown_key(method_id, [m.id for m in self.methods], "methods: ", self.path)

    @property
    def runs(self) -> RunLayout:
        """Where this benchmark's checkpoints, predictions, scores and report live."""
        return RunLayout(self.output)

    @property
    def scored_metrics(self) -> list[str]:
        """``evaluate.metrics``, else the scoring protocol's default list."""
        if self.evaluate.metrics:
            return list(self.evaluate.metrics)
        from hdrbench.metrics.protocols import get_protocol

        return list(get_protocol(self.evaluate.protocol).metrics)

    def resolved_device(self) -> str:
        """The torch device string (``auto`` → CUDA when available); an absent device is a one-line error."""
        from hdrbench.devices import resolve_device

        try:
            return resolve_device(self.benchmark.device, "benchmark.device")
        except HDRBenchError as exc:
            raise HDRBenchError(exc.message, self.path) from None


def _deprecated(cls: type) -> dict[str, tuple[type, ...]]:
    """Deprecated spellings accepted in ``cls``'s table (not fields of it), typed as the keys they stand for."""
    own = schema(cls)
    return {old: own[new] for old, (new, _) in DEPRECATED_KEYS.items() if new in own and old not in own}


def _renamed(table: dict[str, Any], cls: type, where: str, path: Path) -> dict[str, Any]:
    """``table`` of dataclass ``cls`` with deprecated keys moved to their new names (one warning each)."""
    out = dict(table)
    for old in _deprecated(cls):
        new, values = DEPRECATED_KEYS[old]
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
        _check_table(m, {**schema(MethodEntry), **_deprecated(MethodEntry)}, where, path)
        m = _renamed(m, MethodEntry, where, path)
        if "name" not in m:
            raise HDRBenchError(f"'{where}name' is missing (a registered method, see 'hdrbench list')", path)
        entry = MethodEntry(**m)
        sources = [s for s in ("train", "checkpoint", "external") if m.get(s)]
        if len(sources) != 1:
            raise HDRBenchError(f"method '{entry.id}' needs exactly one of train = true, checkpoint = \"FILE\" or "
                                f"external = \"FOLDER\" (has {', '.join(sources) or 'none'})", path)
        if isinstance(entry.checkpoint, list):  # official release files that make one network (HDRTV stages)
            if not entry.checkpoint or not all(isinstance(c, str) for c in entry.checkpoint):
                raise HDRBenchError(f"method '{entry.id}': checkpoint must be a file or a list of files", path)
            entry.checkpoint = [str(_resolve(path.parent, c)) for c in entry.checkpoint]
        elif entry.checkpoint:
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
        _check_table(spec, {k: v for k, v in schema(TableSpec).items() if k != "name"}, f"report.tables.{name}.", path)
        tables.append(TableSpec(name=name, **spec))
    if not any(t.name == "table1" for t in tables):
        tables.insert(0, TableSpec(name="table1", title="Quantitative comparison", params=True))
    return tables


def parse_config(data: dict[str, Any], path: str | os.PathLike = "bench.toml") -> BenchConfig:
    """Validate a parsed TOML document (``path`` only names it in errors and anchors relative paths)."""
    path = Path(path).resolve()
    allowed = {**{k: None for k in SECTIONS}, "methods": None}
    for key in data:
        if key not in allowed:
            raise unknown_key(key, allowed, "", path)
    if isinstance(data.get("train"), dict) and "amp" in data["train"]:
        raise HDRBenchError("'train.amp' was replaced by 'train.precision' = \"fp32\" (default), \"bf16\" or "
                            "\"fp16\" (autocast)", path)
    sec: dict[str, Any] = {}
    for key, cls in SECTIONS.items():
        table = _check_table(data.get(key, {}), {**schema(cls), **_deprecated(cls)}, f"{key}.", path)
        sec[key] = cls(**_renamed(table, cls, f"{key}.", path))
    bench, ds, tr, rep = sec["benchmark"], sec["dataset"], sec["train"], sec["report"]
    name = bench.name or path.stem
    if not ds.name:
        raise HDRBenchError("'dataset.name' is missing (a registered dataset, see 'hdrbench list')", path)
    if ds.root:
        ds.root = str(_resolve(path.parent, ds.root))
    if rep.test not in PAIRED_TESTS:
        raise HDRBenchError(f"'report.test' must be one of {', '.join(PAIRED_TESTS)}, not '{rep.test}'", path)
    if not 0.5 <= rep.confidence < 1:
        raise HDRBenchError("'report.confidence' must lie in [0.5, 1)", path)
    try:
        bench.device = check_device_spelling(bench.device, "benchmark.device")
    except HDRBenchError as exc:
        raise HDRBenchError(exc.message, path) from None
    if tr.precision not in PRECISIONS:
        raise HDRBenchError(f"'train.precision' must be one of {', '.join(PRECISIONS)}, not '{tr.precision}'", path)
    for key in ("checkpoint_every", "log_every"):
        if getattr(tr, key) <= 0:
            raise HDRBenchError(f"'train.{key}' must be a positive number of iterations", path)
    ev = sec["evaluate"]
    if ev.tile != 0 and ev.tile < MIN_TILE:
        raise HDRBenchError(f"'evaluate.tile' must be 0 (whole images) or at least {MIN_TILE} pixels, not {ev.tile}",
                            path)
    if ev.overlap is not None and ev.overlap < 0:
        raise HDRBenchError(f"'evaluate.overlap' must be >= 0 pixels (or left out: the method's margin), not "
                            f"{ev.overlap}", path)
    if bench.seed < 0:
        raise HDRBenchError(f"'benchmark.seed' must be >= 0, not {bench.seed}", path)
    if "formats" in data.get("plot", {}):
        check_plot_formats(sec["plot"].formats, path)
    check_tonemappers(sec["plot"].tonemapper, path)
    if sec["plot"].hdr_formats or sec["plot"].hdr_display:
        from hdrbench.display.formats import check_plot_settings

        check_plot_settings(sec["plot"].hdr_formats, sec["plot"].hdr_display, path)
    cfg = BenchConfig(path=path, name=name, output=_resolve(path.parent, bench.output or f"results/{name}"),
                      methods=_methods(data.get("methods"), path), tables=_tables(rep.tables, path), **sec)
    ids = {m.id for m in cfg.methods}
    for mid in cfg.plot.methods:
        if mid not in ids:
            raise _unknown_method_id(mid, cfg, "plot.methods: ")
    for t in cfg.tables:
        for mid in t.methods:
            if mid not in ids:
                raise _unknown_method_id(mid, cfg, f"report.tables.{t.name}.methods: ")
    return cfg


def _unknown_method_id(mid: str, cfg: BenchConfig, where: str) -> HDRBenchError:
    """A table or figure lists ``mid``, no method id. When the closest id is an entry whose registered name is
    misspelt and ``mid`` is the right name, point at the entry: never advise replacing a right name with a typo."""
    close = difflib.get_close_matches(mid, [m.id for m in cfg.methods], n=1, cutoff=0.5)
    entry = next((m for m in cfg.methods if close and m.id == close[0]), None)
    if entry is not None and not entry.external:
        from hdrbench.registry import METHODS

        if entry.name not in METHODS and mid in METHODS:
            return HDRBenchError(f"{where}'{mid}' is no method id of this file: the [[methods]] entry "
                                 f"'{entry.id}' names '{entry.name}', which is not a registered method (did you "
                                 f"mean name = '{mid}'?)", cfg.path)
    return unknown_key(mid, {m.id for m in cfg.methods}, where, cfg.path)


def load_config(path: str | os.PathLike, *, names: bool = True) -> BenchConfig:
    """Read and validate ``bench.toml``; ``names``: also check registered names (:func:`check_names`)."""
    p = Path(path)
    if not p.is_file():
        raise HDRBenchError("benchmark file not found (the demo is ./bench.toml)", p)
    try:
        with open(p, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise HDRBenchError(f"not valid TOML ({exc})", p) from None
    cfg = parse_config(data, p)
    if names:
        check_names(cfg)
    return cfg


def check_names(cfg: BenchConfig) -> None:
    """Registered names (dataset, methods, metrics, recipes, recipe keys) and plot formats, so a typo fails before
    any work."""
    from hdrbench.defaults import RECIPES
    from hdrbench.method import check_recipe_overrides
    from hdrbench.metrics.protocols import get_protocol
    from hdrbench.registry import DATASETS, METHODS, METRICS

    try:
        get_protocol(cfg.evaluate.protocol, **cfg.evaluate.protocol_options)
        for name in cfg.report.protocols:
            try:
                get_protocol(name)
            except HDRBenchError as exc:
                raise HDRBenchError(f"report.protocols: {exc.message}") from None
        metrics = cfg.scored_metrics
        DATASETS.check(cfg.dataset.name)
        for m in cfg.methods:
            if not m.external:
                METHODS.check(m.name)
        for recipes in {cfg.train.recipes, *(m.recipes for m in cfg.methods if m.recipes)}:
            if recipes not in RECIPES:
                raise HDRBenchError(f"unknown recipes '{recipes}' (known: {', '.join(RECIPES)})")
        for metric in metrics:
            METRICS.check(metric)
        for table in cfg.tables:
            for metric in table.metrics:
                if metric not in metrics:
                    raise unknown_key(metric, metrics, f"report.tables.{table.name}.metrics: ", cfg.path)
        check_recipe_overrides(cfg.train.recipe)
        for m in cfg.methods:
            check_recipe_overrides(m.recipe)
        check_plot_formats(cfg.plot.formats, cfg.path)
    except HDRBenchError as exc:
        raise HDRBenchError(exc.message if exc.path else str(exc), cfg.path) from None


def check_tonemappers(value: str | list[str], path: Path) -> None:
    """``plot.tonemapper``: a registered operator's name or a non-empty list of them (one line naming the known)."""
    from hdrbench.report.tonemappers import tonemapper_names

    if not isinstance(value, str) and (not value or not all(isinstance(v, str) for v in value)):
        raise HDRBenchError("plot.tonemapper must be an operator's name or a non-empty list of names", path)
    try:
        tonemapper_names(value)
    except HDRBenchError as exc:
        raise HDRBenchError(f"plot.tonemapper: {exc.message}", path) from None


def check_plot_formats(formats: list[str], path: Path) -> None:
    """Every ``plot.formats`` entry is a file type matplotlib writes."""
    from matplotlib.backend_bases import FigureCanvasBase

    known = FigureCanvasBase.get_supported_filetypes()
    for fmt in formats:
        if str(fmt).lower().lstrip(".") not in known:
            near = difflib.get_close_matches(str(fmt).lower(), sorted(known), n=3, cutoff=0.5)
            hint = f"did you mean {' or '.join(repr(n) for n in near)}? " if near else ""
            raise HDRBenchError(f"plot.formats: '{fmt}' is not a figure format matplotlib writes ({hint}known: "
                                f"{', '.join(sorted(known))})", path)


__all__ = ["DEFAULT_PROTOCOL", "DEFAULT_RECIPES", "DEFAULT_TILE", "DEPRECATED_KEYS", "PAIRED_TESTS", "PRECISIONS",
           "SECTIONS", "BenchConfig", "BenchmarkSection", "DatasetSection", "EvaluateSection", "MethodEntry",
           "PlotSection", "ReportSection", "TableSpec", "TrainSection", "TrainSettings", "check_names",
           "check_plot_formats", "check_tonemappers", "load_config", "parse_config", "schema", "unknown_key"]
