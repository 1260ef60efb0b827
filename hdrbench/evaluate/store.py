"""The result store: one SQLite file (``<output>/results.sqlite``) that a crashed run can resume into.

Table ``scores`` holds one row per (method, dataset, test_set, image, metric, digest) — the UNIQUE key — with its
value and provenance: the evaluation protocol, the metric's parameters, the checkpoint hash, weight substitutions,
package versions and ``warning`` (why the image does not fit the protocol, or ""). ``digest`` covers everything that
determines the value (:mod:`hdrbench.plan`); its three parts are stored beside it (``scoring_digest``,
``source_digest``, ``pair_digest``) so a rerun can say why it recomputed a score. Rows of several digests live side
by side (the same predictions under several protocols); a table shows only the plan's. Table ``methods`` holds each
method's parameter count, checkpoint and source. All rows of one image are written in one transaction, so a
``kill -9`` leaves whole images; ``INSERT OR IGNORE`` makes a repeated row impossible.

Stores of the first format (no digests, ``PRAGMA user_version`` 0) are migrated when opened: their rows are kept
with the digest ``legacy``, which no plan asks for, so they are recomputed and never reported.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from hdrbench.errors import HDRBenchError
from hdrbench.writing import database_error

SCHEMA = """
CREATE TABLE IF NOT EXISTS scores (
    method TEXT NOT NULL, dataset TEXT NOT NULL, test_set TEXT NOT NULL, image TEXT NOT NULL,
    metric TEXT NOT NULL, value REAL NOT NULL, lower_better INTEGER NOT NULL DEFAULT 0,
    protocol TEXT, metric_params TEXT, checkpoint TEXT, substitutions TEXT, versions TEXT,
    warning TEXT NOT NULL DEFAULT '', digest TEXT NOT NULL, scoring_digest TEXT NOT NULL DEFAULT '',
    source_digest TEXT NOT NULL DEFAULT '', pair_digest TEXT NOT NULL DEFAULT '',
    created TEXT DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (method, dataset, test_set, image, metric, digest)
);
CREATE TABLE IF NOT EXISTS regions (
    method TEXT NOT NULL, dataset TEXT NOT NULL, test_set TEXT NOT NULL, image TEXT NOT NULL,
    stratum TEXT NOT NULL, bin TEXT NOT NULL, quantity TEXT NOT NULL, value REAL, pixels INTEGER NOT NULL,
    lower_better INTEGER NOT NULL DEFAULT 0, digest TEXT NOT NULL, created TEXT DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (method, dataset, test_set, image, stratum, bin, quantity, digest)
);
CREATE TABLE IF NOT EXISTS methods (
    method TEXT PRIMARY KEY, name TEXT NOT NULL, label TEXT, params INTEGER, checkpoint TEXT,
    source TEXT, options TEXT, substitutions TEXT, updated TEXT DEFAULT CURRENT_TIMESTAMP
);
"""
KEY = ("method", "dataset", "test_set", "image", "metric", "digest")
#: The store format this version writes (``PRAGMA user_version``); 0 is the first, digest-less one.
VERSION = 2
#: The digest given to rows migrated from a digest-less store: no plan asks for it.
LEGACY = "legacy"


@dataclass(frozen=True)
class Score:
    """One stored score; ``method`` is the benchmark's method id."""

    method: str
    dataset: str
    test_set: str
    image: str
    metric: str
    value: float
    lower_better: bool = False
    protocol: str = ""
    metric_params: str = "{}"
    checkpoint: str = ""
    substitutions: str = "[]"
    versions: str = "{}"
    warning: str = ""  # the image does not fit the protocol (one line), or ""
    digest: str = LEGACY
    scoring_digest: str = ""
    source_digest: str = ""
    pair_digest: str = ""


@dataclass(frozen=True)
class RegionScore:
    """One quantity of one bin of one image's overexposed regions (:mod:`hdrbench.metrics.regions`)."""

    method: str
    dataset: str
    test_set: str
    image: str
    stratum: str  # "by_distance" or "by_size"
    bin: str  # its label, e.g. "4–16 px"
    quantity: str  # "psnr-l", "psnr-mu", "log2-error", "energy-ratio", "hdrvdp2-pdet"
    value: float | None
    pixels: int
    lower_better: bool = False
    digest: str = LEGACY


