"""The interactive result viewer: ``<output>/index.html`` plus ``<output>/viewer/`` (scripts and data).

The page opens from disk (no server) and loads nothing from the network (its Content-Security-Policy forbids
it). It shows Tables 1–3 from the report's CSV files (sortable; interval and p-value on hover), the per-image
scores from the result store, and a comparison view of the figure images (``[plot] images``): the LDR input,
every method with a saved prediction and the ground truth, tone-mapped in the page from their floating-point
values (exposure in EV, linear / gamma 2.2 / PU21 curve, error maps), or by a named tone mapper
(:mod:`hdrbench.report.viewer_tonemap`).

Pixel data: each image's panels are (H, W, 3) linear float values stored as IEEE half floats (the LDR input as
its display-referred [0, 1] values), byte-planar (all low bytes, then all high bytes) and gzip-compressed,
base64 in a ``viewer/img-<n>.js`` file (a ``<script>`` is the one way a page opened from ``file://`` can read
a local file). Images are reduced by an integer factor (area average) only when the written data of all images
would exceed :data:`SIZE_BUDGET` bytes. Where the display reports HDR, the page also shows each image's panels as
AVIF-PQ or Ultra HDR JPEG files the browser renders natively (``viewer/hdr-<n>.js``, :mod:`hdrbench.report.hdr_panels`).
"""

from __future__ import annotations

import base64
import gzip
import html
import json
import math
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hdrbench import io
from hdrbench.config import BenchConfig
from hdrbench.errors import HDRBenchError
from hdrbench.plan import Plan, as_plan
from hdrbench.report import viewer_tonemap
from hdrbench.report.tables import _decimals, metric_label, test_set_label

#: Upper bound on the written pixel data of all images (bytes of base64 text); reduced images keep MIN_SIDE pixels.
SIZE_BUDGET = 20_000_000
MIN_SIDE = 16
HALF_MAX = 65504.0
#: The page's own files, copied to viewer/ (viewer.html loads the parts before the core, viewer.js).
ASSETS = ("viewer_tonemap.js", "viewer_native.js", "viewer_tables.js", "viewer.js", "viewer.css")
DATA_DIR = "viewer"


@dataclass
class Viewer:
    """What :func:`write_viewer` wrote: the page, every file, their total size and notes for the user."""

    index: Path
    files: list[Path]
    size_bytes: int
    images: int
    downsample: int = 1
    notes: list[str] = field(default_factory=list)


def half_planes(panels: list[np.ndarray]) -> bytes:
    """Half-float bytes of ``panels`` (each (H, W, 3)), byte-planar: every low byte, then every high byte."""
    values = np.concatenate([np.nan_to_num(p, nan=0.0).astype(np.float32).ravel() for p in panels])
    half = np.clip(values, -HALF_MAX, HALF_MAX).astype("<f2").view(np.uint8).reshape(-1, 2)
    return half[:, 0].tobytes() + half[:, 1].tobytes()


