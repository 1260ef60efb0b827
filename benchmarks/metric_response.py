"""How every metric of every protocol responds to known distortions of real HDR images.

Ground truth: the ``demo`` dataset's test views (real CC0 HDR panoramas, 16-bit linear [0, 1], 1.0 = 6 stops
above the LDR's clipping point). Each ladder distorts the ground truth with growing strength:

* ``noise``: additive Gaussian noise, sigma = strength x max(gt) (negatives set to 0);
* ``blur``: Gaussian blur, sigma in pixels;
* ``exposure``: darker by ``strength`` stops (``gt * 2**-strength``; brighter would be clipped by ``dcdr``);
* ``highlights``: every channel clipped at ``strength`` stops below the ground truth's maximum: the highlights
  lose their detail over a growing area (the mean share of pixels affected is printed with the strengths);
* ``cast``: constant colour cast, R x (1 + strength), B x (1 - strength);

and two single points: ``ldr`` (the dataset's own 8-bit camera LDR, linearised with the camera's inverse
response and divided by the headroom: what a method that does nothing outputs) and ``white`` (a constant
image at the ground truth's maximum). Scores are means over the views. Also: HDR-VDP-2 at several input
scales (cd/m^2 for a value of 1.0) and with ``rgb_display = led-lcd``.

    .venv/bin/python benchmarks/metric_response.py                      # docs/metric_response.png + tables
    .venv/bin/python benchmarks/metric_response.py --size 96 --views 4  # quicker
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from hdrbench.datasets.camera import CameraResponse
from hdrbench.io import read_hdr, read_ldr
from hdrbench.metrics.protocols import get_protocol
from hdrbench.metrics.scoring import Scorer
from hdrbench.registry import DATASETS

PROTOCOLS = ("dcdr", "ntire2021", "sihdr")
LADDERS: dict[str, tuple[float, ...]] = {
    "noise": (0.001, 0.003, 0.01, 0.03, 0.1),
    "blur": (0.5, 1.0, 2.0, 4.0, 8.0),
    "exposure": (0.1, 0.25, 0.5, 1.0, 2.0),
    "highlights": (0.5, 1.0, 2.0, 3.0, 4.0),
    "cast": (0.02, 0.05, 0.1, 0.2, 0.4),
}
UNITS = {"noise": "sigma / max(gt)", "blur": "sigma (px)", "exposure": "stops darker",
         "highlights": "stops below max(gt)", "cast": "R x (1+c), B x (1-c)"}
HDRVDP_SCALES = (1.0, 10.0, 100.0, 1000.0, 10000.0)


def load_views(size: int, views: int, cache: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Ground truth and linearised camera LDR of the demo test views, each ``(N, 3, size, size)`` float32 [0, 1]."""
    ds = DATASETS.get("demo")(None, size=size, test_views=views, cache_dir=str(cache))
    inverse = CameraResponse(ds.camera.response, ds.camera.gamma).inverse
    headroom = float(ds.options["hdr_headroom"])
    gts, ldrs = [], []
    for pair in ds.pairs("test"):
        gts.append(read_hdr(pair.hdr))
        ldrs.append(inverse(read_ldr(pair.ldr)).astype(np.float32) / headroom)
    as_t = lambda xs: torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).contiguous()  # noqa: E731
    return as_t(gts), as_t(ldrs)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of ``(N, C, H, W)``, radius 3 sigma, reflect padding."""
    r = max(1, math.ceil(3 * sigma))
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=x.dtype) / sigma) ** 2)
    k = k / k.sum()
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def distort(gt: torch.Tensor, ladder: str, strength: float, seed: int = 0) -> torch.Tensor:
    """``gt`` ``(N, 3, H, W)`` linear, distorted by ``ladder`` at ``strength`` (see the module docstring)."""
    peak = gt.flatten(1).amax(dim=1).view(-1, 1, 1, 1)
    if ladder == "noise":
        noise = torch.randn(gt.shape, generator=torch.Generator().manual_seed(seed))
        return (gt + strength * peak * noise).clamp(min=0)
    if ladder == "blur":
        return gaussian_blur(gt, strength)
    if ladder == "exposure":
        return gt * 2.0**-strength
    if ladder == "highlights":
        return torch.minimum(gt, peak * 2.0**-strength)
    if ladder == "cast":
        return gt * torch.tensor([1 + strength, 1.0, 1 - strength]).view(1, 3, 1, 1)
    raise ValueError(ladder)


def conditions(gt: torch.Tensor, ldr: torch.Tensor) -> list[tuple[str, float, torch.Tensor]]:
    """Every (ladder, strength, prediction) to score."""
    out = [(name, s, distort(gt, name, s)) for name, steps in LADDERS.items() for s in steps]
    out.append(("ldr", 0.0, ldr))
    out.append(("white", 0.0, gt.flatten(1).amax(dim=1).view(-1, 1, 1, 1).expand_as(gt).clone()))
    return out


def score_all(conds, gt: torch.Tensor, crf: bool) -> dict[tuple[str, str], list[float]]:
    """``{(protocol, column): [mean score per condition]}``."""
    out: dict[tuple[str, str], list[float]] = {}
    for proto in PROTOCOLS:
        scorer = Scorer(proto, list(get_protocol(proto).metrics), crf=crf, device="cpu")
        for _, _, pred in conds:
            for col, v in scorer.score(pred, gt).items():
                out.setdefault((proto, col), []).append(float(v.double().mean()))
    return out


def hdrvdp_q(conds, gt: torch.Tensor, **overrides) -> list[float]:
    """Mean HDR-VDP-2 Q per condition under the ``dcdr`` protocol with ``overrides`` (scale, rgb_display)."""
    scorer = Scorer("dcdr", ["hdrvdp2"], {"hdrvdp2": overrides}, crf=False, device="cpu")
    return [float(scorer.score(pred, gt)["hdrvdp2"].mean()) for _, _, pred in conds]


def ladder_verdict(values: list[float], lower_better: bool) -> str:
    """``monotone``, ``NOT monotone`` (some step improves the score) and/or ``saturates`` (the last step moves the
    score by < 5 % of the whole ladder's change), ``flat`` if the whole ladder changes < 1e-3 of its level."""
    v = np.asarray(values)
    if not np.isfinite(v).all():
        return "infinite at " + ", ".join(str(i + 1) for i in np.flatnonzero(~np.isfinite(v)))
    worse = -np.diff(v) if not lower_better else np.diff(v)  # > 0: the score gets worse with strength
    total = abs(v[-1] - v[0])
    if total < 1e-3 * max(abs(v[0]), 1e-9):
        return "flat"
    tags = ["monotone" if (worse >= -1e-9 * max(abs(v).max(), 1)).all() else "NOT monotone"]
    if abs(v[-1] - v[-2]) < 0.05 * total:
        tags.append("saturates")
    return ", ".join(tags)


def plot(path: Path, conds, scores, vdp_scales: dict[float, list[float]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(k, v) for k, v in scores.items()] + [(("dcdr", f"hdrvdp2 @ {s:g} cd/m²"), v)
                                                     for s, v in vdp_scales.items() if s != 1.0]
    cols = 5
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    names = list(LADDERS)
    for ax, ((proto, col), values) in zip(axes.flat, panels):
        for i, name in enumerate(names):
            idx = [j for j, c in enumerate(conds) if c[0] == name]
            ax.plot(range(1, len(idx) + 1), [values[j] for j in idx], marker="o", ms=3, label=name, color=f"C{i}")
        for j, (name, _, _) in enumerate(conds):
            if name in ("ldr", "white"):
                ax.axhline(values[j], color="k", ls="--" if name == "ldr" else ":", lw=1,
                           label="camera LDR" if name == "ldr" else "white image")
        label = "hdrvdp2 @ 1 cd/m²" if col == "hdrvdp2" else col
        ax.set_title(f"{label} ({proto})", fontsize=9)
        ax.set_xticks(range(1, 6))
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=6, loc="lower left")
    fig.supxlabel("distortion step (strengths in the table)", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=128, help="view size in pixels (default 128)")
    ap.add_argument("--views", type=int, default=1, help="views per test scene (8 scenes; default 1)")
    ap.add_argument("--crf", action="store_true", help="also score sihdr's CRF-corrected columns (slower)")
    ap.add_argument("--out", type=Path, default=Path("docs/metric_response.png"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hdrbench_response_") as tmp:
        gt, ldr = load_views(args.size, args.views, Path(tmp))
    conds = conditions(gt, ldr)
    scores = score_all(conds, gt, args.crf)
    vdp = {s: hdrvdp_q(conds, gt, scale=s) for s in HDRVDP_SCALES}
    led = hdrvdp_q(conds, gt, scale=1.0, rgb_display="led-lcd")
    plot(args.out, conds, scores, vdp)

    print(f"{len(gt)} demo test views, {args.size}x{args.size}; {len(conds)} conditions; "
          f"{time.perf_counter() - start:.0f} s\n")
    print("| ladder | strengths |\n|---|---|")
    for name, steps in LADDERS.items():
        extra = ""
        if name == "highlights":
            peak = gt.flatten(1).amax(dim=1).view(-1, 1, 1)
            area = [float((gt.amax(dim=1) > peak * 2.0**-s).float().mean()) * 100 for s in steps]
            extra = "; pixels affected: " + ", ".join(f"{a:.1f} %" for a in area)
        print(f"| {name} | {', '.join(f'{s:g}' for s in steps)} ({UNITS[name]}{extra}) |")
    from hdrbench.registry import METRICS

    print("\n| protocol | metric | " + " | ".join(LADDERS) + " | camera LDR | white |")
    print("|---|---|" + "---|" * (len(LADDERS) + 2))
    for (proto, col), values in scores.items():
        lower = METRICS.get(col.split("@")[0]).lower_better
        cells = []
        for name in LADDERS:
            v = [values[j] for j, c in enumerate(conds) if c[0] == name]
            cells.append(f"{v[0]:.4g} → {v[-1]:.4g} ({ladder_verdict(v, lower)})")
        single = [values[j] for j, c in enumerate(conds) if c[0] in ("ldr", "white")]
        print(f"| {proto} | {col} | " + " | ".join(cells) + f" | {single[0]:.4g} | {single[1]:.4g} |")

    print("\nHDR-VDP-2 Q (dcdr protocol) by input scale (cd/m² for 1.0): weakest → strongest step per ladder")
    print("(margin: Q of the strongest step of the closest ladder minus Q of the white image)")
    print("\n| scale | " + " | ".join(LADDERS) + " | camera LDR | white | margin |")
    print("|---|" + "---|" * (len(LADDERS) + 3))
    for s, values in vdp.items():
        cells = []
        for name in LADDERS:
            v = [values[j] for j, c in enumerate(conds) if c[0] == name]
            cells.append(f"{v[0]:.2f} → {v[-1]:.2f} ({ladder_verdict(v, False)})")
        margin = min(values[j] for j, c in enumerate(conds) if c[1] == LADDERS.get(c[0], (None,))[-1]) - values[-1]
        print(f"| {s:g} | " + " | ".join(cells) + f" | {values[-2]:.2f} | {values[-1]:.2f} | {margin:.2f} |")
    base = vdp[1.0]
    diff = np.asarray(led) - np.asarray(base)
    print(f"\nrgb_display = led-lcd vs ccfl-lcd (scale 1): ΔQ mean {diff.mean():+.3f}, "
          f"max |ΔQ| {np.abs(diff).max():.3f} over the {len(conds)} conditions; camera LDR "
          f"{base[-2]:.2f} → {led[-2]:.2f}, white {base[-1]:.2f} → {led[-1]:.2f}")
    print(f"figure: {args.out}")


if __name__ == "__main__":
    main()
