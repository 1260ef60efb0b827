"""Checks on a (prediction, ground truth) pair before scoring: shapes, NaN/inf, negatives, black references,
and predictions in other units than their ground truth.

Used by ``hdrbench score`` and by the evaluation runner, so bad input always fails the same way: one
:class:`HDRBenchError` line naming the file and the fix, never silently wrong numbers. What scores but
probably means nothing (a constant prediction, one :data:`SCALE_LIMIT` times off the ground truth's scale)
is one line in ``notes``: :func:`scale_note`.
"""

from __future__ import annotations

import numpy as np
import torch

from hdrbench.errors import HDRBenchError
from hdrbench.metrics.transforms import LUMINANCE_WEIGHTS

CLAMP_POLICY = "NaN -> 0, -inf -> 0, +inf -> the ground truth's maximum, negatives -> 0"
#: Ground-truth negatives no lower than ``-GT_NEGATIVE_EPS * max(1, max(gt))`` are float noise of renderers and
#: EXR writers (e.g. -3e-6): always clipped to 0, with a counted note.
GT_NEGATIVE_EPS = 1e-4


#: A prediction whose mid-tone median luminance is more than this factor above or below the ground truth's is
#: noted as being in other units (3 stops: far beyond what a tone difference of a working method gives).
SCALE_LIMIT = 8.0
#: The ground truth's mid-tones: pixels whose luminance lies between these quantiles (and is above 0); the
#: brightest 10 % are left out, they are where an LDR input clips and methods legitimately differ.
MIDTONE_QUANTILES = (0.10, 0.90)
#: :func:`scale_note` reads at most this many pixels (an even stride over the image).
SCALE_SAMPLE = 1 << 18


