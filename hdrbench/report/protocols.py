"""How much the scoring protocol alone moves a table: the same predictions scored under several protocols.

``protocol_report(cfg, ["dcdr", "dcdr-hdrunet", "sihdr", ...])`` scores the benchmark's entries under each listed
protocol (its own metric list; the scores land in the result store beside the benchmark's own, under their own
digests, so a rerun scores nothing twice), then writes ``protocols.csv`` (method × protocol × metric: mean and
rank, direction-aware) and ``protocols.md`` (the ranks side by side, and Kendall's τ between the method rankings
of every two (protocol, metric) columns: τ = 1 keeps the order, τ < 0 reverses it).
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import pandas as pd

from hdrbench import io
from hdrbench.config import BenchConfig
from hdrbench.errors import HDRBenchError
from hdrbench.plan import Plan, build_plan


def protocol_plan(cfg: BenchConfig, protocol: str) -> Plan:
    """The benchmark's plan with ``protocol`` (and its own metrics, no option or parameter override; the tables,
    which may name the benchmark's own metrics, play no part in it)."""
    ev = dataclasses.replace(cfg.evaluate, protocol=protocol, protocol_options={}, metrics=[], metric_params={},
                             regions=False)
    return build_plan(dataclasses.replace(cfg, evaluate=ev, tables=[]), "evaluate")


def score_under(cfg: BenchConfig, protocols: list[str], progress: bool = False) -> pd.DataFrame:
    """Mean score per (protocol, metric, method, test set) of every listed protocol, evaluating what is missing."""
    from hdrbench.evaluate import ResultStore, evaluate

    if len(protocols) < 2:
        raise HDRBenchError("report.protocols needs at least two protocols to compare (e.g. dcdr, dcdr-hdrunet)",
                            cfg.path)
    rows = []
    for name in dict.fromkeys(protocols):
        plan = protocol_plan(cfg, name)
        evaluate(plan, progress=progress)
        with ResultStore(plan.layout.results) as store:
            current = plan.current_scores(store.scores())
        means = current.groupby(["method", "test_set", "metric"], sort=False).agg(
            mean=("value", "mean"), lower_better=("lower_better", "first"), n_images=("value", "size")).reset_index()
        means.insert(0, "protocol", plan.protocol.name)
        rows.append(means)
    out = pd.concat(rows, ignore_index=True)
    out["rank"] = out.groupby(["protocol", "test_set", "metric"])["mean"].rank(method="min", ascending=False)
    low = out.lower_better.astype(bool)
    out.loc[low, "rank"] = out[low].groupby(["protocol", "test_set", "metric"])["mean"].rank(method="min")
    out["rank"] = out["rank"].astype(int)
    return out


def kendall_taus(scores: pd.DataFrame, test_set: str) -> pd.DataFrame:
    """Kendall's τ (``scipy.stats.kendalltau``, τ-b) between the method rankings of every two (protocol, metric)
    columns of ``test_set``, over the methods both rank."""
    from scipy.stats import kendalltau

    sub = scores[scores.test_set == test_set]
    wide = sub.pivot_table(index="method", columns=["protocol", "metric"], values="rank")
    cols = list(wide.columns)
    out = pd.DataFrame(index=[f"{p}/{m}" for p, m in cols], columns=[f"{p}/{m}" for p, m in cols], dtype=float)
    for a, b in itertools.product(cols, cols):
        both = wide[[a, b]].dropna()
        tau = kendalltau(both[a], both[b]).statistic if len(both) > 1 else float("nan")
        out.loc[f"{a[0]}/{a[1]}", f"{b[0]}/{b[1]}"] = tau
    return out


def protocol_report(cfg: BenchConfig, protocols: list[str], out_dir: Path | None = None,
                    progress: bool = False) -> list[Path]:
    """``protocols.csv`` and ``protocols.md`` for ``protocols`` (see the module docstring)."""
    scores = score_under(cfg, protocols, progress)
    labels = {m.id: m.label for m in cfg.methods}
    out = out_dir or cfg.runs.reports
    md = ["**How much the protocol moves the table**: the same predictions under each protocol; rank (1 = best, "
          "direction-aware) with the mean in parentheses.\n"]
    for ts in dict.fromkeys(scores.test_set):
        sub = scores[scores.test_set == ts].copy()
        sub["cell"] = sub.apply(lambda r: f"{int(r['rank'])} ({r['mean']:.4g})", axis=1)
        wide = sub.pivot_table(index="method", columns=["protocol", "metric"], values="cell", aggfunc="first")
        order = [m.id for m in cfg.methods if m.id in wide.index]
        wide = wide.reindex(order)
        wide.index = [labels.get(m, m) for m in wide.index]
        wide.columns = [f"{p} {m}" for p, m in wide.columns]
        md.append(f"*{ts}*\n\n{wide.to_markdown()}\n")
        taus = kendall_taus(scores, ts)
        md.append(f"*{ts}: Kendall's τ between the rankings*\n\n{taus.round(2).to_markdown()}\n")
    scores = scores.assign(label=scores.method.map(labels))
    paths = [out / "protocols.csv", out / "protocols.md"]
    io.write_text(paths[0], scores.to_csv(index=False, float_format="%.6g"))
    io.write_text(paths[1], "\n".join(md))
    return paths
