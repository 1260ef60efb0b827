"""Make ``docs/demo_pairs.png``: demo test LDR inputs beside their tone-mapped HDR ground truth.

Run: ``.venv/bin/python docs/make_demo_figure.py [--out docs/demo_pairs.png] [--count 8]``.
Each row: the 8-bit LDR input (clipped pixels outlined in red), and the linear HDR ground truth shown with
two tone maps: an exposure 4 stops darker than the LDR (what the LDR lost in the highlights becomes
visible) and a global log tone map of the full range.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from hdrbench.datasets import create_dataset  # noqa: E402


def log_tonemap(hdr: np.ndarray) -> np.ndarray:
    """Global log tone map of linear HDR to display ``[0, 1]`` (1e-4 of the peak → 0)."""
    peak = float(hdr.max()) or 1.0
    return np.clip(np.log10(np.maximum(hdr / peak, 1e-4)) / 4.0 + 1.0, 0.0, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).with_name("demo_pairs.png")))
    parser.add_argument("--count", type=int, default=6)
    args = parser.parse_args()

    ds = create_dataset("demo")
    pairs = ds.pairs("test")[: args.count]
    headroom = float(ds.options["hdr_headroom"])
    fig, axes = plt.subplots(len(pairs), 3, figsize=(7.5, 2.5 * len(pairs)), squeeze=False)
    for row, pair in zip(axes, pairs):
        ldr, hdr = ds.load_pair(pair)
        clipped = ldr.max(axis=-1) >= 1.0
        row[0].imshow(ldr)
        row[0].contour(clipped, levels=[0.5], colors="red", linewidths=0.6)
        row[0].set_title(f"{pair.id}: LDR, {100 * clipped.mean():.1f}% clipped", fontsize=7)
        dark = np.clip(hdr * headroom / 16.0, 0.0, 1.0) ** (1 / 2.2)
        row[1].imshow(dark)
        row[1].set_title("HDR ground truth, -4 EV", fontsize=7)
        row[2].imshow(log_tonemap(hdr))
        row[2].set_title(f"HDR, log tone map (peak/LDR clip = {hdr.max() * headroom:.0f})", fontsize=7)
        for ax in row:
            ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(args.out, dpi=80)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
