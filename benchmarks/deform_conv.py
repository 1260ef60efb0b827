"""Deformable convolution vs a plain conv2d of the same shape, timed in one process.

For each size it times (min over ``--repeats`` interleaved runs) ``F.conv2d``, ``dcdr.ops.deform_conv2d``
with the fast backend and, with ``--torchvision``, torchvision's kernel, forward and forward+backward
(gradients of every input), and prints the ratios the targets are stated in:
CPU forward ≤ 2× conv2d, forward+backward ≤ 3× conv2d; on CUDA, fast ≤ torchvision.

    .venv/bin/python benchmarks/deform_conv.py                       # CPU, 256x512 and 512x1024, 64 ch
    .venv/bin/python benchmarks/deform_conv.py --torchvision --sizes 256x512
    .venv/bin/python benchmarks/deform_conv.py --device cuda --torchvision
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from dcdr.ops import deform_conv2d, fast_available, use_backend


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _timer(fn: Callable[[], None], device: str) -> float:
    _sync(device)
    start = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - start


def _cases(h: int, w: int, channels: int, offset_std: float, device: str):
    """Closures running conv2d / deform_conv2d forward and forward+backward on one random input."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, channels, h, w, generator=gen).to(device).requires_grad_()
    weight = (torch.randn(channels, channels, 3, 3, generator=gen) / (3 * channels ** 0.5)).to(device)
    weight.requires_grad_()
    bias = torch.zeros(channels, device=device, requires_grad=True)
    offset = (torch.randn(1, 18, h, w, generator=gen) * offset_std).to(device).requires_grad_()

    def conv(backward: bool) -> Callable[[], None]:
        def run() -> None:
            with torch.set_grad_enabled(backward):
                y = F.conv2d(x, weight, bias, padding=1)
                if backward:
                    y.sum().backward()
        return run

    def deform(backend: str, backward: bool) -> Callable[[], None]:
        def run() -> None:
            with use_backend(backend), torch.set_grad_enabled(backward):
                y = deform_conv2d(x, offset, weight, bias, padding=1)
                if backward:
                    y.sum().backward()
        return run

    return conv, deform


def measure(h: int, w: int, channels: int, repeats: int, device: str, torchvision: bool,
            offset_std: float) -> dict[str, float]:
    """Minimum seconds of each variant at one size (interleaved so load noise hits all alike)."""
    conv, deform = _cases(h, w, channels, offset_std, device)
    variants = {"conv_fwd": conv(False), "fast_fwd": deform("fast", False),
                "conv_fwdbwd": conv(True), "fast_fwdbwd": deform("fast", True)}
    if torchvision:
        variants |= {"tv_fwd": deform("torchvision", False), "tv_fwdbwd": deform("torchvision", True)}
    for fn in variants.values():  # warm-up (builds the kernels, first-touch allocations)
        fn()
    best = {name: float("inf") for name in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            best[name] = min(best[name], _timer(fn, device))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256x512,512x1024", help="comma-separated HxW list")
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--torchvision", action="store_true", help="also time torchvision's kernel (slow on CPU)")
    parser.add_argument("--offset-std", type=float, default=2.0, help="std of the random offsets, pixels")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cpu" and not fast_available():
        print("warning: the C++ kernels did not build; 'fast' is torchvision's kernel here")
    print(f"device={args.device} threads={torch.get_num_threads()} channels={args.channels} "
          f"offset_std={args.offset_std} repeats={args.repeats} (min of repeats, seconds)")
    for size in args.sizes.split(","):
        h, w = (int(v) for v in size.lower().split("x"))
        t = measure(h, w, args.channels, args.repeats, args.device, args.torchvision, args.offset_std)
        line = (f"{h}x{w}: conv2d fwd {t['conv_fwd']:.3f}s  fast fwd {t['fast_fwd']:.3f}s  "
                f"ratio {t['fast_fwd'] / t['conv_fwd']:.2f}x (target <= 2) | conv2d fwd+bwd {t['conv_fwdbwd']:.3f}s  "
                f"fast fwd+bwd {t['fast_fwdbwd']:.3f}s  ratio {t['fast_fwdbwd'] / t['conv_fwdbwd']:.2f}x (target <= 3)")
        if args.torchvision:
            line += (f" | torchvision fwd {t['tv_fwd']:.3f}s ({t['tv_fwd'] / t['fast_fwd']:.1f}x fast)  "
                     f"fwd+bwd {t['tv_fwdbwd']:.3f}s ({t['tv_fwdbwd'] / t['fast_fwdbwd']:.1f}x fast)")
        print(line, flush=True)


if __name__ == "__main__":
    main()
