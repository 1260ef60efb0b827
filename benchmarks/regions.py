"""What ``[evaluate] regions = true`` adds to the evaluation of a benchmark: the same evaluation into empty stores,
without and with the region scores, interleaved, in one run.

    .venv/bin/python benchmarks/regions.py bench.toml --from results/demo --repeats 2

``--from`` is a finished run folder of the benchmark (its ``checkpoints/`` are copied; nothing is trained here).
Prints each run's wall time and the median ratio with/without (the issue's target: at most 1.2).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from hdrbench.config import load_config
from hdrbench.evaluate import evaluate
from hdrbench.plan import build_plan


def one(config: Path, source: Path, regions: bool) -> float:
    cfg = load_config(config)
    with tempfile.TemporaryDirectory() as tmp:
        cfg.output = Path(tmp) / "out"
        shutil.copytree(source / "checkpoints", cfg.output / "checkpoints")
        cfg.evaluate.regions = regions
        plan = build_plan(cfg, "evaluate")
        t = time.perf_counter()
        evaluate(plan, progress=False)
        return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", type=Path)
    ap.add_argument("--from", dest="source", type=Path, required=True, help="a finished run folder (checkpoints)")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    times: dict[bool, list[float]] = {False: [], True: []}
    for r in range(args.repeats):
        for regions in (False, True) if r % 2 == 0 else (True, False):  # interleaved: drift hits both
            times[regions].append(one(args.config, args.source, regions))
            print(f"run {r + 1}: regions={str(regions).lower():5s} {times[regions][-1]:7.1f} s", flush=True)
    off, on = statistics.median(times[False]), statistics.median(times[True])
    print(f"evaluation of {args.config}: without regions {off:.1f} s, with {on:.1f} s (median of {args.repeats}); "
          f"ratio {on / off:.3f} (target <= 1.2)")


if __name__ == "__main__":
    main()
