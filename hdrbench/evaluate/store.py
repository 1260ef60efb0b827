"""The result store: one SQLite file (``<output>/results.sqlite``) that a crashed run can resume into.

Table ``scores`` holds one row per (method, dataset, test_set, image, metric) — the UNIQUE key — with
its value and provenance: the evaluation protocol, the metric's parameters, the checkpoint hash, weight
substitutions and package versions, and ``warning``: why the image does not fit the protocol (or "").
Table ``methods`` holds each method's parameter count, checkpoint and
source. All rows of one image are written in one transaction, so a ``kill -9`` leaves whole images;
a rerun skips what is stored and ``INSERT OR IGNORE`` makes a repeated row impossible.
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

SCHEMA = """
CREATE TABLE IF NOT EXISTS scores (
    method TEXT NOT NULL, dataset TEXT NOT NULL, test_set TEXT NOT NULL, image TEXT NOT NULL,
    metric TEXT NOT NULL, value REAL NOT NULL, lower_better INTEGER NOT NULL DEFAULT 0,
    protocol TEXT, metric_params TEXT, checkpoint TEXT, substitutions TEXT, versions TEXT,
    created TEXT DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (method, dataset, test_set, image, metric)
);
CREATE TABLE IF NOT EXISTS methods (
    method TEXT PRIMARY KEY, name TEXT NOT NULL, label TEXT, params INTEGER, checkpoint TEXT,
    source TEXT, options TEXT, substitutions TEXT, updated TEXT DEFAULT CURRENT_TIMESTAMP
);
"""
KEY = ("method", "dataset", "test_set", "image", "metric")
#: Columns added after the first release, with their SQL type: added to older stores when opened.
ADDED_COLUMNS = {"scores": {"warning": "TEXT NOT NULL DEFAULT ''"}}


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


class ResultStore:
    """A connection to ``results.sqlite`` (created on first use, WAL journal, 60 s busy timeout)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.executescript(SCHEMA)
            for table, cols in ADDED_COLUMNS.items():
                have = {r[1] for r in self.db.execute(f"PRAGMA table_info({table})")}
                for col, kind in cols.items():
                    if col not in have:
                        self.db.execute(f"ALTER TABLE {table} ADD COLUMN {col} {kind}")
        except sqlite3.DatabaseError as exc:
            raise HDRBenchError(f"not a usable result store ({exc}); move it away to start a new one", self.path
                                ) from None

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
                raise HDRBenchError(f"refusing to store a NaN score ({dict(zip(KEY, r[:5]))})", self.path)
        cols = ", ".join(Score.__dataclass_fields__)
        marks = ", ".join("?" * len(Score.__dataclass_fields__))
        before = self.db.total_changes
        with self.db:  # one transaction
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany(f"INSERT OR IGNORE INTO scores ({cols}) VALUES ({marks})", rows)
        return self.db.total_changes - before

    def stored(self, method: str, dataset: str, test_set: str) -> set[tuple[str, str]]:
        """``{(image, metric)}`` already stored for this method and test set."""
        cur = self.db.execute("SELECT image, metric FROM scores WHERE method=? AND dataset=? AND test_set=?",
                              (method, dataset, test_set))
        return set(cur.fetchall())

    def drop_stale(self, method: str, checkpoint: str) -> int:
        """Delete ``method``'s scores computed from another checkpoint (a retrained network); returns rows."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            cur = self.db.execute("DELETE FROM scores WHERE method=? AND checkpoint<>?", (method, checkpoint))
        return cur.rowcount

    def record_method(self, method: str, *, name: str, label: str, params: int | None, checkpoint: str,
                      source: str, options: dict[str, Any], substitutions: list[str]) -> None:
        """Insert or update the ``methods`` row of ``method`` (its id)."""
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