def downsample(img: np.ndarray, factor: int) -> np.ndarray:
    """Area average of (H, W, C) ``img`` over ``factor`` × ``factor`` blocks (trailing rows/columns dropped)."""
    if factor == 1:
        return img
    h, w = img.shape[0] // factor * factor, img.shape[1] // factor * factor
    blocks = img[:h, :w].reshape(h // factor, factor, w // factor, factor, -1)
    return blocks.mean(axis=(1, 3), dtype=np.float64).astype(np.float32)


def _clean(x: Any) -> Any:
    """JSON-safe scalar: NaN / NA → ``None``, NumPy → Python."""
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA:
        return None
    if isinstance(x, np.generic):
        return _clean(x.item())
    return x


def _tables(cfg: BenchConfig, out: Path) -> list[dict[str, Any]]:
    """Each table's CSV (written by ``hdrbench report``) as the page's table model."""
    tables = []
    for spec in cfg.tables:
        path = out / f"{spec.name}.csv"
        if not path.is_file():
            continue
        cells = pd.read_csv(path)
        methods = list(dict.fromkeys(cells.method))
        columns = []
        for (ts, metric), sub in cells.groupby(["test_set", "metric"], sort=False):
            columns.append({"key": f"{ts}/{metric}", "test_set": test_set_label(ts), "metric": metric_label(metric),
                            "lower_better": bool(sub.lower_better.iloc[0]),
                            "decimals": _decimals(cfg, metric, sub["mean"]),
                            "cells": {r.method: {k: _clean(getattr(r, k)) for k in
                                                 ("mean", "ci_low", "ci_high", "n_images", "rank", "p_vs_best")}
                                      | {"best": str(r.best), "test": str(r.test)} for r in sub.itertuples()}})
        first = cells.drop_duplicates("method").set_index("method")
        tables.append({"name": spec.name, "title": spec.title or spec.name, "params": bool(spec.params),
                       "methods": [{"id": m, "label": str(first.at[m, "label"]),
                                    "params": _clean(first.at[m, "params"]) if "params" in first else None}
                                   for m in methods],
                       "columns": columns})
    return tables


def _scores(plan: Plan) -> dict[str, Any]:
    """The plan's current per-image scores: ``values[test_set][metric][image][method]``."""
    from hdrbench.evaluate.store import ResultStore

    cfg = plan.cfg
    if not cfg.runs.results.is_file():
        return {"metrics": [], "methods": [], "test_sets": [], "values": {}}
    with ResultStore(cfg.runs.results) as store:
        scores = plan.current_scores(store.scores())
    ids = [e.id for e in plan.entries if e.id in set(scores.method)]
    metrics = [m for m in plan.columns if m in set(scores.metric)]
    values: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    for r in scores.itertuples():
        values.setdefault(r.test_set, {}).setdefault(r.metric, {}).setdefault(r.image, {})[r.method] = r.value
    return {"methods": [{"id": m, "label": plan.entry(m).label} for m in ids],
            "metrics": [{"id": m, "label": metric_label(m), "reading": plan.reading(m),
                         "lower_better": bool(scores.lower_better[scores.metric == m].iloc[0]),
                         "decimals": _decimals(cfg, m, scores.value[scores.metric == m])} for m in metrics],
            "test_sets": [{"id": t, "label": test_set_label(t)} for t in plan.test_sets if t in set(scores.test_set)],
            "values": values}


def _load_images(plan: Plan) -> tuple[str, list[dict[str, Any]], list[str]]:
    """``(test set, images, notes)``; each image: id, panel titles and kinds, float (H, W, 3) arrays."""
    from hdrbench.report.plots import saved_prediction

    test_set, ids = plan.figure_set, plan.figure_ids
    pairs = {p.id: p for p in plan.pairs[test_set]}
    images, missing = [], set()
    for image in ids:
        ldr, hdr = plan.dataset.load_pair(pairs[image])
        panels = [{"title": "LDR input", "kind": "ldr", "method": None, "data": ldr}]
        for entry in plan.entries:
            try:
                path = saved_prediction(plan, entry.id, test_set, image)
            except HDRBenchError:  # missing or stale: said once in the notes
                missing.add(entry.id)
                continue
            pred = io.read_hdr(path)
            if pred.shape != hdr.shape:
                raise HDRBenchError(f"saved prediction of '{entry.id}' is {pred.shape[1]}x{pred.shape[0]}, the ground "
                                    f"truth {hdr.shape[1]}x{hdr.shape[0]}; delete it and rerun 'hdrbench evaluate'",
                                    path)
            panels.append({"title": entry.label, "kind": "pred", "method": entry.id, "data": pred})
        if plan.region_spec is not None:
            panels.append({"title": "Overexposed: distance to content", "kind": "overlay", "method": None,
                           "data": region_overlay(ldr, plan)})
        panels.append({"title": "Ground truth", "kind": "gt", "method": None, "data": hdr})
        images.append({"id": image, "panels": panels})
    notes = [f"no current saved prediction of {', '.join(sorted(missing))} for the figure images; run 'hdrbench "
             "evaluate' with the same [plot] settings"] if missing else []
    return test_set, images, notes


def region_overlay(ldr: np.ndarray, plan: Plan) -> np.ndarray:
    """``(H, W, 3)`` display-referred [0, 1]: the input in gray, its overexposed pixels coloured by their distance to
    the nearest well-exposed pixel (viridis over the distance bins' edges, log scale; brighter = farther)."""
    from matplotlib import colormaps

    from hdrbench.metrics.regions import find_regions

    spec = plan.region_spec
    assert spec is not None
    r = find_regions(ldr, spec.threshold, spec.rule)
    gray = np.repeat((ldr.astype(np.float32) @ np.float32([0.299, 0.587, 0.114]))[..., None], 3, axis=-1) * 0.6
    top = max(spec.distance_edges[-1], 2.0)
    level = np.log2(np.clip(np.nan_to_num(r.distance, posinf=top), 1.0, top)) / np.log2(top)
    colours = colormaps["viridis"](level)[..., :3].astype(np.float32)
    return np.where(r.mask[..., None], colours, gray).astype(np.float32)


def _encode(panels: list[np.ndarray]) -> str:
    """Base64 of the gzip-compressed :func:`half_planes` of ``panels``."""
    return base64.b64encode(gzip.compress(half_planes(panels), compresslevel=6, mtime=0)).decode("ascii")


def _encode_images(images: list[dict[str, Any]]) -> tuple[int, list[tuple[list[np.ndarray], str]]]:
    """``(factor, [(panels reduced by factor, payload)])``: the smallest integer reduction whose payloads total at
    most :data:`SIZE_BUDGET` bytes (tried from the first factor whose raw half floats are under 4x the budget)."""
    def raw(f: int) -> int:
        return sum(6 * (p["data"].shape[0] // f) * (p["data"].shape[1] // f) for img in images for p in img["panels"])

    smallest = min((min(p["data"].shape[:2]) for img in images for p in img["panels"]), default=1)
    limit = max(1, smallest // MIN_SIDE)
    factor = 1
    while factor < limit and raw(factor) > 4 * SIZE_BUDGET:
        factor += 1
    while True:
        encoded = []
        for img in images:
            arrays = [downsample(p["data"], factor) for p in img["panels"]]
            encoded.append((arrays, _encode(arrays)))
        if sum(len(e[1]) for e in encoded) <= SIZE_BUDGET or factor >= limit:
            return factor, encoded
        factor += 1


def write_viewer(plan: Plan | BenchConfig, out_dir: Path | None = None) -> Viewer:
    """Write ``index.html`` and ``viewer/`` into ``out_dir`` (default: where the tables are written).

    Needs the report's ``<table>.csv`` files (``hdrbench report``) and, for the comparison view, the dataset
    and the figure images' saved predictions; without them the page shows the tables and says what is missing.
    """
    from hdrbench.report.hdr_panels import figure_display_model, write_viewer_hdr
    from hdrbench.report.plots import select_box

    plan = as_plan(plan, "report")
    cfg = plan.cfg
    out = Path(out_dir or cfg.runs.reports)
    data_dir = out / DATA_DIR
    if data_dir.is_dir():
        shutil.rmtree(data_dir)
    io.make_folder(data_dir)
    notes: list[str] = ["Scoring: " + "; ".join(plan.reading(c) for c in plan.columns) + "."]
    try:
        test_set, images, more = _load_images(plan)
        notes += more
    except HDRBenchError as exc:
        test_set, images = "", []
        notes.append(f"comparison view left out: {exc}")
    factor, encoded = _encode_images(images)
    files, model = [], []
    display = figure_display_model(plan) if images else None  # native HDR panels (hdrbench.report.hdr_panels)
    for n, (img, (arrays, payload)) in enumerate(zip(images, encoded)):
        h, w = arrays[0].shape[:2]
        y, x, s = select_box(arrays[0], min(h, w) // 5)
        gt = arrays[-1]
        p99 = float(np.percentile(gt, 99)) or float(gt.max()) or 1.0
        files.append(data_dir / f"img-{n}.js")
        io.write_text(files[-1], f'hdrViewerImage({n}, "{payload}");\n', encoding="ascii")
        model.append({"id": img["id"], "test_set": test_set, "width": w, "height": h, "file": files[-1].name,
                      "box": [y, x, s], "ev0": round(-math.log2(p99), 1),
                      "panels": [{k: p[k] for k in ("title", "kind", "method")} for p in img["panels"]],
                      "tonemap": viewer_tonemap.image_statistics(arrays)})
        files += viewer_tonemap.write_precomputed(n, arrays, [p["kind"] for p in img["panels"]], data_dir)
        model[-1]["hdr"], more_files, more_notes = write_viewer_hdr(data_dir, n, img["panels"], arrays, display)
        files += more_files
        notes += [note for note in more_notes if note not in notes]
    if factor > 1:
        notes.append(f"images reduced {factor}x (area average) to keep the viewer small")
    data = {"benchmark": cfg.name, "dataset": cfg.dataset.name, "protocol": cfg.evaluate.protocol,
            "confidence": cfg.report.confidence,
            "test": cfg.report.test, "downsample": factor, "notes": notes,
            "tables": _tables(cfg, out), "scores": _scores(plan), "images": model,
            "tonemappers": viewer_tonemap.operators(), "tonemap_note": viewer_tonemap.STATISTICS_NOTE,
            "hdr_display": display.describe() if display else None}
    io.write_text(data_dir / "data.js", "window.HDR_VIEWER_DATA = " + json.dumps(data, separators=(",", ":"))
                                      + ";\n", encoding="utf-8")
    files.append(data_dir / "data.js")
    package = resources.files("hdrbench.report")
    for name in ASSETS:
        files.append(data_dir / name)
        io.write_text(files[-1], package.joinpath(name).read_text(encoding="utf-8"))
    page = package.joinpath("viewer.html").read_text(encoding="utf-8")
    index = out / "index.html"
    io.write_text(index, page.replace("{{title}}", html.escape(f"{cfg.name}: hdrbench results")))
    files.append(index)
    return Viewer(index, files, sum(f.stat().st_size for f in files), len(model), factor, notes)


def describe(viewer: Viewer) -> str:
    """One line for the CLI (plus one per note): where the page is and how large it is."""
    lines = [f"viewer: {viewer.index} ({viewer.images} images, {viewer.size_bytes / 1e6:.1f} MB with its data)"]
    return "\n".join(lines + [f"viewer: note: {n}" for n in viewer.notes])


__all__ = ["SIZE_BUDGET", "Viewer", "describe", "downsample", "half_planes", "write_viewer"]
