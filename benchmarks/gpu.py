"""Every method at the paper's protocol on the card this runs on: step time, peak memory, inference time.

For each registered method (and ``dcdr`` once more with torchvision's deformable convolution, the baseline
of the Triton kernel), on synthetic batches (no loader): the median of ``--steps`` training steps after
``--warmup`` at batch 16 × 512² (the ``paper`` recipe, including its gradient accumulation), under bf16
autocast and in fp32, the peak GPU memory of the fp32 step, the median whole-image inference time at
2048×1024 in fp32, the hours 2·10⁵ steps take, and the step-time ratio DCDR / HDRUNet. Prints a Markdown
table; with ``--out`` also writes one CSV row per method as it goes (a timeout keeps what was measured).

    PYTHONPATH=. python benchmarks/gpu.py                         # every method, ~3-5 min on an H100
    PYTHONPATH=. python benchmarks/gpu.py --methods dcdr,hdrunet --steps 5 --out gpu.csv
    PYTHONPATH=. python benchmarks/gpu.py --batch 2 --size 64 --device cpu --steps 1 --warmup 0   # smoke test

Methods whose loss needs perceptual-network weights this machine lacks are timed with an L1 stand-in loss
(marked ``*``); HDRCNN and SingleHDR run without their pretrained encoders (timing does not depend on them).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import statistics
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

import dcdr.ops as ops
from hdrbench.errors import HDRBenchError
from hdrbench.method import Method, create_method
from hdrbench.registry import METHODS
from hdrbench.train.loop import _accumulated_backward

ITERATIONS = 200_000
NO_PRETRAINED = {"hdrcnn": {"pretrained": False}, "singlehdr": {"pretrained": False}}


class _L1(nn.Module):
    def forward(self, pred: Any, gt: torch.Tensor, ldr: torch.Tensor | None = None) -> torch.Tensor:
        preds = pred if isinstance(pred, list | tuple) else [pred]
        return sum(F.l1_loss(p, gt) for p in preds) / len(preds)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _median_seconds(fn, steps: int, warmup: int, device: torch.device) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _train_step(method: Method, net: nn.Module, loss_fn: nn.Module, batch: int, size: int, amp: bool,
                device: torch.device):
    """One optimizer step of the method's last ``paper`` stage (the whole network for one-stage methods;
    HDRTV's HG, which runs the whole cascade) on a synthetic batch."""
    stage = method.stages("paper")[-1]
    stage = dataclasses.replace(stage, recipe=stage.recipe.replace(batch_size=batch, patch_size=size))
    opt = torch.optim.Adam(stage.parameters(net), lr=1e-5)
    g = torch.Generator(device=device).manual_seed(0)
    ldr = torch.rand(batch, 3, size, size, generator=g, device=device)
    hdr = ldr ** 2.2 * (1 + 3 * (ldr > 0.9))

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        _accumulated_backward(method, net, loss_fn, ldr, hdr, stage, amp and device.type == "cuda", Path("."))
        opt.step()

    return step, stage.recipe.accumulate


def measure(name: str, args: argparse.Namespace, device: torch.device, backend: str = "fast") -> dict[str, Any]:
    """One method's row (``None`` where it ran out of memory)."""
    method = create_method(name, **NO_PRETRAINED.get(name, {}))
    row: dict[str, Any] = {"method": name + ("" if backend == "fast" else f" ({backend} dcn)")}
    with ops.use_backend(backend):
        torch.manual_seed(0)
        net = method.build_network().to(device).train()
        try:
            loss_fn, stand_in = method.build_loss().to(device), False
        except HDRBenchError:
            loss_fn, stand_in = _L1().to(device), True
        row["loss"] = "L1 stand-in*" if stand_in else "own"
        for amp in (True, False):
            key = "step_bf16_s" if amp else "step_fp32_s"
            try:
                if device.type == "cuda":
                    torch.cuda.empty_cache()
                    torch.cuda.reset_peak_memory_stats(device)
                step, acc = _train_step(method, net, loss_fn, args.batch, args.size, amp, device)
                row[key] = _median_seconds(step, args.steps, args.warmup, device)
                row["accumulate"] = acc
                if not amp and device.type == "cuda":
                    row["peak_fp32_gb"] = torch.cuda.max_memory_allocated(device) / 1e9
            except torch.OutOfMemoryError:
                row[key] = None
                row.setdefault("peak_fp32_gb", None)
            finally:
                net.zero_grad(set_to_none=True)
        net.eval()
        ldr = torch.rand(1, 3, args.infer_height, args.infer_width, device=device)
        try:
            with torch.no_grad():
                row["infer_fp32_s"] = _median_seconds(lambda: method.predict(net, ldr), args.steps, 1, device)
        except torch.OutOfMemoryError:
            row["infer_fp32_s"] = None
    net = loss_fn = None
    if device.type == "cuda":
        torch.cuda.empty_cache()
    best = row.get("step_bf16_s") or row.get("step_fp32_s")
    row["hours_2e5_bf16"] = row["step_bf16_s"] * ITERATIONS / 3600 if row.get("step_bf16_s") else None
    row["hours_2e5_fp32"] = row["step_fp32_s"] * ITERATIONS / 3600 if row.get("step_fp32_s") else None
    row["_best"] = best
    return row


