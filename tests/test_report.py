"""Report tables on a synthetic store: direction-aware ranking colours, intervals, paired tests; statistics."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_train_fakes import FakeMethod, stamped  # also registers fake-psnr / fake-mae

from hdrbench.checkpoint import save_weights
from hdrbench.config import parse_config
from hdrbench.evaluate import ResultStore, Score
from hdrbench.plan import build_plan
from hdrbench.report.stats import bootstrap_ci, paired_test
from hdrbench.report.tables import build_table, format_params, write_reports

MEANS = {"a": (30.0, 0.40), "b": (33.0, 0.10), "c": (31.0, 0.20), "d": (32.0, 0.30)}  # (psnr, mae)


def synthetic_store(tmp_path, n: int = 12):
    save_weights(FakeMethod().build_network(), tmp_path / "x.safetensors", method="fake-net")
    methods = [{"name": "fake-net", "id": m, "label": m.upper(), "checkpoint": "x.safetensors"} for m in MEANS]
    data = {"benchmark": {"name": "syn", "output": str(tmp_path / "out")},
            "dataset": {"name": "fake-data", "options": {"n_test": n}},
            "methods": methods, "evaluate": {"metrics": ["fake-psnr", "fake-mae"]},
            "report": {"bootstrap": 500, "tables": {"table2": {"methods": ["a", "b"], "metrics": ["fake-mae"],
                                                               "title": "Ablation"}}}}
    cfg = parse_config(data, tmp_path / "bench.toml")
    rng = np.random.default_rng(1)
    noise = rng.normal(0, 0.5, n)
    with ResultStore(cfg.runs.results) as store:
        for k, (m, (psnr, mae)) in enumerate(MEANS.items()):
            rows = []
            for ts in ("set_a", "set_b"):
                for i in range(n):
                    img = f"{ts}_{i:02d}"
                    rows.append(Score(m, "fake-data", ts, img, "fake-psnr", psnr + noise[i] + 0.01 * i * (k + 1)))
                    rows.append(Score(m, "fake-data", ts, img, "fake-mae", mae + 0.01 * noise[i], lower_better=True))
            store.add(stamped(cfg, rows))
            store.record_method(m, name="fake-net", label=m.upper(), params=1_500_000 if m == "b" else 600_000,
                                checkpoint="h", source="network", options={}, substitutions=[])
    return cfg


def test_ranking_colours_are_direction_aware(tmp_path):
    cfg = synthetic_store(tmp_path)
    paths = write_reports(cfg)
    assert sorted(p.name for p in paths) == sorted(f"table{k}.{e}" for k in (1, 2) for e in ("csv", "md", "tex"))
    cells = pd.read_csv(cfg.output / "table1.csv")
    psnr = cells[(cells.metric == "fake-psnr") & (cells.test_set == "set_a")].set_index("method")
    mae = cells[(cells.metric == "fake-mae") & (cells.test_set == "set_a")].set_index("method")
    assert psnr["rank"].to_dict() == {"b": 1, "d": 2, "c": 3, "a": 4}  # higher is better
    assert mae["rank"].to_dict() == {"b": 1, "c": 2, "d": 3, "a": 4}  # lower is better
    assert set(psnr.best) == {"b"} and math.isnan(psnr.at["b", "p_vs_best"])
    tex = (cfg.output / "table1.tex").read_text()
    assert r"\toprule" in tex and r"\midrule" in tex and r"\bottomrule" in tex
    d_row = next(line for line in tex.splitlines() if line.startswith("D "))
    # D: PSNR second (blue), MAE third (green), twice (two test sets); params 0.6M
    assert d_row.count(r"\textcolor{blue}") == 2 and d_row.count(r"\textcolor{green}") == 2 and "0.6M" in d_row
    a_row = next(line for line in tex.splitlines() if line.startswith("A "))
    assert r"\textcolor" not in a_row
    md = (cfg.output / "table1.md").read_text()
    b_line = next(line for line in md.splitlines() if line.startswith("| B "))
    assert b_line.count("🔴") == 4 and "1.5M" in b_line
    t2 = pd.read_csv(cfg.output / "table2.csv")
    assert set(t2.method) == {"a", "b"} and set(t2.metric) == {"fake-mae"}
    assert "Params" not in (cfg.output / "table2.md").read_text()


def test_csv_intervals_and_p_values(tmp_path):
    cfg = synthetic_store(tmp_path)
    write_reports(cfg)
    cells = pd.read_csv(cfg.output / "table1.csv")
    row = cells[(cells.method == "a") & (cells.metric == "fake-psnr") & (cells.test_set == "set_b")].iloc[0]
    assert row.ci_low < row["mean"] < row.ci_high and row.n_images == 12
    # a is worse than b on every image by 3 dB (untied differences): Wilcoxon exact two-sided p = 2 / 2**12
    assert row.p_vs_best == pytest.approx(2 / 2**12)
    assert set(cells.test) == {"wilcoxon"}
    tbl = build_table(build_plan(cfg, "report"), ResultStore(cfg.runs.results).scores(),
                      ResultStore(cfg.runs.results).methods(), cfg.tables[0])
    assert tbl.params == {"a": 600_000, "b": 1_500_000, "c": 600_000, "d": 600_000}


def test_bootstrap_interval_matches_the_normal_theory():
    sigma, n = 2.0, 400
    x = np.random.default_rng(7).normal(5.0, sigma, n)
    lo, hi = bootstrap_ci(x, resamples=4000, seed=0)
    analytic = 2 * stats.norm.ppf(0.975) * x.std(ddof=1) / math.sqrt(n)  # width of the t/z interval
    assert hi - lo == pytest.approx(analytic, rel=0.08)
    assert lo < x.mean() < hi
    # coverage of the true mean over repeated samples is close to 95 %
    rng = np.random.default_rng(11)
    hits = 0
    trials = 200
    for t in range(trials):
        lo, hi = bootstrap_ci(rng.normal(0.0, sigma, 60), resamples=400, seed=t)
        hits += lo <= 0.0 <= hi
    assert 0.88 <= hits / trials <= 0.99
    assert bootstrap_ci(np.array([3.0, 3.0])) == (3.0, 3.0) and math.isnan(bootstrap_ci(np.array([1.0]))[0])


def test_paired_tests_match_scipy_and_edge_cases():
    rng = np.random.default_rng(3)
    a = rng.normal(0, 1, 30)
    b = a + rng.normal(0.3, 0.5, 30)
    assert paired_test(a, b, "ttest") == pytest.approx(stats.ttest_rel(a, b).pvalue)
    d = b - a  # the t statistic by hand: mean(d) / (sd(d) / sqrt(n))
    t = d.mean() / (d.std(ddof=1) / math.sqrt(30))
    assert paired_test(a, b, "ttest") == pytest.approx(2 * stats.t.sf(abs(t), 29))
    assert paired_test(a, a) == 1.0
    assert paired_test(a, a + 1.0, "ttest") == 0.0
    assert paired_test(np.arange(5.0), np.arange(5.0) + [0.1, 0.2, 0.3, 0.4, 0.5]) == pytest.approx(2 / 2**5)
    assert paired_test(a, b) == pytest.approx(stats.wilcoxon(a, b, method="exact").pvalue)
    tied = np.round(b - a, 1)  # ties: the tie-corrected normal approximation
    assert paired_test(a, a + tied) == pytest.approx(stats.wilcoxon(a, a + tied, method="asymptotic").pvalue)


def test_params_format():
    assert format_params(1_500_000) == "1.5M" and format_params(27_800_000) == "27.8M"
    assert format_params(None) == "—" and format_params(0) == "0"
