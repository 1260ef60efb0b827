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
      benchmark.json                              the dataset the folder was built for
      .lock                                       held by the run working in it (who, since when)

External predictions (a method's ``external`` folder) are ``<folder>/<test set>/<image><suffix>`` or
``<folder>/<image><suffix>`` with a suffix of :data:`EXTERNAL_SUFFIXES`. Train, evaluate and report
all ask this module; nothing else builds these paths.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hdrbench.errors import HDRBenchError

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

    @property
    def record(self) -> Path:
        """What the folder was built for (the dataset's name, root and options)."""
        return self.output / "benchmark.json"

    @property
    def lock_file(self) -> Path:
        return self.output / ".lock"

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the folder for one command (train, evaluate, run): a second command on it fails at once, saying
        who holds it. The lock is the kernel's (``flock``): a killed process releases it."""
        self.output.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 4096, 0).decode(errors="replace").strip() or "another process"
                raise HDRBenchError(f"the output folder is in use by {holder}; wait for it to finish, or give this "
                                    "benchmark another [benchmark] output", self.output) from None
            os.ftruncate(fd, 0)
            command = " ".join([os.path.basename(sys.argv[0]), *sys.argv[1:]]) if sys.argv else "python"
            who = f"pid {os.getpid()} ('{command}', since {time.strftime('%Y-%m-%d %H:%M:%S')})"
            os.pwrite(fd, who.encode(), 0)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def check_built_for(self, dataset: dict[str, Any], *, write: bool) -> None:
        """Refuse a folder built for another dataset (another name or root: its checkpoints were trained on that one;
        changed options of the same dataset are the scoring digests' and the training metadata's business);
        ``write`` records ``dataset`` (``{"name", "root", "options"}``) in a new folder."""
        if self.record.is_file():
            try:
                built = json.loads(self.record.read_text()).get("dataset")
            except (OSError, ValueError):
                built = None
            now = json.loads(json.dumps(dataset, default=str))
            if built is not None and (built.get("name"), built.get("root")) != (now["name"], now["root"]):
                raise HDRBenchError(f"this output folder was built for dataset '{built.get('name')}' (root "
                                    f"{built.get('root')}); its checkpoints do not fit "
                                    "this benchmark's dataset: give it another [benchmark] output, or move the folder "
                                    "away", self.record)
        elif write:
            from hdrbench.writing import write_text

            write_text(self.record, json.dumps({"dataset": dataset}, indent=1, default=str))

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
