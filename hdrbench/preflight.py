"""Checks a benchmark before any work: registered names when it loads (:func:`validate_names`), then data,
folders, checkpoints and device (:func:`check_benchmark`). Every mistake ``hdrbench run`` could meet after
hours of training (a typo in a name, a wrong dataset root or test-set name, a missing external folder or
checkpoint, an absent device) is reported first, as one :class:`~hdrbench.errors.HDRBenchError` line naming
the file to fix.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from hdrbench.config import BenchConfig, _unknown
from hdrbench.errors import HDRBenchError


def _fail(cfg: BenchConfig, exc: HDRBenchError) -> HDRBenchError:
    return exc if exc.path else HDRBenchError(exc.message, cfg.path)


def check_benchmark(cfg: BenchConfig, *, train: bool = True, methods: list[str] | None = None) -> None:
    """Raise the first problem of ``cfg`` that would stop ``run`` (``train``: also the training split) or
    ``evaluate`` (``methods``: only these ids) later; creates nothing (synthesized datasets may fill their
    cache, which the run needs anyway)."""
    from hdrbench.datasets.base import create_dataset
    from hdrbench.method import create_method

    try:
        cfg.resolved_device()
        dataset = create_dataset(cfg.dataset.name, cfg.dataset.root, **cfg.dataset.options)
        unknown = [t for t in cfg.dataset.test_sets if t not in dataset.test_sets]
        if unknown:
            from hdrbench.errors import closest

            near = closest(unknown[0], dataset.test_sets)
            hint = f"did you mean '{near}'? " if near else ""
            raise HDRBenchError(f"dataset.test_sets: '{unknown[0]}' is not a test set of dataset '{cfg.dataset.name}' "
                                f"({hint}its test sets: {', '.join(dataset.test_sets)})", cfg.path)
        test_sets = cfg.dataset.test_sets or list(dataset.test_sets)
        entries = [cfg.method(m) for m in methods] if methods else cfg.methods
        if train and any(e.train for e in entries):
            dataset.pairs(cfg.dataset.train_split or dataset.train_split)
        pairs = {}
        for ts in test_sets:
            pairs[ts] = dataset.pairs(ts)[: cfg.dataset.max_images or None]
        for entry in entries:
            if entry.external:
                _check_external(entry.id, Path(entry.external), pairs)
                continue
            create_method(entry.name, **entry.options)
            if entry.checkpoint and not Path(entry.checkpoint).is_file():
                raise HDRBenchError(f"checkpoint of method '{entry.id}' not found; fix methods.checkpoint",
                                    entry.checkpoint)
            if entry.train and not train:  # evaluation only: the training run must have finished
                from hdrbench.evaluate.runner import trained_checkpoint

                trained_checkpoint(cfg, entry)
        from hdrbench.runs import figure_images

        figure_images(cfg, dataset)
    except HDRBenchError as exc:
        raise _fail(cfg, exc) from None


def _check_external(method_id: str, folder: Path, pairs: dict) -> None:
    from hdrbench.runs import external_prediction

    if not folder.is_dir():
        raise HDRBenchError(f"external predictions of method '{method_id}' not found (a folder of <image>.exr, or "
                            "<test_set>/<image>.exr); fix methods.external", folder)
    for ts, items in pairs.items():
        for pair in items:
            if external_prediction(folder, ts, pair.id) is None:
                raise HDRBenchError(f"method '{method_id}' has no prediction for image '{pair.id}' of test set "
                                    f"'{ts}' (expected {pair.id}.exr here or in {ts}/)", folder)


def validate_names(cfg: BenchConfig) -> None:
    """Check registered names (dataset, methods, metrics, recipe keys) so a typo fails before any work."""
    from hdrbench.method import RECIPES, Recipe
    from hdrbench.metrics.protocols import get_protocol
    from hdrbench.registry import DATASETS, METHODS, METRICS

    try:
        get_protocol(cfg.evaluate.protocol)
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
                    raise _unknown(metric, metrics, f"report.tables.{table.name}.metrics: ", cfg.path)
        Recipe().replace(**cfg.train.recipe)
        for m in cfg.methods:
            Recipe().replace(**m.recipe)
    except HDRBenchError as exc:
        raise HDRBenchError(exc.message if exc.path else str(exc), cfg.path) from None


def check_plot_formats(formats: list[str], path: Path) -> None:
    """Every ``plot.formats`` entry is a file type matplotlib writes (checked at load, before any work)."""
    from matplotlib.backend_bases import FigureCanvasBase

    known = FigureCanvasBase.get_supported_filetypes()
    for fmt in formats:
        if str(fmt).lower().lstrip(".") not in known:
            near = difflib.get_close_matches(str(fmt).lower(), sorted(known), n=3, cutoff=0.5)
            hint = f"did you mean {' or '.join(repr(n) for n in near)}? " if near else ""
            raise HDRBenchError(f"plot.formats: '{fmt}' is not a figure format matplotlib writes ({hint}known: "
                                f"{', '.join(sorted(known))})", path)