def _fmt(v: Any, unit: str = "", digits: int = 3) -> str:
    if v is None:
        return "out of memory"
    if v == "":
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{digits}f}{unit}"
    return str(v)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--methods", default="", help="comma-separated (default: every registered method)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--infer-height", type=int, default=1024)
    ap.add_argument("--infer-width", type=int, default=2048)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--no-torchvision-dcdr", action="store_true", help="skip the dcdr row with torchvision's kernel")
    ap.add_argument("--out", default="", help="CSV file, one row per method as measured")
    ap.add_argument("--no-tf32", action="store_true", help="fp32 matrix products in IEEE fp32 (default: TF32, as "
                                                          "cuDNN's convolutions use by default)")
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    torch.set_float32_matmul_precision("highest" if args.no_tf32 else "high")
    chosen = args.methods.split(",") if args.methods else METHODS.names()
    names = [n for n in chosen if n and not n.startswith("fake")]
    card = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"card: {card}; torch {torch.__version__}; batch {args.batch} x {args.size}² (paper recipe), median of "
          f"{args.steps} steps after {args.warmup}; TF32 {'off' if args.no_tf32 else 'on'}; "
          f"inference {args.infer_width}x{args.infer_height} fp32; "
          f"deform conv backend 'fast' = {'Triton' if ops.triton_available() else 'torchvision'} on CUDA", flush=True)
    runs = [(n, "fast") for n in names]
    if "dcdr" in names and device.type == "cuda" and not args.no_torchvision_dcdr:
        runs.insert(names.index("dcdr") + 1, ("dcdr", "torchvision"))
    rows = []
    writer = None
    out = open(args.out, "w", newline="") if args.out else None  # noqa: SIM115 (rows are flushed as measured)
    try:
        for name, backend in runs:
            t0 = time.perf_counter()
            try:
                row = measure(name, args, device, backend)
            except Exception as exc:  # one broken method must not lose the others' rows
                row = {"method": name, "error": f"{type(exc).__name__}: {exc}"[:200]}
            row["seconds"] = time.perf_counter() - t0
            rows.append(row)
            print(f"  {row['method']}: {({k: v for k, v in row.items() if k != '_best'})}", flush=True)
            if out is not None:
                if writer is None:
                    writer = csv.DictWriter(out, fieldnames=["method", "loss", "accumulate", "step_bf16_s",
                                                             "step_fp32_s", "peak_fp32_gb", "infer_fp32_s",
                                                             "hours_2e5_bf16", "hours_2e5_fp32", "seconds", "error"],
                                            extrasaction="ignore")
                    writer.writeheader()
                writer.writerow(row)
                out.flush()
    finally:
        if out is not None:
            out.close()
    print()
    print("| method | train step, bf16 autocast | train step, fp32 | peak memory (fp32) | 2·10⁵ steps (bf16) | "
          "inference fp32 |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['method']} | error: {r['error']} | | | | |")
            continue
        acc = f" (accumulate {r['accumulate']})" if r.get("accumulate", 1) > 1 else ""
        print(f"| {r['method']}{' *' if r.get('loss') != 'own' else ''}{acc} | {_fmt(r.get('step_bf16_s'), ' s')} | "
              f"{_fmt(r.get('step_fp32_s'), ' s')} | {_fmt(r.get('peak_fp32_gb', ''), ' GB', 1)} | "
              f"{_fmt(r.get('hours_2e5_bf16'), ' h', 1)} | {_fmt(r.get('infer_fp32_s'), ' s')} |")
    by = {r["method"]: r for r in rows if "error" not in r}
    for mode in ("step_bf16_s", "step_fp32_s"):
        if by.get("dcdr", {}).get(mode) and by.get("hdrunet", {}).get(mode):
            print(f"DCDR / HDRUNet ({mode}): {by['dcdr'][mode] / by['hdrunet'][mode]:.2f}x")
        tv = by.get("dcdr (torchvision dcn)", {}).get(mode)
        if tv and by.get("dcdr", {}).get(mode):
            print(f"DCDR torchvision dcn / Triton dcn ({mode}): {tv / by['dcdr'][mode]:.2f}x")


if __name__ == "__main__":
    main()
