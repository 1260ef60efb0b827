"""The overexposed-region report: ``regions.csv/.md/.tex`` and ``figure_regions.png/.pdf``.

Rows are the plan's methods (Table 1's order: the identity row first), columns the bins of each stratum
(:mod:`hdrbench.metrics.regions`: distance to the nearest well-exposed pixel, component size). A cell is the mean
over the images that have pixels in that bin, with a bootstrap interval (``[report]`` resamples, level and seed);
the CSV holds every quantity, the Markdown and LaTeX tables PSNR-L, PSNR-μ and the restored-energy ratio.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from hdrbench import io
from hdrbench.errors import HDRBenchError
from hdrbench.metrics.regions import QUANTITIES
from hdrbench.plan import Plan
from hdrbench.report.stats import bootstrap_ci
from hdrbench.report.tables import latex_escape

#: What the Markdown/LaTeX tables show of each bin, with its label.
SHOWN = {"psnr-l": "PSNR-L", "psnr-mu": "PSNR-μ", "energy-ratio": "energy"}
STRATA = {"by_distance": "distance to the nearest well-exposed pixel", "by_size": "area of the overexposed component"}


def method_order(plan: Plan) -> list[str]:
    """Table 1's methods (else the plan's), the identity row first."""
    table1 = next((t for t in plan.cfg.tables if t.name == "table1"), None)
    ids = list(table1.methods) if table1 and table1.methods else [e.id for e in plan.entries]
    return sorted(ids, key=lambda m: plan.entry(m).config.name != "identity")


def region_cells(plan: Plan, rows: pd.DataFrame) -> pd.DataFrame:
    """Tidy cells: one per (method, test set, stratum, bin, quantity) with mean, interval, images and pixels."""
    rows = plan.current_regions(rows)
    if rows.empty:
        raise HDRBenchError("the result store has no current region scores; run 'hdrbench evaluate' with "
                            "[evaluate] regions = true first", plan.layout.results)
    assert plan.region_spec is not None
    labels = plan.region_spec.labels()
    rep, out = plan.cfg.report, []
    for m in [m for m in method_order(plan) if m in set(rows.method)]:
        for ts in plan.test_sets:
            for stratum, bins in labels.items():
                for b in bins:
                    sub = rows[(rows.method == m) & (rows.test_set == ts) & (rows.stratum == stratum) & (rows.bin == b)]
                    for q in QUANTITIES:
                        vals = sub[(sub.quantity == q) & (sub.pixels > 0)].value.dropna().to_numpy(dtype=float)
                        finite = vals[np.isfinite(vals)]
                        mean = float(vals.mean()) if len(vals) else math.nan
                        lo, hi = bootstrap_ci(finite, confidence=rep.confidence, resamples=rep.bootstrap,
                                              seed=plan.cfg.benchmark.seed) if len(finite) == len(vals) else \
                            (math.nan, math.nan)
                        out.append({"method": m, "label": plan.entry(m).label, "test_set": ts, "stratum": stratum,
                                    "bin": b, "quantity": q, "mean": mean, "ci_low": lo, "ci_high": hi,
                                    "n_images": int(len(vals)),
                                    "pixels": int(sub[sub.quantity == q].pixels.sum())})
    return pd.DataFrame.from_records(out)


def _grid(plan: Plan, cells: pd.DataFrame, ts: str, stratum: str, latex: bool) -> pd.DataFrame:
    assert plan.region_spec is not None
    data: dict[tuple[str, str], list[str]] = {}
    methods = list(dict.fromkeys(cells.method))
    for b in plan.region_spec.labels()[stratum]:
        for q, name in SHOWN.items():
            col = []
            for m in methods:
                c = cells[(cells.method == m) & (cells.test_set == ts) & (cells.stratum == stratum) & (cells.bin == b)
                          & (cells.quantity == q)]
                v = float(c["mean"].iloc[0]) if len(c) else math.nan
                col.append("—" if math.isnan(v) else f"{v:.3f}" if q == "energy-ratio" else f"{v:.2f}")
            n = cells[(cells.test_set == ts) & (cells.stratum == stratum) & (cells.bin == b) & (cells.quantity == q)]
            head = f"{b} ({int(n.pixels.max()) if len(n) else 0} px, {int(n.n_images.max()) if len(n) else 0} img)"
            data[(latex_escape(head) if latex else head, latex_escape(name) if latex else name)] = col
    labels = [plan.entry(m).label for m in methods]
    frame = pd.DataFrame(data, index=pd.Index([latex_escape(x) if latex else x for x in labels], name="Method"))
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    return frame


def write_region_outputs(plan: Plan, out_dir: Path | None = None) -> list[Path]:
    """The region tables and figure when the benchmark scores regions (``[evaluate] regions = true``), else none."""
    if plan.region_spec is None:
        return []
    return write_region_report(plan, out_dir) + region_figure(plan, out_dir)


def write_region_report(plan: Plan, out_dir: Path | None = None) -> list[Path]:
    """``regions.csv`` (every quantity, with intervals), ``regions.md`` and ``regions.tex``."""
    from hdrbench.evaluate.store import ResultStore

    with ResultStore(plan.layout.results) as store:
        cells = region_cells(plan, store.regions())
    out = out_dir or plan.layout.reports
    spec = plan.region_spec
    assert spec is not None
    rule = (f"overexposed: 8-bit {'BT.601 gray' if spec.rule == 'gray' else 'any channel'} > {spec.threshold}; "
            f"scores inside each bin with the {plan.cfg.evaluate.protocol} protocol's preparation; mean over the "
            "images with pixels in the bin (intervals in regions.csv); energy = Σ predicted / Σ true luminance "
            "(1: restored)")
    md, tex = [f"**Scores inside the overexposed regions** ({rule})\n"], []
    for ts in plan.test_sets:
        for stratum, words in STRATA.items():
            grid = _grid(plan, cells, ts, stratum, latex=False)
            grid.columns = [f"{a} {b}" for a, b in grid.columns]
            md.append(f"*{ts}, by {words}*\n\n{grid.to_markdown()}\n")
            lgrid = _grid(plan, cells, ts, stratum, latex=True)
            lgrid.index.name = None
            body = lgrid.to_latex(escape=False, multicolumn=True, multicolumn_format="c",
                                  column_format="l" + "c" * lgrid.shape[1])
            caption = latex_escape(f"{ts}: scores inside the overexposed regions, by {words}. {rule}.")
            tex.append(f"\\begin{{table*}}[t]\n\\centering\n\\resizebox{{\\textwidth}}{{!}}{{%\n{body}}}\n"
                       f"\\caption{{{caption}}}\n\\end{{table*}}\n")
    paths = [out / "regions.csv", out / "regions.md", out / "regions.tex"]
    io.write_text(paths[0], cells.to_csv(index=False, float_format="%.6g"))
    io.write_text(paths[1], "\n".join(md))
    io.write_text(paths[2], "% needs \\usepackage{booktabs,graphicx}\n" + "\n".join(tex))
    return paths


def region_figure(plan: Plan, out_dir: Path | None = None) -> list[Path]:
    """``figure_regions``: in-region PSNR-μ and energy ratio against the distance bin, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hdrbench.evaluate.store import ResultStore
    from hdrbench.report.plots import save_figure

    with ResultStore(plan.layout.results) as store:
        cells = region_cells(plan, store.regions())
    assert plan.region_spec is not None
    bins = plan.region_spec.labels()["by_distance"]
    fig, axes = plt.subplots(len(plan.test_sets), 2, figsize=(9, 3.2 * len(plan.test_sets)), squeeze=False)
    for r, ts in enumerate(plan.test_sets):
        for c, (q, name) in enumerate((("psnr-mu", "PSNR-μ inside (dB)"), ("energy-ratio", "restored energy"))):
            ax = axes[r, c]
            for m in dict.fromkeys(cells.method):
                sub = cells[(cells.method == m) & (cells.test_set == ts) & (cells.stratum == "by_distance")
                            & (cells.quantity == q)].set_index("bin").reindex(bins)
                style = dict(color="black", linestyle="--") if plan.entry(m).config.name == "identity" else {}
                ax.errorbar(range(len(bins)), sub["mean"], yerr=[sub["mean"] - sub.ci_low, sub.ci_high - sub["mean"]],
                            marker="o", capsize=3, label=plan.entry(m).label, **style)
            ax.set_xticks(range(len(bins)), bins, fontsize=8)
            ax.set_xlabel("distance to the nearest well-exposed pixel")
            ax.set_ylabel(name)
            ax.set_title(f"{ts}: {name}", fontsize=9)
            if q == "energy-ratio":
                ax.axhline(1.0, color="grey", linewidth=0.8)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    formats = [str(f) for f in plan.cfg.plot.formats]
    return save_figure(fig, (out_dir or plan.layout.reports) / "figure_regions", formats, dpi=130)
