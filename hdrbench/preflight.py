"""Checks a benchmark before any work: every mistake ``hdrbench run`` could meet after hours of training
(a wrong dataset root or test-set name, a missing external folder or checkpoint, an absent device)
is reported first, as one :class:`~hdrbench.errors.HDRBenchError` line naming the file to fix.
"""

from __future__ import annotations

from pathlib import Path

from hdrbench.config import BenchConfig
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
