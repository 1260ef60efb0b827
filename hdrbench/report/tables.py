"""Table 1–3 from the result store: CSV (with intervals and p-values), Markdown and LaTeX (booktabs).

A table has one row per method and one column per (test set, metric), plus the parameter count for
Table 1. In every column the best, second and third methods are ranked direction-aware (each metric's
``lower_better``, stored with its scores) and coloured red / blue / green as in the paper: LaTeX
``\\textcolor`` (needs ``xcolor``), Markdown 🔴 🔵 🟢 after the value.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hdrbench import io
from hdrbench.config import BenchConfig, TableSpec
from hdrbench.errors import HDRBenchError
from hdrbench.metrics.base import display
from hdrbench.plan import Plan, as_plan
from hdrbench.report.stats import bootstrap_ci, paired_test

RANK_COLOURS = {1: "red", 2: "blue", 3: "green"}
RANK_MARKS = {1: " 🔴", 2: " 🔵", 3: " 🟢"}


@dataclass
class Table:
    """One table's numbers: ``cells`` is tidy, one row per (method, test_set, metric)."""

    spec: TableSpec
    methods: list[str]
    labels: dict[str, str]
    columns: list[tuple[str, str]]
    cells: pd.DataFrame
    params: dict[str, int | None]
    #: How each metric column was computed (:meth:`hdrbench.plan.Plan.reading`), for the caption.
    readings: dict[str, str] = dataclasses.field(default_factory=dict)
    #: Images per test set in the plan; a method scored on fewer is marked in every format.
    images: dict[str, int] = dataclasses.field(default_factory=dict)


#: LaTeX's special characters and what prints them literally.
LATEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "—": "---",
                  "μ": r"$\mu$", "÷": r"$\div$"}
#: Packages the LaTeX table needs (written into its header comment).
LATEX_PACKAGES = ("booktabs", "xcolor", "graphicx")


def latex_escape(text: str) -> str:
    """``text`` as LaTeX that prints it literally (every special character escaped)."""
    return "".join(LATEX_SPECIALS.get(c, c) for c in str(text))


def caption_text(title: str) -> str:
    """A table title without a leading "Table 1." / "Table 2:" (LaTeX's caption numbers the table itself)."""
    return re.sub(r"^\s*table\s+\w+\s*[.:]\s*", "", title, flags=re.IGNORECASE) or title


def metric_label(metric: str, latex: bool = False) -> str:
    """The metric's own display label (:attr:`hdrbench.metrics.Metric.label`); in LaTeX its ``label_latex``, else
    the label with LaTeX's special characters escaped."""
    plain = display(metric)[0]
    if not latex:
        return plain
    own = display(metric, latex=True)[0]
    return own if own != plain else latex_escape(plain)


def test_set_label(test_set: str) -> str:
    """``test_set2`` → ``Test set2``, ``test@+1EV`` → ``Test@+1EV`` (only the first letter changes)."""
    text = test_set.replace("_", " ")
    return text[:1].upper() + text[1:]


