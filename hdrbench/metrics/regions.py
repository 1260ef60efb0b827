"""Scores inside the overexposed regions of the LDR input, stratified by how far a network must reach.

The DCDR-UNet paper claims that a network whose receptive field is smaller than an overexposed region cannot
restore it, and that DCDR-UNet restores such regions "regardless of the size of the region" (abstract, §1, §5).
Whole-image metrics barely see this (a few percent of the pixels are clipped). This module asks it directly:

* :func:`overexposed_mask`: a pixel is overexposed when its 8-bit gray value (BT.601, as OpenCV's
  ``cvtColor(RGB2GRAY)``) is **strictly greater** than ``threshold`` (the paper's Test set2 rule, T_bright = 240,
  §4.1.1); rule ``channel``: when any channel is.
* :func:`find_regions`: its connected components (8-connected, :func:`skimage.measure.label`) and, for every
  overexposed pixel, the Euclidean distance to the nearest well-exposed pixel in input pixels
  (:func:`scipy.ndimage.distance_transform_edt`: 1 next to real content): how far a network must reach to see it.
* Two stratifications of the overexposed pixels: by that distance (:data:`DISTANCE_BINS`, pixels of the input)
  and by the area of the component a pixel belongs to (:data:`SIZE_BINS`, px²). A bin ``[lo, hi)`` holds
  ``lo <= value < hi`` (the last one is open above).
* :func:`region_scores`: per bin, PSNR-L and PSNR-μ over the bin's pixels only (the protocol's preparation and the
  metric's own normalisation, which come from the whole image; the mean square over the bin's values of all three
  channels), the mean absolute log₂ luminance error, the restored-energy ratio (sum of predicted over ground-truth
  luminance in the bin: 1 means the highlight's brightness is back) and, where asked, HDR-VDP-2's detection
  probability map averaged over the bin.

Arrays: ``ldr`` ``(H, W, 3)`` display-referred in ``[0, 1]`` (or uint8); ``pred``/``gt`` linear HDR ``(N, 3, H, W)``
tensors as the protocol prepared them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from hdrbench.defaults import DISTANCE_EDGES, REGION_THRESHOLD, SIZE_EDGES
from hdrbench.errors import HDRBenchError
from hdrbench.metrics.transforms import luminance

#: The paper's Test set2 threshold on the 8-bit gray value (strictly greater counts as overexposed).
T_BRIGHT = REGION_THRESHOLD
#: Mask rules: ``gray`` (BT.601 gray of the 8-bit RGB, the paper's) or ``channel`` (any channel above).
RULES = ("gray", "channel")
#: The per-bin quantities (each a key of a bin's record; ``None`` where undefined).
QUANTITIES = ("psnr-l", "psnr-mu", "log2-error", "energy-ratio", "hdrvdp2-pdet")
#: The quantities for which lower is better (the energy ratio is best at 1).
LOWER_BETTER = ("log2-error", "hdrvdp2-pdet")
#: Luminance below which log₂ errors are floored (relative units of the prepared images).
LOG_FLOOR = 1e-6


def gray_bt601(ldr_rgb8: np.ndarray) -> np.ndarray:
    """``(H, W)`` uint8 gray of an ``(H, W, 3)`` uint8 RGB image, exactly as OpenCV's RGB→gray."""
    from hdrbench.io import opencv

    if ldr_rgb8.dtype != np.uint8 or ldr_rgb8.ndim != 3 or ldr_rgb8.shape[2] != 3:
        raise HDRBenchError(f"the overexposure rule needs an 8-bit RGB image, got {ldr_rgb8.dtype} {ldr_rgb8.shape}")
    cv2 = opencv()
    return cv2.cvtColor(np.ascontiguousarray(ldr_rgb8), cv2.COLOR_RGB2GRAY)


