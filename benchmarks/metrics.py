"""Time each metric on one 2048×1024 linear HDR pair, against the reference implementations.

Times (min over ``--repeats`` runs, after one warm-up, wall clock and process CPU time) every metric
of the ``dcdr`` protocol through :class:`hdrbench.metrics.scoring.Scorer`'s metrics, and prints ratios
(reference time / ours) against scikit-image's ``structural_similarity`` (same settings), the ``lpips``
package (same AlexNet weights) and, when present, the original HDR-VDP-2 under GNU Octave (``octave``
on PATH and ``--hdrvdp-dir`` naming the MATLAB folder). Targets: the five paper metrics ≤ 3 s per pair.

    .venv/bin/python benchmarks/metrics.py                         # CPU, 2048x1024, paper metrics
    .venv/bin/python benchmarks/metrics.py --extras                # + pu21-psnr, pu21-ssim, cvvdp, CRF
    .venv/bin/python benchmarks/metrics.py --size 512x256 --repeats 1
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from hdrbench.metrics.protocols import get_protocol
from hdrbench.registry import METRICS


def make_pair(width: int, height: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A structured [0, 1] linear HDR ground truth and a noisy, slightly blurred prediction ``(1, 3, H, W)``."""
    g = torch.Generator().manual_seed(seed)
    y, x = torch.meshgrid(torch.linspace(0, 1, height), torch.linspace(0, 1, width), indexing="ij")
    base = 0.02 + 0.3 * x + 0.2 * y + 0.6 * torch.exp(-((x - 0.7) ** 2 + (y - 0.3) ** 2) / 0.01)
    texture = 0.05 * torch.sin(60 * x) * torch.cos(40 * y)
    gt = torch.stack([base + texture, 0.9 * base, 0.8 * base - texture]).clamp(1e-4, 1)[None]
    pred = torch.nn.functional.avg_pool2d(gt, 3, 1, 1, count_include_pad=False)
    pred = (pred + 0.01 * torch.randn(pred.shape, generator=g)).clamp(0, 1)
    return pred, gt


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(min wall seconds, min CPU seconds) over ``repeats`` runs after one warm-up."""
    fn()
    walls, cpus = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus)


def skimage_ssim(pred: torch.Tensor, gt: torch.Tensor) -> Callable[[], object]:
    from skimage.metrics import structural_similarity

    p, g = pred[0].permute(1, 2, 0).double().numpy(), gt[0].permute(1, 2, 0).double().numpy()
    return lambda: structural_similarity(g, p, data_range=1.0, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                                         use_sample_covariance=False)


def lpips_package(pred: torch.Tensor, gt: torch.Tensor) -> Callable[[], object]:
    import lpips

    from hdrbench.weights import resolve_backbone

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = lpips.LPIPS(net="alex", pretrained=True, pnet_rand=True, verbose=False).eval()
    slices = {0: 1, 3: 2, 6: 3, 8: 4, 10: 5}
    ref.net.load_state_dict({f"slice{slices[int(k.split('.')[1])]}.{k.split('.', 1)[1]}": v
                             for k, v in resolve_backbone("alexnet").state_dict.items()})
    tm = lambda v: torch.log1p(10 * v) / np.log(11)  # noqa: E731  (the dcdr protocol's LPIPS input)

    def run() -> object:
        with torch.no_grad():
            return ref(tm(pred) * 2 - 1, tm(gt) * 2 - 1)

    return run


def octave_hdrvdp(pred: torch.Tensor, gt: torch.Tensor, folder: str | None) -> Callable[[], object] | None:
    """The original HDR-VDP-2 under Octave, or None when Octave or the folder is missing."""
    if not folder or shutil.which("octave") is None or not Path(folder, "hdrvdp.m").is_file():
        return None
    tmp = Path(tempfile.mkdtemp())
    np.save(tmp / "t.npy", pred[0].permute(1, 2, 0).double().numpy())
    np.save(tmp / "r.npy", gt[0].permute(1, 2, 0).double().numpy())
    for name in ("t", "r"):  # Octave cannot read .npy: plain binary float64, HxWx3 in column-major order
        a = np.load(tmp / f"{name}.npy")
        np.asfortranarray(a).ravel(order="F").tofile(tmp / f"{name}.bin")
    h, w = pred.shape[-2:]
    script = (f"addpath('{folder}'); f=fopen('{tmp}/t.bin'); T=reshape(fread(f,Inf,'double'),[{h} {w} 3]); fclose(f);"
              f"f=fopen('{tmp}/r.bin'); R=reshape(fread(f,Inf,'double'),[{h} {w} 3]); fclose(f);"
              "tic; res=hdrvdp(T,R,'rgb-native',24,{}); printf('%.6f\\n', toc);")
    return lambda: subprocess.run(["octave", "--no-gui", "--quiet", "--eval", script], check=True,
                                  capture_output=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="2048x1024", help="WIDTHxHEIGHT")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--extras", action="store_true", help="also pu21-psnr, pu21-ssim, cvvdp and CRF correction")
    ap.add_argument("--hdrvdp-dir", default=None, help="folder of the original HDR-VDP-2 (hdrvdp.m) for Octave")
    ap.add_argument("--metrics", default=None, help="comma-separated subset (default: the dcdr protocol's five)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    width, height = (int(v) for v in args.size.lower().split("x"))
    pred, gt = make_pair(width, height)
    proto = get_protocol("dcdr")
    pred, gt = proto.prepare(pred, gt)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{width}x{height} linear HDR pair, CPU, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} cores, load average {load:.1f}; min of {args.repeats} runs after a warm-up")
    names = args.metrics.split(",") if args.metrics else list(proto.metrics)
    names += ["pu21-psnr", "pu21-ssim", "cvvdp"] if args.extras else []
    rows: dict[str, tuple[float, float]] = {}
    for name in names:
        if name not in METRICS:
            print(f"  {name:<10} not registered (skipped)")
            continue
        metric = proto.create(name)
        rows[name] = timed(lambda m=metric: m(pred, gt), args.repeats)
    if args.extras:
        rows["crf"] = timed(lambda: proto.correct(pred, gt), args.repeats)
    refs = {"ssim": ("scikit-image structural_similarity", skimage_ssim(pred, gt)),
            "lpips": ("lpips package (AlexNet, same weights)", lpips_package(pred, gt))}
    octave = octave_hdrvdp(pred, gt, args.hdrvdp_dir)
    if octave is not None:
        refs["hdrvdp2"] = ("HDR-VDP-2.2 under GNU Octave", octave)
    print(f"  {'metric':<10} {'wall s':>8} {'cpu s':>8}   reference")
    for name, (wall, cpu) in rows.items():
        line = f"  {name:<10} {wall:8.3f} {cpu:8.3f}"
        if name in refs:
            label, fn = refs[name]
            rwall, _ = timed(fn, max(1, min(args.repeats, 2)))
            line += f"   {label}: {rwall:.3f} s -> ours {rwall / wall:.2f}x faster"
        print(line)
    if "hdrvdp2" in rows and octave is None:
        print("  (original HDR-VDP-2 under Octave: absent; pass --hdrvdp-dir with octave installed to compare)")
    paper = [n for n in proto.metrics if n in rows]
    total = sum(rows[n][0] for n in paper)
    print(f"  paper metrics ({', '.join(paper)}): {total:.3f} s per pair (target <= 3 s)")


if __name__ == "__main__":
    main()
