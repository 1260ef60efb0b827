"""The layout of a benchmark's output folder: the one module that knows where each file of a run lives.

::

    <output>/
      results.sqlite                              every score (:mod:`hdrbench.evaluate.store`)
      checkpoints/<method id>/                    one training run (:mod:`hdrbench.train`)
        final.safetensors                         finished weights
        latest.json, step_<n>.safetensors, step_<n>.state.pt, train_log.csv, tb/
      predictions/<method id>/<test set>/<image>.exr    saved predictions (linear HDR)
      <table>.{md,csv,tex}, <figure>.{png,pdf}    the report (:mod:`hdrbench.report`)
      timings.json                                wall-clock of each ``hdrbench run``

External predictions (a method's ``external`` folder) are ``<folder>/<test set>/<image><suffix>`` or
``<folder>/<image><suffix>`` with a suffix of :data:`EXTERNAL_SUFFIXES`. Train, evaluate and report
all ask this module; nothing else builds these paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hdrbench.errors import HDRBenchError

if TYPE_CHECKING:
    from hdrbench.config import BenchConfig
    from hdrbench.datasets.base import PairedDataset

#: A finished training run's weights, inside its checkpoint folder.
FINAL = "final.safetensors"
#: The newest complete checkpoint of a training run (see :mod:`hdrbench.train.state`).
LATEST = "latest.json"
#: Suffixes read from an external predictions folder, in order of preference.
EXTERNAL_SUFFIXES = (".exr", ".hdr", ".pfm", ".npy")


@dataclass(frozen=True)
class RunLayout:
    """Paths inside one benchmark output folder ``output``."""

    output: Path

    @property
    def results(self) -> Path:
        """The SQLite result store."""
        return self.output / "results.sqlite"

    @property
    def timings(self) -> Path:
        return self.output / "timings.json"

    @property
    def reports(self) -> Path:
        """Where tables and figures are written."""
        return self.output

    def checkpoint_dir(self, method_id: str) -> Path:
        """The training run folder of ``method_id``."""
        return self.output / "checkpoints" / method_id

    def final_weights(self, method_id: str) -> Path:
        return self.checkpoint_dir(method_id) / FINAL

    def prediction(self, method_id: str, test_set: str, image: str) -> Path:
        """A saved prediction (EXR, linear HDR) of ``method_id`` for ``image`` of ``test_set``."""
        return self.output / "predictions" / method_id / test_set / f"{image}.exr"


def external_prediction(folder: Path, test_set: str, image: str) -> Path | None:
    """The file of ``image`` in an external predictions ``folder`` (per test set first), or None."""
    for base in (folder / test_set, folder):
        for suffix in EXTERNAL_SUFFIXES:
            if (base / f"{image}{suffix}").is_file():
                return base / f"{image}{suffix}"
    return None


def test_sets(cfg: BenchConfig, dataset: PairedDataset) -> list[str]:
    """The evaluated test sets: ``dataset.test_sets`` in bench.toml, else all of the dataset's."""
    return cfg.dataset.test_sets or list(dataset.test_sets)


def figure_images(cfg: BenchConfig, dataset: PairedDataset) -> tuple[str, list[str]]:
    """``(test set, image ids)`` shown in the figure, whose predictions evaluation saves: ``plot.images``
    (ids, or the first N; default 2)."""
    test_set = cfg.plot.test_set or test_sets(cfg, dataset)[0]
    chosen = cfg.plot.images
    ids = [p.id for p in dataset.pairs(test_set)]
    if cfg.dataset.max_images:
        ids = ids[:cfg.dataset.max_images]  # only evaluated images have predictions
    if isinstance(chosen, int):
        return test_set, ids[:chosen]
    missing = [c for c in chosen if c not in ids]
    if missing:
        raise HDRBenchError(f"plot.images: '{missing[0]}' is not an image of test set '{test_set}'", cfg.path)
    return test_set, list(chosen)
