"""The sections of ``bench.toml`` as dataclasses: each field is a key, with its type and default stated once.

:mod:`hdrbench.config` parses a file into them (and checks every key against :func:`schema`); see the README's
*bench.toml reference* for what each key means.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from hdrbench.defaults import (
    DEFAULT_PROTOCOL,
    DEFAULT_RECIPES,
    DEFAULT_TILE,
    DISTANCE_EDGES,
    PAIRED_TESTS,
    REGION_THRESHOLD,
    SIZE_EDGES,
)
from hdrbench.report.tonemappers import DEFAULT_TONEMAPPER


@dataclass
class BenchmarkSection:
    """``[benchmark]``: the run's name (default: the file's stem), output folder (``results/<name>``), seed of
    initialisation, patches and bootstrap, and device (``auto``: CUDA when available)."""

    name: str = ""
    output: str = ""
    seed: int = 0
    device: str = "auto"


@dataclass
class DatasetSection:
    """``[dataset]``: a registered dataset, its folder and options, the split trained on (the dataset's), the
    test sets scored (the dataset's) and the first N images per test set (0 = all)."""

    name: str = ""
    root: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    train_split: str | None = None
    test_sets: list[str] = field(default_factory=list)
    max_images: int = 0


@dataclass
class TrainSettings:
    """How a training run is carried out (shared by ``[train]`` and :class:`hdrbench.train.TrainJob`): checkpoint
    period and how many to keep, logging period, DataLoader workers (-1: automatic), TensorBoard events, and
    the arithmetic (:data:`PRECISIONS`: fp32, TF32 matmuls on CUDA; or a bf16/fp16 autocast)."""

    checkpoint_every: int = 500
    log_every: int = 10
    num_workers: int = -1
    tensorboard: bool = True
    precision: str = "fp32"
    keep_checkpoints: int = 2


@dataclass
class TrainSection(TrainSettings):
    """``[train]``: the training switch (``official`` recipes or the ``paper`` protocol), recipe overrides for
    every method, and the :class:`TrainSettings`."""

    recipes: str = DEFAULT_RECIPES
    recipe: dict[str, Any] = field(default_factory=dict)


@dataclass
class EvaluateSection:
    """``[evaluate]``: scoring protocol and its named options (``white``, ``clip_pred``, ``psnr``), metric names
    (empty: the protocol's), per-metric parameter overrides, tiled inference (tile, context: the method's margin),
    whether to keep every prediction, and the scores inside the overexposed regions (:mod:`hdrbench.metrics.regions`):
    on/off, the mask's threshold and rule, the lower edges of the distance and component-size bins."""

    protocol: str = DEFAULT_PROTOCOL
    protocol_options: dict[str, Any] = field(default_factory=dict)
    metrics: list[str] = field(default_factory=list)
    metric_params: dict[str, Any] = field(default_factory=dict)
    tile: int = DEFAULT_TILE
    overlap: int | None = None
    save_predictions: bool = False
    regions: bool = False
    region_threshold: int = REGION_THRESHOLD
    region_rule: str = "gray"
    distance_edges: list[float] = field(default_factory=lambda: list(DISTANCE_EDGES))
    size_edges: list[float] = field(default_factory=lambda: list(SIZE_EDGES))


@dataclass
class ReportSection:
    """``[report]``: tables, bootstrap resamples and level, the paired test, decimals per metric, and the protocols
    to score the same predictions under (``protocols.csv/.md``: :mod:`hdrbench.report.protocols`)."""

    tables: dict[str, Any] = field(default_factory=dict)
    bootstrap: int = 2000
    confidence: float = 0.95
    test: str = PAIRED_TESTS[0]
    decimals: dict[str, Any] = field(default_factory=dict)
    protocols: list[str] = field(default_factory=list)


@dataclass
class PlotSection:
    """``[plot]``: the figure's test set (the first) and images (ids, or the first N), its methods (Table 1's),
    the zoom box side (0: H/5), the tone-mapped copies (on/off; the operator's name or a list of names, one
    figure each: :data:`hdrbench.report.tonemappers.TONEMAPPERS`), the file formats, and the HDR display encodings
    its panels are also written in, with their display model (:mod:`hdrbench.report.hdr_panels`)."""

    test_set: str | None = None
    images: list[str] | int = 2
    methods: list[str] = field(default_factory=list)
    tonemapped: bool = True
    tonemapper: str | list[str] = DEFAULT_TONEMAPPER
    box: int = 0
    formats: list[str] = field(default_factory=lambda: ["png", "pdf"])
    hdr_formats: list[str] = field(default_factory=list)
    hdr_display: dict[str, Any] = field(default_factory=dict)


SECTIONS: dict[str, type] = {"benchmark": BenchmarkSection, "dataset": DatasetSection, "train": TrainSection,
                             "evaluate": EvaluateSection, "report": ReportSection, "plot": PlotSection}


def schema(cls: type) -> dict[str, tuple[type, ...]]:
    """``{key: accepted TOML value types}`` derived from the fields of dataclass ``cls``."""
    hints = typing.get_type_hints(cls)
    out: dict[str, tuple[type, ...]] = {}
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        members = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        out[f.name] = tuple(typing.get_origin(m) or m for m in members if m is not type(None))
    return out


@dataclass
class MethodEntry:
    """One compared method: ``name`` is the registered method (or a free name for ``external``).

    ``id`` (default ``name``) is the row key in the store and the tables; ``label`` the displayed name.
    Exactly one source: ``train = true`` (trained by ``hdrbench train``/``run`` into the output folder),
    ``checkpoint`` (a weights file, or a list of official release files that make one network) or
    ``external`` (a folder of predicted EXR/HDR files).
    """

    name: str
    id: str = ""
    label: str = ""
    train: bool = False
    checkpoint: str | list[str] | None = None
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