def _luminance(x: torch.Tensor) -> torch.Tensor:
    """Flat BT.709 luminance of ``(H, W, 3)`` or ``(N, 3, H, W)`` linear RGB, of at most about ``SCALE_SAMPLE``
    pixels (an even stride)."""
    w = torch.tensor(LUMINANCE_WEIGHTS, dtype=x.dtype, device=x.device)
    rgb = x.reshape(-1, 3) if x.ndim == 3 else x.flatten(2).transpose(1, 2).reshape(-1, 3)
    return rgb[:: max(1, rgb.shape[0] // SCALE_SAMPLE)] @ w


def scale_note(pred: torch.Tensor, gt: torch.Tensor, pred_name: str = "prediction") -> str | None:
    """One line when a validated prediction scores but probably means nothing, else None.

    The rule: (1) a constant prediction (all zeros, or one value everywhere) against a ground truth that is
    not constant; (2) otherwise the ratio ``r = median(Y_pred) / median(Y_gt)`` of BT.709 luminance over the
    ground truth's mid-tones (pixels with ``Y_gt > 0`` between its 10th and 90th percentile,
    :data:`MIDTONE_QUANTILES`; all ``Y_gt > 0`` when that leaves none) outside ``[1/8, 8]``
    (:data:`SCALE_LIMIT`): the two are in different units (e.g. [0, 1] against [0, 65535], or scene- against
    display-referred), and every metric then measures the units, not the reconstruction.
    """
    p_low, p_high = (float(v) for v in torch.aminmax(pred))
    g_low, g_high = (float(v) for v in torch.aminmax(gt))
    if p_low == p_high and g_low != g_high:
        what = "all zeros (black)" if p_high == 0 else f"constant (every value {p_high:.4g})"
        return (f"{pred_name}: the predicted image is {what} while the ground truth is not: its scores say "
                "nothing about reconstruction; check the method's output (checkpoint, input range)")
    yp, yg = _luminance(pred), _luminance(gt)
    lit = yg > 0
    if not lit.any():  # the sampled pixels are all black: nothing to compare
        return None
    lo, hi = torch.quantile(yg[lit].double(), torch.tensor(MIDTONE_QUANTILES, dtype=torch.float64,
                                                                 device=yg.device)).tolist()
    mid = lit & (yg >= lo) & (yg <= hi)
    if not mid.any():
        mid = lit
    mp, mg = float(yp[mid].median()), float(yg[mid].median())
    ratio = mp / mg
    if 1.0 / SCALE_LIMIT <= ratio <= SCALE_LIMIT:
        return None
    return (f"{pred_name}: predicted values are {ratio:.3g}{SCALE_WORDS} (median luminance {mp:.3g} vs "
            f"{mg:.3g} over the ground truth's mid-tones; outside [1/{SCALE_LIMIT:g}, {SCALE_LIMIT:g}]): the two "
            "are probably in different units and the scores measure that, not the reconstruction; bring the "
            "prediction to the ground truth's units (docs/scoring.md)")


#: Words of :func:`scale_note`'s units line (:func:`is_scale_note` tells it from the other notes).
SCALE_WORDS = "x the ground truth's scale"


def is_scale_note(line: str) -> bool:
    """True for :func:`scale_note`'s "other units" line (not its constant-prediction line, nor a repair note)."""
    return SCALE_WORDS in line


def _as_tensor(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    return x if isinstance(x, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(x))


def _finite_range(x: torch.Tensor) -> tuple[float | None, float | None]:
    """``(min, max)`` of ``x``, or ``(None, None)`` when it holds NaN or inf (one pass: a NaN makes both NaN,
    an inf makes one of them infinite)."""
    low, high = (float(v) for v in torch.aminmax(x))
    return (low, high) if np.isfinite(low) and np.isfinite(high) else (None, None)


def _clip_gt_negatives(g: torch.Tensor, gt_name: str, clamp_gt: bool, notes: list[str] | None) -> torch.Tensor:
    neg = g < 0
    n = int(neg.sum())
    if not n:
        return g
    low = float(g.min())
    tiny = low >= -GT_NEGATIVE_EPS * max(1.0, float(g.max()))
    if not (tiny or clamp_gt):
        raise HDRBenchError(f"ground truth has {n} negative values (min {low:.3g}); linear HDR must be >= 0: clip "
                            "it when preparing the data, or score with 'hdrbench score --clamp-gt' (clamp_gt=True) "
                            "to clip them to 0",
                            gt_name)
    if notes is not None:
        notes.append(f"{gt_name}: ground truth: clipped {n} negative values (min {low:.3g}) to 0")
    return g.clamp_min(0.0)


def check_pair(pred: np.ndarray | torch.Tensor, gt: np.ndarray | torch.Tensor, pred_name: str = "prediction",
               gt_name: str = "ground truth", clamp: bool = False, clamp_gt: bool = False,
               notes: list[str] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate and return ``(pred, gt)`` as float32 tensors of the input layout (``(H, W, 3)`` or ``(N, 3, H, W)``).

    Both are linear HDR. Errors: different shapes; a ground truth with NaN/inf or negative values (tiny
    negatives above ``-GT_NEGATIVE_EPS`` relative are clipped; ``clamp_gt`` clips all), or all zeros; a
    prediction with NaN/inf or negative values unless ``clamp``, which repairs it as :data:`CLAMP_POLICY`
    says. Every repair appends one counted line to ``notes`` (when given), and so does a prediction that
    scores but probably means nothing: constant, or over 8x off the ground truth's scale (:func:`scale_note`).
    """
    p, g = _as_tensor(pred).float(), _as_tensor(gt).float()
    if p.shape != g.shape:
        raise HDRBenchError(f"prediction {tuple(p.shape)} and ground truth {tuple(g.shape)} ({gt_name}) differ in "
                            "shape; predictions must have the ground truth's size", pred_name)
    g_low, g_high = _finite_range(g)
    if g_low is None:
        raise HDRBenchError(f"ground truth has {int((~torch.isfinite(g)).sum())} NaN/inf values; fix or exclude "
                            "this image", gt_name)
    if g_low < 0:
        g = _clip_gt_negatives(g, gt_name, clamp_gt, notes)
    if not g_high > 0:
        raise HDRBenchError("ground truth is all zeros: no metric is defined against a black image; exclude it",
                            gt_name)
    p_low, _ = _finite_range(p)
    if p_low is not None and p_low >= 0:  # the common case: one pass over each image, nothing to repair
        _note_scale(p, g, pred_name, notes)
        return p, g
    bad = ~torch.isfinite(p)
    neg = p < 0
    n_bad, n_neg = int(bad.sum()), int(neg.sum())
    if n_bad or n_neg:
        what = []
        if n_bad:
            what.append(f"{n_bad} NaN/inf")
        if n_neg:
            what.append(f"{n_neg} negative (min {float(p[~bad].min()):.3g})")
        if not clamp:
            raise HDRBenchError(f"prediction has {' and '.join(what)} values; fix the method, or score with "
                                f"'hdrbench score --clamp' ({CLAMP_POLICY})", pred_name)
        p = torch.nan_to_num(p, nan=0.0, posinf=float(g.max()), neginf=0.0).clamp_min(0.0)
        if notes is not None:
            notes.append(f"{pred_name}: clamping repaired {' and '.join(what)} values ({CLAMP_POLICY})")
    _note_scale(p, g, pred_name, notes)
    return p, g


def _note_scale(p: torch.Tensor, g: torch.Tensor, pred_name: str, notes: list[str] | None) -> None:
    """Append :func:`scale_note`'s line (if any) to ``notes`` (when given)."""
    if notes is not None and (line := scale_note(p, g, pred_name)):
        notes.append(line)