def format_params(n: int | None) -> str:
    """``1.5M`` / ``600.0K`` / ``—`` for unknown."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return "—"
    if n == 0:
        return "0"  # a reference row with nothing to learn (identity)
    return f"{n / 1e6:.1f}M" if n >= 1e5 else f"{n / 1e3:.1f}K"


def build_table(plan: Plan, scores: pd.DataFrame, methods: pd.DataFrame, spec: TableSpec) -> Table:
    """Means, bootstrap intervals, ranks and paired p-values of ``spec`` from the store's DataFrames; only the rows
    the plan asks for count (:meth:`~hdrbench.plan.Plan.current_scores`)."""
    cfg = plan.cfg
    scores = plan.current_scores(scores)
    if scores.empty:
        raise HDRBenchError(f"the result store has no current scores for this benchmark (dataset "
                            f"'{cfg.dataset.name}', protocol '{cfg.evaluate.protocol}'); run 'hdrbench evaluate' "
                            "first", cfg.runs.results)
    present = list(dict.fromkeys(scores.method))
    ids = [m for m in (spec.methods or [e.id for e in plan.entries]) if m in present]
    if not ids:
        raise HDRBenchError(f"table '{spec.name}': none of its methods has current scores yet; run 'hdrbench "
                            "evaluate' first", cfg.runs.results)
    metrics = [m for m in (spec.metrics or plan.columns) if m in set(scores.metric)]
    sets = [t for t in (spec.test_sets or plan.test_sets) if t in set(scores.test_set)]
    records = []
    for ts in sets:
        for metric in metrics:
            col = scores[(scores.test_set == ts) & (scores.metric == metric) & scores.method.isin(ids)]
            wide = col.pivot(index="image", columns="method", values="value")
            lower = bool(col.lower_better.iloc[0]) if len(col) else False
            means = wide.mean()
            ranks = means.rank(method="min", ascending=lower)
            best = means.idxmin() if lower else means.idxmax()
            for m in ids:
                if m not in wide:
                    continue
                lo, hi = bootstrap_ci(wide[m].dropna().to_numpy(), confidence=cfg.report.confidence,
                                      resamples=cfg.report.bootstrap, seed=cfg.benchmark.seed)
                both = wide[[m, best]].dropna()
                p = math.nan if m == best else paired_test(both[m].to_numpy(), both[best].to_numpy(), cfg.report.test)
                records.append({"table": spec.name, "method": m, "test_set": ts, "metric": metric,
                                "mean": float(means[m]), "ci_low": lo, "ci_high": hi,
                                "n_images": int(wide[m].notna().sum()), "rank": int(ranks[m]),
                                "lower_better": lower, "best": best, "test": cfg.report.test, "p_vs_best": p,
                                "protocol": cfg.evaluate.protocol, "reading": plan.reading(metric)})
    cells = pd.DataFrame.from_records(records)
    labels = {m: plan.entry(m).label if any(e.id == m for e in plan.entries) else m for m in ids}
    params = {}
    for m in ids:
        row = methods[methods.method == m]
        params[m] = int(row.params.iloc[0]) if len(row) and pd.notna(row.params.iloc[0]) else None
    return Table(spec, ids, labels, [(t, m) for t in sets for m in metrics], cells, params,
                 readings={m: plan.reading(m) for m in metrics}, images={t: len(plan.pairs[t]) for t in sets})


def scoring_note(table: Table) -> str:
    """What the numbers are: each column's reading and, where a method has fewer images than the plan, which."""
    parts = [f"{r}" for r in table.readings.values()]
    short = table.cells[table.cells.n_images < table.cells.test_set.map(table.images)] if len(table.cells) else \
        table.cells
    notes = "Scoring: " + "; ".join(parts) + "."
    if len(short):
        which = sorted({f"{table.labels[r.method]} on {r.test_set} ({r.n_images} of {table.images[r.test_set]} "
                        "images)" for r in short.itertuples()})
        notes += " Over fewer images than the others (not yet evaluated): " + ", ".join(which) + "."
    return notes


def _decimals(cfg: BenchConfig, metric: str, values: pd.Series) -> int:
    """``report.decimals``, else the metric's own (:attr:`hdrbench.metrics.Metric.decimals`), else by magnitude."""
    base = metric.removesuffix("@crf")
    if base in cfg.report.decimals:
        return int(cfg.report.decimals[base])
    own = display(base)[1]
    if own is not None:
        return own
    return 2 if values.abs().median() >= 10 else 4


