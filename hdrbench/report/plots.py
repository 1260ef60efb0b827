"""Figure-5-style comparison grids and per-image metric distributions (matplotlib, PNG and PDF).

``figure5``: one row per shown image; columns: the LDR input, the methods (``plot.methods``, default:
Table 1's), the ground truth. Each panel
has a red box (the region with the most clipped LDR pixels) and its zoom-in inset in the lower-left
corner. Written as *linear* (HDR values shown as they are, clipped to [0, 1], as the paper does: the
well-exposed regions look dark) and *tone-mapped* by each operator of ``plot.tonemapper``
(:mod:`hdrbench.report.tonemappers`; default ``p99-gamma``: every panel of a row scaled by the same factor, the
ground truth's 99th percentile → 1, then gamma 2.2): ``figure5_tonemapped`` by the first, ``figure5_tonemapped_<name>``
by each further one. An operator's statistics come from the row's ground truth, so a row's panels share one curve;
the suptitle and the PNG/PDF metadata name the operator and its parameters. ``figure5_metrics``: per-image
scores as box plots, one panel per (test set, metric). Images come from the dataset; predictions from the EXR
files written by ``hdrbench evaluate`` (or an external method's folder).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage

from hdrbench import io
from hdrbench.config import BenchConfig
from hdrbench.errors import HDRBenchError
from hdrbench.plan import Plan, as_plan
from hdrbench.report.tables import metric_label, test_set_label
from hdrbench.report.tonemappers import STATISTICS_NOTE, ToneMapper, get_tonemapper, tonemapper_names
from hdrbench.runs import external_prediction

LDR_CLIP = 0.99


def select_box(ldr: np.ndarray, size: int) -> tuple[int, int, int]:
    """``(y, x, size)`` of the square whose LDR ``(H, W, 3)`` has the most clipped pixels (centre on ties)."""
    h, w = ldr.shape[:2]
    size = max(4, min(size, h, w))
    clipped = (ldr.max(axis=-1) >= LDR_CLIP).astype(np.float64)
    if not clipped.any():
        clipped = ldr.mean(axis=-1)  # no clipping: the brightest region
    density = ndimage.uniform_filter(clipped, size=size, mode="constant")
    half = size // 2
    valid = np.full_like(density, -np.inf)
    valid[half:h - (size - half) + 1, half:w - (size - half) + 1] = \
        density[half:h - (size - half) + 1, half:w - (size - half) + 1]
    cy, cx = np.unravel_index(int(np.argmax(valid)), valid.shape)
    return int(cy - half), int(cx - half), size


def tonemap(hdr: np.ndarray, scale: float, gamma: float = 2.2) -> np.ndarray:
    """Display-referred [0, 1]: ``clip(hdr * scale) ** (1 / gamma)``."""
    return np.clip(np.nan_to_num(hdr) * scale, 0.0, 1.0) ** (1.0 / gamma)


def saved_prediction(plan: Plan, method_id: str, test_set: str, image: str) -> Path:
    """Where ``method_id``'s prediction of ``image`` is: an external method's own file, else the EXR written by
    ``hdrbench evaluate``, which must have been made by the plan's source (a stale one is an error)."""
    from hdrbench.evaluate.runner import saved_prediction_is_current

    entry = plan.entry(method_id)
    pair = next(p for p in plan.pairs[test_set] if p.id == image)
    if entry.external is not None:
        found = external_prediction(entry.external, test_set, image)
        if found is not None:
            return found
    path = plan.layout.prediction(method_id, test_set, image)
    if not path.is_file():
        raise HDRBenchError(f"no saved prediction of '{method_id}' for figure image '{image}'; run 'hdrbench "
                            "evaluate' with the same [plot] settings first", path)
    if not saved_prediction_is_current(plan, entry, test_set, pair):
        raise HDRBenchError(f"the saved prediction of '{method_id}' for figure image '{image}' was made by other "
                            "weights, options or inputs; run 'hdrbench evaluate' to make it again", path)
    return path


def _panels(plan: Plan, methods: list[tuple[str, str]]) -> tuple[list[str], list[list[np.ndarray]]]:
    """``(image ids, rows)``: each row is [ldr, prediction per method..., gt] as float (H, W, 3)."""
    test_set, ids = plan.figure_set, plan.figure_ids
    pairs = {p.id: p for p in plan.pairs[test_set]}
    rows = []
    for image in ids:
        ldr, hdr = plan.dataset.load_pair(pairs[image])
        row = [ldr]
        for method_id, _ in methods:
            row.append(io.read_hdr(saved_prediction(plan, method_id, test_set, image)))
        rows.append(row + [hdr])
    return ids, rows


def display_row(row: list[np.ndarray], op: ToneMapper | None) -> list[np.ndarray]:
    """Display values in [0, 1] of a row ``[ldr, predictions..., gt]`` (each (H, W, 3)): the display-referred input
    as it is; every HDR panel clipped (``op`` None: linear, as the paper shows it) or mapped by ``op`` with the
    statistics of the row's ground truth (``row[-1]``), so equal HDR values look equal across the row."""
    stats = op.statistics(row[-1]) if op is not None else None
    return [np.clip(img, 0.0, 1.0) if c == 0 or op is None else op(img, stats=stats) for c, img in enumerate(row)]


def figure_caption(op: ToneMapper | None) -> str:
    """One line naming how the HDR panels are shown: the operator, its parameters and its statistics' source."""
    if op is None:
        return "linear HDR (clipped to [0, 1])"
    return f"tone-mapped: {op.caption} ({STATISTICS_NOTE})"


