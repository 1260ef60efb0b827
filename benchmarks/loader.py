"""Training-loader throughput: streaming the source images (the old path) vs the memory-mapped patch cache.

Both paths produce the same batches (checked here on the first steps) of ``--batch`` float32 ``(3, P, P)``
patches of one dataset split on ``--device``, as the training loop consumes them; the script prints patches/s
of each, side by side, and their ratio, plus the one-off cache build time (not part of either rate)::

    .venv/bin/python benchmarks/loader.py                                # demo set, 128², batch 16, CPU
    .venv/bin/python benchmarks/loader.py --patch 512 --crop random --augment hflip,vflip,transpose
    .venv/bin/python benchmarks/loader.py --device cuda --workers 8      # on a GPU machine

``--workers`` applies to both paths (DataLoader processes; default 0, the CPU training default).
The cache goes to a temporary folder unless ``--cache-dir`` is given.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import torch

from hdrbench.datasets import create_dataset
from hdrbench.method import Recipe
from hdrbench.train.data import training_batches


def _rate(make, steps: int, batch: int, device: torch.device) -> float:
    it = make()
    next(it)  # start-up (worker launch, first read) is not counted
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    n = 0
    for ldr, _hdr in it:
        n += ldr.shape[0]
    if device.type == "cuda":
        torch.cuda.synchronize()
    assert n == (steps - 1) * batch
    return n / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="demo")
    ap.add_argument("--root", default=None)
    ap.add_argument("--split", default="train")
    ap.add_argument("--patch", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--crop", default="grid", choices=("grid", "random"))
    ap.add_argument("--augment", default="hflip,vflip")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--cache-dir", default=None)
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    os.environ["HDRBENCH_PATCH_CACHE"] = args.cache_dir or tempfile.mkdtemp(prefix="hdrbench-loader-")
    ds = create_dataset(args.dataset, args.root)
    recipe = Recipe(batch_size=args.batch, patch_size=args.patch, crop=args.crop,
                    augment=tuple(a for a in args.augment.split(",") if a))

    def batches(cache: bool, steps: int):
        return training_batches(ds, args.split, recipe, seed=0, start=0, stop=steps, device=device,
                                num_workers=args.workers, cache=cache)

    t0 = time.perf_counter()
    first_cached = list(batches(True, 3))  # builds the cache
    build = time.perf_counter() - t0
    same = all(torch.equal(a, c) and torch.equal(b, d) for (a, b), (c, d) in zip(first_cached, batches(False, 3)))
    old = _rate(lambda: batches(False, args.steps), args.steps, args.batch, device)
    new = _rate(lambda: batches(True, args.steps), args.steps, args.batch, device)
    print(f"dataset {args.dataset}/{args.split}, {args.crop} {args.patch}² patches, batch {args.batch}, "
          f"augment {recipe.augment or 'none'}, {args.workers} workers, device {device}, "
          f"{len(os.sched_getaffinity(0))} CPUs")
    print(f"cache build (once): {build:.1f} s; first 3 batches identical on both paths: {same}")
    print(f"{'path':<28}{'patches/s':>12}")
    print(f"{'stream (decode per patch)':<28}{old:>12.1f}")
    print(f"{'patch cache (memory-mapped)':<28}{new:>12.1f}")
    print(f"ratio cache / stream: {new / old:.1f}x")


if __name__ == "__main__":
    main()