def _grid(cfg: BenchConfig, table: Table, latex: bool) -> pd.DataFrame:
    """The displayed table: formatted, coloured values; rows = method labels, columns = (test set, metric)."""
    data: dict[tuple[str, str], list[str]] = {}
    for ts, metric in table.columns:
        sub = table.cells[(table.cells.test_set == ts) & (table.cells.metric == metric)].set_index("method")
        places = _decimals(cfg, metric, sub["mean"])
        arrow = "↓" if bool(sub.lower_better.iloc[0]) else "↑"
        if latex:
            arrow = r"$\downarrow$" if arrow == "↓" else r"$\uparrow$"
        column = []
        for m in table.methods:
            if m not in sub.index:
                column.append("---" if latex else "—")
                continue
            text, rank = f"{sub.at[m, 'mean']:.{places}f}", int(sub.at[m, "rank"])
            if int(sub.at[m, "n_images"]) < table.images.get(ts, 0):
                text += "*"  # over fewer images than the others: the scoring note says which
            if latex:
                column.append(rf"\textcolor{{{RANK_COLOURS[rank]}}}{{{text}}}" if rank in RANK_COLOURS else text)
            else:
                column.append(text + RANK_MARKS.get(rank, ""))
        set_label = latex_escape(test_set_label(ts)) if latex else test_set_label(ts)
        data[(set_label, f"{metric_label(metric, latex)}{arrow}")] = column
    if table.spec.params:
        arrow = r"$\downarrow$" if latex else "↓"
        data[("", f"Params{arrow}")] = [(latex_escape if latex else str)(format_params(table.params[m]))
                                        for m in table.methods]
    labels = [latex_escape(table.labels[m]) if latex else table.labels[m] for m in table.methods]
    frame = pd.DataFrame(data, index=pd.Index(labels, name="Method"))
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    return frame


def to_markdown(cfg: BenchConfig, table: Table) -> str:
    grid = _grid(cfg, table, latex=False)
    grid.columns = [f"{a} {b}".strip() for a, b in grid.columns]
    title = table.spec.title or table.spec.name
    legend = ("🔴 best, 🔵 second, 🟢 third (direction-aware); mean over images; intervals and p-values "
              f"in {table.spec.name}.csv")
    return f"**{title}**\n\n{grid.to_markdown()}\n\n{legend}\n\n{scoring_note(table)}\n"


def to_latex(cfg: BenchConfig, table: Table) -> str:
    grid = _grid(cfg, table, latex=True)
    grid.index.name = None  # no separate "Method" header row
    body = grid.to_latex(escape=False, multicolumn=True, multicolumn_format="c",
                         column_format="l" + "c" * grid.shape[1])  # booktabs rules by default
    caption = latex_escape(caption_text(table.spec.title or table.spec.name)) + \
        r" (\textcolor{red}{red}: the best, \textcolor{blue}{blue}: the second, \textcolor{green}{green}: the third)." \
        + " " + latex_escape(scoring_note(table))
    label = re.sub(r"[^A-Za-z0-9:._-]", "-", table.spec.name)
    return (f"% needs \\usepackage{{{','.join(LATEX_PACKAGES)}}}\n\\begin{{table*}}[t]\n\\centering\n"
            f"\\resizebox{{\\textwidth}}{{!}}{{%\n{body}}}\n\\caption{{{caption}}}\n\\label{{tab:{label}}}\n"
            "\\end{table*}\n")


def write_table(cfg: BenchConfig, table: Table, out_dir: Path) -> list[Path]:
    """Write ``<name>.csv`` (tidy cells + labels + params), ``<name>.md`` and ``<name>.tex``."""
    io.make_folder(out_dir)
    name = table.spec.name
    cells = table.cells.copy()
    cells.insert(2, "label", cells.method.map(table.labels))
    cells["params"] = cells.method.map(lambda m: table.params.get(m)).astype("Int64")
    paths = [out_dir / f"{name}.csv", out_dir / f"{name}.md", out_dir / f"{name}.tex"]
    io.write_text(paths[0], cells.to_csv(index=False, float_format="%.6g"))
    io.write_text(paths[1], to_markdown(cfg, table))
    io.write_text(paths[2], to_latex(cfg, table))
    return paths


def write_reports(plan: Plan | BenchConfig, out_dir: Path | None = None) -> list[Path]:
    """Every table of the benchmark (Table 1 always, the ablations as configured) from its result store."""
    from hdrbench.evaluate.store import ResultStore

    plan = as_plan(plan, "report")
    cfg = plan.cfg
    if not cfg.runs.results.is_file():
        raise HDRBenchError("no result store yet; run 'hdrbench evaluate' (or 'hdrbench run') first", cfg.runs.results)
    with ResultStore(cfg.runs.results) as store:
        scores, methods = store.scores(), store.methods()
    paths: list[Path] = []
    for spec in cfg.tables:
        paths += write_table(cfg, build_table(plan, scores, methods, spec), out_dir or cfg.runs.reports)
    return paths


__all__ = ["Table", "build_table", "write_reports", "write_table"]