class ResultStore:
    """A connection to ``results.sqlite`` (created on first use, WAL journal, 60 s busy timeout)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            version = int(self.db.execute("PRAGMA user_version").fetchone()[0])
            tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if version > VERSION:
                raise HDRBenchError(f"this result store was written by a newer hdrbench (format {version}, this one "
                                    f"reads {VERSION}); upgrade hdrbench or move the file away", self.path)
            if version < VERSION and "scores" in tables:
                self._migrate()
            self.db.executescript(SCHEMA)
            self.db.execute(f"PRAGMA user_version={VERSION}")
        except sqlite3.DatabaseError as exc:
            raise HDRBenchError(f"not a usable result store ({exc}); move it away to start a new one", self.path
                                ) from None

    def _migrate(self) -> None:
        """Format 0 → 2: the rows are kept under the digest :data:`LEGACY` (recomputed, never reported)."""
        have = [r[1] for r in self.db.execute("PRAGMA table_info(scores)")]
        keep = [c for c in ("method", "dataset", "test_set", "image", "metric", "value", "lower_better", "protocol",
                            "metric_params", "checkpoint", "substitutions", "versions", "warning", "created")
                if c in have]
        cols = ", ".join(keep)
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("ALTER TABLE scores RENAME TO scores_v0")
            self.db.execute(SCHEMA.split(";")[0])
            self.db.execute(f"INSERT INTO scores ({cols}, digest) SELECT {cols}, '{LEGACY}' FROM scores_v0")
            self.db.execute("DROP TABLE scores_v0")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, scores: Iterable[Score]) -> int:
        """Insert ``scores`` in one transaction (all or none); rows already stored are kept. Returns rows added."""
        rows = [tuple(getattr(s, f) for f in Score.__dataclass_fields__) for s in scores]
        for r in rows:
            if math.isnan(r[5]):
                raise HDRBenchError(f"refusing to store a NaN score ({dict(zip(KEY[:5], r[:5]))})", self.path)
        cols = ", ".join(Score.__dataclass_fields__)
        marks = ", ".join("?" * len(Score.__dataclass_fields__))
        before = self.db.total_changes
        try:
            with self.db:  # one transaction
                self.db.execute("BEGIN IMMEDIATE")
                self.db.executemany(f"INSERT OR IGNORE INTO scores ({cols}) VALUES ({marks})", rows)
        except sqlite3.OperationalError as exc:
            raise database_error(self.path, exc) from None
        return self.db.total_changes - before

    def add_regions(self, rows: Iterable[RegionScore]) -> int:
        """Insert one image's region scores in one transaction; returns rows added. ``value`` None: undefined
        (an empty bin, or a PSNR without a finite value)."""
        rows = [tuple(getattr(r, f) for f in RegionScore.__dataclass_fields__) for r in rows]
        cols = ", ".join(RegionScore.__dataclass_fields__)
        marks = ", ".join("?" * len(RegionScore.__dataclass_fields__))
        before = self.db.total_changes
        try:
            with self.db:
                self.db.execute("BEGIN IMMEDIATE")
                self.db.executemany(f"INSERT OR IGNORE INTO regions ({cols}) VALUES ({marks})", rows)
        except sqlite3.OperationalError as exc:
            raise database_error(self.path, exc) from None
        return self.db.total_changes - before

    def stored_regions(self, method: str, dataset: str, test_set: str) -> set[tuple[str, str]]:
        """``{(image, digest)}`` of the region scores stored for this method and test set."""
        cur = self.db.execute("SELECT DISTINCT image, digest FROM regions WHERE method=? AND dataset=? AND test_set=?",
                              (method, dataset, test_set))
        return set(cur.fetchall())

    def regions(self) -> pd.DataFrame:
        """Every region score as a DataFrame (columns of table ``regions``)."""
        return pd.read_sql_query("SELECT * FROM regions ORDER BY method, dataset, test_set, image, stratum, bin, "
                                 "quantity", self.db)

    def stored(self, method: str, dataset: str, test_set: str) -> dict[tuple[str, str], list[tuple[str, ...]]]:
        """``{(image, metric): [(digest, scoring_digest, source_digest, pair_digest), …]}`` stored for this method
        and test set, newest first."""
        cur = self.db.execute("SELECT image, metric, digest, scoring_digest, source_digest, pair_digest FROM scores "
                              "WHERE method=? AND dataset=? AND test_set=? ORDER BY created DESC, rowid DESC",
                              (method, dataset, test_set))
        out: dict[tuple[str, str], list[tuple[str, ...]]] = {}
        for image, metric, *digests in cur.fetchall():
            out.setdefault((image, metric), []).append(tuple(digests))
        return out

    def record_method(self, method: str, *, name: str, label: str, params: int | None, checkpoint: str,
                      source: str, options: dict[str, Any], substitutions: list[str]) -> None:
        """Insert or update the ``methods`` row of ``method`` (its id)."""
        try:
            self._record_method(method, name, label, params, checkpoint, source, options, substitutions)
        except sqlite3.OperationalError as exc:
            raise database_error(self.path, exc) from None

    def _record_method(self, method: str, name: str, label: str, params: int | None, checkpoint: str, source: str,
                       options: dict[str, Any], substitutions: list[str]) -> None:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(
                "INSERT INTO methods (method, name, label, params, checkpoint, source, options, substitutions) "
                "VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(method) DO UPDATE SET name=excluded.name, label=excluded.label,"
                " params=excluded.params, checkpoint=excluded.checkpoint, source=excluded.source, "
                "options=excluded.options, substitutions=excluded.substitutions, updated=CURRENT_TIMESTAMP",
                (method, name, label, params, checkpoint, source, json.dumps(options, default=str),
                 json.dumps(substitutions)))

    def scores(self) -> pd.DataFrame:
        """Every score as a DataFrame (columns of table ``scores``)."""
        return pd.read_sql_query("SELECT * FROM scores ORDER BY method, dataset, test_set, image, metric", self.db)

    def methods(self) -> pd.DataFrame:
        return pd.read_sql_query("SELECT * FROM methods", self.db)

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM scores").fetchone()[0])
