"""Does the gap between two methods grow with how far a network must reach? Paired differences per distance bin.

    .venv/bin/python benchmarks/region_gaps.py bench-regions.toml --pair dcdr:hdrunet --pair dcdr:dcdr-no-dcrb

For each test set and each distance bin (``[evaluate] regions = true`` scores in the benchmark's store), the
per-image difference A − B of the in-region PSNR-μ (and of the restored-energy ratio) over the images where both have
pixels in the bin, its mean and 95 % percentile-bootstrap interval (:func:`hdrbench.report.stats.bootstrap_ci`);
the whole-image PSNR-μ difference for comparison. Prints Markdown tables (docs/regions.md holds the demo's).
"""

from __future__ import annotations

import argparse

import numpy as np

from hdrbench.config import load_config
from hdrbench.evaluate import ResultStore
from hdrbench.plan import build_plan
from hdrbench.report.stats import bootstrap_ci


def fmt(values: np.ndarray, seed: int, digits: int) -> str:
    if len(values) == 0:
        return "—"
    lo, hi = bootstrap_ci(values, confidence=0.95, resamples=2000, seed=seed)
    interval = f" [{lo:+.{digits}f}, {hi:+.{digits}f}]" if np.isfinite(lo) else ""
    return f"{values.mean():+.{digits}f}{interval} (n={len(values)})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config")
    ap.add_argument("--pair", action="append", required=True, help="A:B, two method ids of the benchmark")
    ap.add_argument("--quantity", default="psnr-mu")
    args = ap.parse_args()
    plan = build_plan(load_config(args.config), "report")
    assert plan.region_spec is not None, "the benchmark scores no regions ([evaluate] regions = true)"
    with ResultStore(plan.layout.results) as store:
        regions = plan.current_regions(store.regions())
        scores = plan.current_scores(store.scores())
    bins = plan.region_spec.labels()["by_distance"]
    for pair in args.pair:
        a, b = pair.split(":")
        print(f"\n**{a} − {b}: in-region {args.quantity} by distance to the nearest well-exposed pixel "
              "(mean [95 % bootstrap], images)**\n")
        print("| test set | whole image | " + " | ".join(bins) + " |")
        print("|---|---|" + "---|" * len(bins))
        for ts in plan.test_sets:
            whole = scores[(scores.test_set == ts) & (scores.metric == args.quantity)].pivot(
                index="image", columns="method", values="value")
            cells = [fmt((whole[a] - whole[b]).dropna().to_numpy(), plan.cfg.benchmark.seed, 2)]
            for label in bins:
                sub = regions[(regions.test_set == ts) & (regions.stratum == "by_distance") & (regions.bin == label)
                              & (regions.quantity == args.quantity) & (regions.pixels > 0)]
                wide = sub.pivot(index="image", columns="method", values="value")
                diff = (wide[a] - wide[b]).dropna().to_numpy(dtype=float) if {a, b} <= set(wide) else np.array([])
                cells.append(fmt(diff[np.isfinite(diff)], plan.cfg.benchmark.seed, 2))
            print(f"| {ts} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
