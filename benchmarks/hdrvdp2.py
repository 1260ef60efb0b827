"""Time our HDR-VDP-2 (torch port) on one 2048x1024 RGB pair on CPU; optionally the original under Octave.

Prints the min and median over ``--repeats`` runs (the 2 CPU cores are shared, so the min is the figure
to quote) for Q only (what ``hdrbench score`` computes) and for Q + P_map, and, with ``--octave PATH``
(a copy of the HDR-VDP 2.2.x folder), the time of the original under GNU Octave and the ratio. With
``--baseline PATH`` (another hdrbench checkout, e.g. the main branch's), the same timing runs alternately in
subprocesses importing this checkout and that one, and the ratio is printed (same machine, same load).

    .venv/bin/python benchmarks/hdrvdp2.py
    .venv/bin/python benchmarks/hdrvdp2.py --threads 1 --repeats 3 --baseline ../main
    .venv/bin/python benchmarks/hdrvdp2.py --size 1024x512 --repeats 3 --octave ~/hdrvdp-2.2.1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from hdrbench.metrics.hdrvdp2 import hdrvdp2


def _pair(h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A smooth linear-HDR scene in [1e-3, 1] and a noisy, slightly blurred test image, (1, 3, H, W) float32."""
    gen = torch.Generator().manual_seed(0)
    y, x = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    base = 0.05 + 0.4 * x + 0.2 * y + 0.5 * torch.exp(-((x - 0.6) ** 2 + (y - 0.4) ** 2) / 0.01)
    ref = torch.stack([base, 0.9 * base, 0.8 * base])[None].clamp(1e-3, 1)
    test = (ref + 0.01 * torch.randn(ref.shape, generator=gen)).clamp(1e-3, 1)
    return test.float(), ref.float()


def _time(fn, repeats: int) -> list[tuple[float, float]]:
    """(wall, CPU) seconds per run; CPU time (all threads) is a load-independent upper bound on the work."""
    out = []
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        out.append((time.perf_counter() - start, time.process_time() - cpu))
    return out


def _report(label: str, runs: list[tuple[float, float]]) -> None:
    wall = [w for w, _ in runs]
    print(f"  {label:10s} wall min {min(wall):.3f} s  median {statistics.median(wall):.3f} s  "
          f"CPU (all threads) min {min(c for _, c in runs):.3f} s  ({len(runs)} runs)")


def _compare(args: argparse.Namespace, rounds: int = 3) -> None:
    """Alternate subprocess timings of this checkout and ``args.baseline``; min Q-only wall time of each."""
    ours_root = Path(__file__).resolve().parents[1]
    best: dict[str, list[float]] = {"this checkout": [], "baseline": []}
    cpu: dict[str, list[float]] = {"this checkout": [], "baseline": []}
    q: dict[str, float] = {}
    for _ in range(rounds):
        for label, root in (("this checkout", ours_root), ("baseline", Path(args.baseline).resolve())):
            cmd = [sys.executable, str(Path(__file__).resolve()), "--size", args.size, "--repeats", str(args.repeats),
                   "--threads", str(args.threads), "--worker"]
            env = {**os.environ, "PYTHONPATH": str(root)}
            line = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout.splitlines()[-1]
            rec = json.loads(line)
            best[label].append(rec["q_only_min_s"])
            cpu[label].append(rec["q_only_cpu_min_s"])
            q[label] = rec["Q"]
    for label, times in best.items():
        print(f"  {label:14s} Q only: min {min(times):.3f} s (per-round mins {', '.join(f'{t:.3f}' for t in times)})"
              f"  CPU min {min(cpu[label]):.3f} s  Q = {q[label]:.4f}")
    print(f"  this checkout / baseline: {min(best['this checkout']) / min(best['baseline']):.3f}x wall time, "
          f"{min(cpu['this checkout']) / min(cpu['baseline']):.3f}x CPU time")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="2048x1024", help="WIDTHxHEIGHT (default 2048x1024)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    ap.add_argument("--octave", metavar="PATH", help="HDR-VDP 2.2.x folder: also time the original under Octave")
    ap.add_argument("--baseline", metavar="PATH", help="another hdrbench checkout to time alternately (ratio)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.baseline:
        _compare(args)
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    w, h = (int(v) for v in args.size.lower().split("x"))
    test, ref = _pair(h, w)
    hdrvdp2(test, ref, "rgb-native", 24, 1.0, compute_p_map=False)  # warm-up (LUTs, allocator)
    q_only = _time(lambda: hdrvdp2(test, ref, "rgb-native", 24, 1.0, compute_p_map=False), args.repeats)
    if args.worker:  # one JSON line for --baseline
        q = float(hdrvdp2(test, ref, "rgb-native", 24, 1.0, compute_p_map=False).Q[0])
        print(json.dumps({"q_only_min_s": min(w for w, _ in q_only), "q_only_cpu_min_s": min(c for _, c in q_only),
                          "Q": q}))
        return
    full = _time(lambda: hdrvdp2(test, ref, "rgb-native", 24, 1.0), args.repeats)
    q = float(hdrvdp2(test, ref, "rgb-native", 24, 1.0, compute_p_map=False).Q[0])
    print(f"hdrvdp2 torch, {w}x{h}, CPU, {torch.get_num_threads()} threads, Q = {q:.4f}")
    _report("Q only", q_only)
    _report("Q + P_map", full)
    if args.octave:
        from hdrbench.metrics.hdrvdp2.octave import hdrvdp2_octave

        t_oct = _time(lambda: hdrvdp2_octave(test[0], ref[0], args.octave, "rgb-native", 24, 1.0), 1)[0][0]
        print(f"  original (GNU Octave) {t_oct:.3f} s  ->  ours is {t_oct / min(w for w, _ in full):.1f}x faster")


if __name__ == "__main__":
    main()
