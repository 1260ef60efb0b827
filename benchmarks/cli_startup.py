"""Whole-process timing of the ``hdrbench`` command line, against named baselines measured in the same run.

Each command is started as a fresh process (``python -m hdrbench ...``), ``--runs`` times, interleaved with
the baselines ``python -c pass`` and ``python -c "import torch"``; the median wall time is printed with the
load average, and each command's ratio to ``import torch``. Targets: ``--help`` ≤ 0.5 s, ``list`` ≤ 2 s,
``score`` of one 2048×1024 pair with PSNR-L ≤ 2 s and with the five paper metrics ≤ 5 s.

    .venv/bin/python benchmarks/cli_startup.py                   # 5 runs each
    .venv/bin/python benchmarks/cli_startup.py --runs 3 --skip-five --raw     # --raw: every run's time too
    .venv/bin/python benchmarks/cli_startup.py --compare /tmp/old-checkout   # also the same commands there,
                                                                              # interleaved ("before" rows)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def write_pair(folder: Path, width: int = 2048, height: int = 1024) -> tuple[Path, Path]:
    """A structured [0, 1] linear HDR ground truth and a noisy prediction, as float32 EXR."""
    from hdrbench import io

    y, x = np.meshgrid(np.linspace(0, 1, height), np.linspace(0, 1, width), indexing="ij")
    base = 0.02 + 0.3 * x + 0.2 * y + 0.6 * np.exp(-((x - 0.7) ** 2 + (y - 0.3) ** 2) / 0.01)
    gt = np.clip(np.stack([base, 0.9 * base, 0.8 * base], -1), 1e-4, 1).astype(np.float32)
    pred = np.clip(gt + np.random.default_rng(0).normal(0, 0.01, gt.shape), 0, 1).astype(np.float32)
    return io.write_exr(folder / "pred.exr", pred), io.write_exr(folder / "gt.exr", gt)


def time_once(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    t = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--python", default=sys.executable, help="Interpreter that runs hdrbench.")
    ap.add_argument("--cwd", type=Path, default=Path(__file__).resolve().parents[1],
                    help="Checkout whose hdrbench is timed (its root is the working directory).")
    ap.add_argument("--skip-five", action="store_true", help="Skip 'score' with the five paper metrics.")
    ap.add_argument("--raw", action="store_true", help="Also print every run's time, in run order.")
    ap.add_argument("--compare", type=Path, default=None,
                    help="Another checkout (e.g. an older commit, unpacked): its commands run interleaved ('before').")
    args = ap.parse_args()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}  # torch's own thread count, as a user gets it
    with tempfile.TemporaryDirectory() as tmp:
        pred, gt = write_pair(Path(tmp))
        py = [args.python]
        cases: dict[str, tuple[list[str], float | None]] = {
            "python -c pass": (py + ["-c", "pass"], None),
            "python -c 'import torch'": (py + ["-c", "import torch"], None),
            "hdrbench --help": (py + ["-m", "hdrbench", "--help"], 0.5),
            "hdrbench list": (py + ["-m", "hdrbench", "list"], 2.0),
            "hdrbench score (PSNR-L)": (py + ["-m", "hdrbench", "score", str(pred), str(gt), "--metric", "psnr-l",
                                              "--device", "cpu"], 2.0),
        }
        if not args.skip_five:
            cases["hdrbench score (5 paper metrics)"] = (py + ["-m", "hdrbench", "score", str(pred), str(gt),
                                                              "--device", "cpu"], 5.0)
        runs = [(name, argv, args.cwd, target) for name, (argv, target) in cases.items()]
        if args.compare is not None:
            runs += [(f"before: {name}", argv, args.compare, None) for name, (argv, _) in cases.items()
                     if name.startswith("hdrbench")]
        times: dict[str, list[float]] = {name: [] for name, *_ in runs}
        loads = []
        for _ in range(args.runs):  # interleaved, so load changes hit every case alike
            for name, argv, cwd, _ in runs:
                loads.append(os.getloadavg()[0])
                times[name].append(time_once(argv, cwd, env))
    torch_s = statistics.median(times["python -c 'import torch'"])
    print(f"{args.runs} runs each, interleaved; python {args.python}; checkout {args.cwd}"
          + (f"; before: {args.compare}" if args.compare else ""))
    print(f"load average (1 min) during the runs: min {min(loads):.1f}, median {statistics.median(loads):.1f}, "
          f"max {max(loads):.1f}; {os.cpu_count()} CPUs")
    print(f"{'command':<42}{'median s':>9}{'min s':>8}{'x torch':>9}{'target':>9}")
    for name, _, _, target in runs:
        med = statistics.median(times[name])
        mark = "" if target is None else (f"{target:.1f} " + ("ok" if med <= target else "MISS"))
        print(f"{name:<42}{med:9.2f}{min(times[name]):8.2f}{med / torch_s:9.2f}{mark:>9}")
    if args.raw:
        for name, *_ in runs:
            print(f"{name:<42}" + " ".join(f"{t:.2f}" for t in times[name]))


if __name__ == "__main__":
    main()