def as_rgb8(ldr: np.ndarray) -> np.ndarray:
    """An LDR image as 8-bit RGB: uint8 as it is, floats in [0, 1] rounded from ×255."""
    if ldr.dtype == np.uint8:
        return ldr
    return np.clip(np.rint(np.asarray(ldr, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)


def overexposed_mask(ldr: np.ndarray, threshold: int = T_BRIGHT, rule: str = "gray") -> np.ndarray:
    """``(H, W)`` bool: the overexposed pixels of ``ldr`` (see the module docstring)."""
    if rule not in RULES:
        raise HDRBenchError(f"overexposure rule '{rule}' is not one of {', '.join(RULES)}")
    if not 0 <= threshold < 255:
        raise HDRBenchError(f"overexposure threshold must be an 8-bit value from 0 to 254, not {threshold}")
    rgb8 = as_rgb8(ldr)
    if rule == "gray":
        return gray_bt601(rgb8) > threshold
    return (rgb8 > threshold).any(axis=-1)


@dataclass(frozen=True)
class Regions:
    """The overexposed regions of one input: ``mask`` (H, W) bool, ``labels`` (H, W) int (0 = well exposed),
    ``distance`` (H, W) float (0 outside the mask), ``area`` (H, W) int (the pixel's component area, 0 outside)."""

    mask: np.ndarray
    labels: np.ndarray
    distance: np.ndarray
    area: np.ndarray

    @property
    def fraction(self) -> float:
        """The overexposed fraction of the image."""
        return float(self.mask.mean())


def find_regions(ldr: np.ndarray, threshold: int = T_BRIGHT, rule: str = "gray") -> Regions:
    """Mask, components (8-connected), distances and component areas of ``ldr``'s overexposed pixels."""
    from scipy.ndimage import distance_transform_edt
    from skimage.measure import label

    mask = overexposed_mask(ldr, threshold, rule)
    labels = label(mask, connectivity=2)
    if mask.all():  # no well-exposed pixel at all: every distance is unbounded
        distance = np.full(mask.shape, np.inf)
    else:
        distance = distance_transform_edt(mask)
    areas = np.bincount(labels.ravel())
    areas[0] = 0
    return Regions(mask, labels, distance, areas[labels])


def bin_labels(edges: Sequence[float], unit: str = "") -> list[str]:
    """``["1–4", "4–16", …, "≥64"]`` for the bins ``[edges[i], edges[i+1])``."""
    def fmt(v: float) -> str:
        return f"{v:g}"

    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        out.append(f"≥{fmt(lo)}{unit}" if math.isinf(hi) else f"{fmt(lo)}–{fmt(hi)}{unit}")
    return out


def bin_masks(values: np.ndarray, mask: np.ndarray, edges: Sequence[float]) -> list[np.ndarray]:
    """One ``(H, W)`` bool per bin: the masked pixels with ``edges[i] <= value < edges[i+1]``."""
    return [mask & (values >= lo) & ((values < hi) | math.isinf(hi)) for lo, hi in zip(edges[:-1], edges[1:])]


def _psnr_in(diff: torch.Tensor, where: torch.Tensor, peak: float) -> float | None:
    """PSNR of the differences ``(3, H, W)`` at the pixels ``where`` ``(H, W)``; None for an empty bin."""
    n = int(where.sum())
    if n == 0:
        return None
    mse = float(diff.double().pow(2)[:, where].mean())
    return math.inf if mse == 0 else 10.0 * math.log10(peak**2 / mse)


def region_scores(pred: torch.Tensor, gt: torch.Tensor, bins: Sequence[np.ndarray], metrics: dict[str, Any],
                  p_map: torch.Tensor | None = None) -> list[dict[str, float | int | None]]:
    """Per bin, ``{"pixels", quantity: value}`` for one prepared pair ``(1, 3, H, W)``.

    ``metrics``: the scorer's metrics by name; PSNR-L and PSNR-μ are taken from there (their ``difference``
    and ``peak``), so the in-region numbers use the same parameters as the whole-image ones. ``p_map``:
    HDR-VDP-2's ``(H, W)`` detection probabilities, or None.
    """
    diffs = {name: (metrics[name].difference(pred, gt)[0], float(metrics[name].peak))
             for name in ("psnr-l", "psnr-mu") if name in metrics and hasattr(metrics[name], "difference")}
    yp = luminance(pred.double())[0, 0]
    yg = luminance(gt.double())[0, 0]
    log_err = (torch.log2(yp.clamp_min(LOG_FLOOR)) - torch.log2(yg.clamp_min(LOG_FLOOR))).abs()
    out = []
    for b in bins:
        where = torch.from_numpy(np.ascontiguousarray(b)).to(pred.device)
        n = int(where.sum())
        rec: dict[str, float | int | None] = {"pixels": n}
        for name, (diff, peak) in diffs.items():
            rec[name] = _psnr_in(diff, where, peak)
        rec["log2-error"] = float(log_err[where].mean()) if n else None
        truth = float(yg[where].sum()) if n else 0.0
        rec["energy-ratio"] = float(yp[where].sum()) / truth if n and truth > 0 else None
        rec["hdrvdp2-pdet"] = float(p_map[where].double().mean()) if n and p_map is not None else None
        out.append(rec)
    return out


@dataclass(frozen=True)
class RegionSpec:
    """How regions are cut: the mask rule and threshold and the lower edges of the two sets of bins (the last bin
    of each is open above)."""

    threshold: int = T_BRIGHT
    rule: str = "gray"
    distance_edges: tuple[float, ...] = DISTANCE_EDGES
    size_edges: tuple[float, ...] = SIZE_EDGES

    def __post_init__(self) -> None:
        for name in ("distance_edges", "size_edges"):
            try:
                edges = tuple(float(e) for e in getattr(self, name))
            except (TypeError, ValueError):
                raise HDRBenchError(f"regions: {name} must be a list of numbers, not {getattr(self, name)!r}") from None
            if not edges or any(b <= a for a, b in zip(edges[:-1], edges[1:])) or edges[0] < 0 or \
                    not all(math.isfinite(e) for e in edges):
                raise HDRBenchError(f"regions: {name} must be increasing finite edges >= 0, not {list(edges)}")
            object.__setattr__(self, name, edges)
        overexposed_mask(np.zeros((1, 1, 3), np.uint8), self.threshold, self.rule)  # checks both

    @property
    def distance_bins(self) -> tuple[float, ...]:
        return (*self.distance_edges, math.inf)

    @property
    def size_bins(self) -> tuple[float, ...]:
        return (*self.size_edges, math.inf)

    def describe(self) -> dict[str, Any]:
        """JSON-able: part of every region score's digest."""
        return {"threshold": self.threshold, "rule": self.rule, "distance_edges": list(self.distance_edges),
                "size_edges": list(self.size_edges)}

    def labels(self) -> dict[str, list[str]]:
        """The bin labels of both strata, in order."""
        return {"by_distance": bin_labels(self.distance_bins, " px"), "by_size": bin_labels(self.size_bins, " px²")}

    def strata(self, regions: Regions) -> dict[str, list[tuple[str, np.ndarray]]]:
        """``{"by_distance": [(label, mask)], "by_size": [(label, mask)]}`` of one input's regions."""
        labels = self.labels()
        return {"by_distance": list(zip(labels["by_distance"],
                                        bin_masks(regions.distance, regions.mask, self.distance_bins))),
                "by_size": list(zip(labels["by_size"],
                                    bin_masks(regions.area.astype(np.float64), regions.mask, self.size_bins)))}
