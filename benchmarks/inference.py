"""Full-resolution CPU inference: DCDR-UNet vs our HDRUNet (time ratio and peak memory).

Each method runs in its own subprocess (so ``ru_maxrss`` is that method's peak resident memory), on a
random 2048×1024 LDR image with freshly initialised weights (fixed seed; the offset convs are given
small random weights so the deformable convolutions really sample off-grid, as a trained model does).
The parent alternates the methods ``--rounds`` times, keeps each method's minimum time and prints
the ratio against the named baseline. Targets: DCDR time ≤ 1.0× HDRUNet's, DCDR peak RSS ≤ 3 GB.

    .venv/bin/python benchmarks/inference.py                           # whole image, 2048x1024
    .venv/bin/python benchmarks/inference.py --tile 512                # tiled_predict, default margins
    .venv/bin/python benchmarks/inference.py --backend torchvision     # DCDR with torchvision's kernel
    .venv/bin/python benchmarks/inference.py --breakdown --height 512 --width 1024 --threads 1
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def _setup(method_name: str, height: int, width: int, threads: int):
    """Seeded method, network (offset convs with small random weights) and random LDR input."""
    import torch

    import hdrbench

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    method = hdrbench.create_method(method_name)
    net = method.build_network().eval()
    for name, module in net.named_modules():  # trained-like offsets: a few pixels, not the zero init
        if name.endswith(".offset") and isinstance(module, torch.nn.Conv2d):
            torch.nn.init.normal_(module.weight, std=0.02)
    return method, net, torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(0))


def worker(method_name: str, height: int, width: int, tile: int, repeats: int, backend: str,
           channels_last: bool, threads: int) -> dict:
    """Build ``method_name``, run ``repeats`` predictions, return the best wall and CPU times and the peak RSS."""
    import torch

    import dcdr.ops
    from hdrbench.inference import tiled_predict

    dcdr.ops.set_backend(backend)
    method, net, ldr = _setup(method_name, height, width, threads)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        ldr = ldr.contiguous(memory_format=torch.channels_last)
    times, cpu_times = [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        out = tiled_predict(method, net, ldr, tile=tile)
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
        assert out.shape == (1, 3, height, width) and torch.isfinite(out).all()
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # Linux: KiB
    return {"method": method_name, "seconds": min(times), "cpu_seconds": min(cpu_times),
            "peak_rss_gb": rss_kib * 1024 / 1e9,
            "threads": torch.get_num_threads(), "fast_kernels": dcdr.ops.fast_available()}


def breakdown(method_name: str, height: int, width: int, threads: int) -> None:
    """Print the CPU time spent inside each (non-torch) module class during one prediction (inclusive times:
    a DCRB's time contains its SFT layers' and deformable convolutions')."""
    import collections

    import torch

    method, net, ldr = _setup(method_name, height, width, threads)
    totals: collections.Counter = collections.Counter()
    started: dict[int, float] = {}
    for module in net.modules():
        if module is net or type(module).__module__.startswith("torch."):
            continue
        key = type(module).__name__
        module.register_forward_pre_hook(lambda m, _i: started.__setitem__(id(m), time.process_time()))
        module.register_forward_hook(
            lambda m, _i, _o, key=key: totals.update({key: time.process_time() - started[id(m)]}))
    start = time.process_time()
    method.predict(net, ldr)
    total = time.process_time() - start
    print(f"{method_name} {width}x{height}, {torch.get_num_threads()} thread(s): {total:.2f} s CPU")
    for key, seconds in totals.most_common():
        print(f"  {key:>24}: {seconds:6.2f} s  {100 * seconds / total:5.1f} %")


def run_worker(args: argparse.Namespace, method_name: str) -> dict:
    cmd = [sys.executable, __file__, "--worker", method_name, "--height", str(args.height), "--width",
           str(args.width), "--tile", str(args.tile), "--repeats", str(args.repeats), "--backend", args.backend]
    cmd += (["--channels-last"] if args.channels_last else []) + ["--threads", str(args.threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"worker {method_name} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="dcdr")
    parser.add_argument("--baseline", default="hdrunet")
    parser.add_argument("--height", type=int, default=1024)
    parser.add_argument("--width", type=int, default=2048)
    parser.add_argument("--tile", type=int, default=0, help="tile size for tiled_predict (0: whole image)")
    parser.add_argument("--repeats", type=int, default=2, help="predictions per subprocess (min is kept)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating subprocess rounds (min is kept)")
    parser.add_argument("--backend", default="fast", choices=["fast", "torchvision"],
                        help="dcdr.ops backend inside the workers")
    parser.add_argument("--channels-last", action="store_true", help="run both networks in channels-last layout")
    parser.add_argument("--threads", type=int, default=0, help="torch threads in the workers (0: torch's default)")
    parser.add_argument("--breakdown", action="store_true",
                        help="print CPU time per module class for --method (one prediction, in-process)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.breakdown:
        breakdown(args.method, args.height, args.width, args.threads)
        return
    if args.worker:
        print(json.dumps(worker(args.worker, args.height, args.width, args.tile, args.repeats, args.backend,
                                args.channels_last, args.threads)))
        return
    runs: dict[str, list[dict]] = {args.method: [], args.baseline: []}
    for _ in range(args.rounds):
        for name in runs:
            runs[name].append(run_worker(args, name))
    best = {name: {"seconds": min(r["seconds"] for r in rs), "cpu": min(r["cpu_seconds"] for r in rs),
                   "rss": max(r["peak_rss_gb"] for r in rs)} for name, rs in runs.items()}
    m, b = best[args.method], best[args.baseline]
    print(f"{args.width}x{args.height} tile={args.tile or 'whole'} threads={runs[args.method][0]['threads']} "
          f"backend={args.backend} channels_last={args.channels_last} "
          f"(min over {args.rounds} rounds x {args.repeats} repeats)")
    for name, r in best.items():
        print(f"  {name:>8}: wall {r['seconds']:.2f} s  CPU {r['cpu']:.2f} s  peak RSS {r['rss']:.2f} GB")
    print(f"  wall-time ratio {args.method}/{args.baseline} = {m['seconds'] / b['seconds']:.2f}x (target <= 1.0); "
          f"CPU-time ratio {m['cpu'] / b['cpu']:.2f}x; {args.method} peak RSS {m['rss']:.2f} GB (target <= 3)")


if __name__ == "__main__":
    main()