def _grid(cfg: BenchConfig, titles: list[str], ids: list[str], rows: list[list[np.ndarray]], op: ToneMapper | None,
          box: int, stem: Path, formats: list[str]) -> list[Path]:
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    ncol, nrow = len(titles), len(rows)
    caption = figure_caption(op)
    title = textwrap.fill(f"{cfg.name}: {caption}", width=max(40, int(17 * ncol)))
    fig, axes = plt.subplots(nrow, ncol, figsize=(1.9 * ncol, 1.9 * nrow + 0.25 + 0.15 * title.count("\n") + 0.15),
                             squeeze=False)
    for r, (image, row) in enumerate(zip(ids, rows)):
        y, x, s = select_box(row[0], box or min(row[-1].shape[:2]) // 5)
        for c, shown in enumerate(display_row(row, op)):
            ax = axes[r, c]
            ax.imshow(shown, interpolation="nearest")
            ax.add_patch(Rectangle((x - 0.5, y - 0.5), s, s, fill=False, edgecolor="red", linewidth=1.2))
            inset = ax.inset_axes((0.0, 0.0, 0.42, 0.42))  # lower-left corner
            inset.imshow(shown[y:y + s, x:x + s], interpolation="nearest")
            inset.set_xticks([])
            inset.set_yticks([])
            for spine in inset.spines.values():
                spine.set_edgecolor("red")
                spine.set_linewidth(1.2)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(titles[c], fontsize=8)
            if c == 0:
                ax.set_ylabel(image, fontsize=7)
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, stem, formats, dpi=150, caption=f"{cfg.name}, Figure 5: {caption}")


def save_figure(fig, stem: Path, formats: list[str], dpi: int, caption: str | None = None) -> list[Path]:
    """Lay out ``fig``, write it as ``stem.<fmt>`` for every format, close it; the written paths. ``caption`` (how
    the panels are shown: the operator and its parameters) is the Title of PDF and PNG files, and their Subject
    (PDF) or Description (PNG)."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    paths = [stem.with_suffix(f".{fmt}") for fmt in formats]
    for p in paths:
        fmt = p.suffix.lstrip(".").lower()
        meta = None
        if caption and fmt == "pdf":
            meta = {"Title": caption, "Subject": caption}
        elif caption and fmt == "png":
            meta = {"Title": caption, "Description": caption}
        with io.atomic_write(p) as f:  # whole or not at all
            fig.savefig(f, dpi=dpi, format=fmt, metadata=meta)
    plt.close(fig)
    return paths


def metric_distributions(plan: Plan, scores: pd.DataFrame, stem: Path, formats: list[str]) -> list[Path]:
    """Box plots of the plan's current per-image scores: one panel per (test set, metric), one box per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores = plan.current_scores(scores)
    sets = [t for t in plan.test_sets if t in set(scores.test_set)]
    metrics = [m for m in plan.columns if m in set(scores.metric)]
    ids = [e.id for e in plan.entries if e.id in set(scores.method)]
    labels = [plan.entry(m).label for m in ids]
    fig, axes = plt.subplots(len(sets), len(metrics), figsize=(2.6 * len(metrics), 0.25 * len(ids) + 2.2 * len(sets)),
                             squeeze=False)
    for r, ts in enumerate(sets):
        for c, metric in enumerate(metrics):
            ax = axes[r, c]
            sub = scores[(scores.test_set == ts) & (scores.metric == metric)]
            data = [sub.value[sub.method == m].to_numpy() for m in ids]
            ax.boxplot(data, orientation="horizontal", tick_labels=labels, widths=0.6, showmeans=True)
            arrow = "↓" if len(sub) and bool(sub.lower_better.iloc[0]) else "↑"
            ax.set_title(f"{test_set_label(ts)}: {metric_label(metric)}{arrow}", fontsize=8)
            ax.tick_params(labelsize=7)
            if c:
                ax.set_yticklabels([])
    return save_figure(fig, stem, formats, dpi=130)


def write_figures(plan: Plan | BenchConfig, out_dir: Path | None = None) -> list[Path]:
    """``figure5`` (linear), ``figure5_tonemapped`` (one per ``plot.tonemapper``) and ``figure5_metrics``, each in
    every ``plot.formats``."""
    from hdrbench.evaluate.store import ResultStore

    plan = as_plan(plan, "report")
    cfg = plan.cfg
    out = io.make_folder(out_dir or cfg.runs.reports)
    formats = [str(f) for f in cfg.plot.formats]
    table1 = next((t for t in cfg.tables if t.name == "table1"), None)
    shown = cfg.plot.methods or (table1.methods if table1 and table1.methods else [e.id for e in plan.entries])
    methods = [(m, plan.entry(m).label) for m in shown]
    ids, rows = _panels(plan, methods)
    titles = ["LDR input"] + [label for _, label in methods] + ["Ground truth"]
    box = cfg.plot.box
    paths = _grid(cfg, titles, ids, rows, None, box, out / "figure5", formats)
    if cfg.plot.tonemapped:
        for k, name in enumerate(tonemapper_names(cfg.plot.tonemapper)):
            stem = out / ("figure5_tonemapped" if k == 0 else f"figure5_tonemapped_{name}")
            paths += _grid(cfg, titles, ids, rows, get_tonemapper(name), box, stem, formats)
    if cfg.plot.hdr_formats:  # the panels as HDR display files (hdrbench.report.hdr_panels)
        from hdrbench.report.hdr_panels import write_hdr_panels

        paths += write_hdr_panels(plan, methods, ids, rows, out)
    if cfg.runs.results.is_file():
        with ResultStore(cfg.runs.results) as store:
            scores = store.scores()
        if not scores.empty:
            paths += metric_distributions(plan, scores, out / "figure5_metrics", formats)
    return paths
