"""Named tone-mapping operators for Figure 5, the viewer and ``hdrbench plot`` (numpy only, no torch).

Each operator maps linear HDR ``(H, W, 3)`` (scene-referred, >= 0; NaN → 0, negatives → 0) to display-referred
``[0, 1]`` values in two stages: :meth:`ToneMapper.linear` (the operator itself, the output HDR Toolbox's
``*TMO.m`` functions return) and :meth:`ToneMapper.encode` (clip to [0, 1] and the display encoding the operator's
source prescribes). Its global statistics (log-average luminance, maximum, 99th percentile) come from a
*reference* image: :meth:`ToneMapper.statistics`. Figure 5 and the viewer pass the ground truth of the row, so
every panel of a row is mapped by the same curve and equal HDR values are shown equally; a local operator's
adaptation (Reinhard's dodging-and-burning) is still each panel's own.

Sources (see docs/figure5.md for the agreement with HDR Toolbox under GNU Octave):

- ``reinhard-global``, ``reinhard-local``: Reinhard, Stark, Shirley, Ferwerda, "Photographic tone reproduction
  for digital images", SIGGRAPH 2002, eqs. 1-4 (global) and 5-9 (local). Where the paper leaves details open, the
  ``reinhard`` reading follows the authors' own program (``Tonemap.c``, October 2001, as ported in LuminanceHDR
  ``tmo_reinhard02.cpp``): pixel-integrated (erf) Gaussians of unit sum, circular convolution by FFT, and the first
  scale whose centre-surround activity exceeds ε. The ``hdrtoolbox`` reading is HDR Toolbox's
  ``ReinhardTMO.m``/``ReinhardFiltering.m`` (unnormalised sampled Gaussian, shifted by one pixel by its
  ``fftshift``, every scale's threshold divided by the largest scale's s², and the white term kept in eq. 9).
- ``drago``: Drago, Myszkowski, Annen, Chiba, "Adaptive logarithmic mapping for displaying high contrast scenes",
  Eurographics 2003, eq. 4, with the paper's gamma (rec. 709 transfer, γ = 2.2, as HDR Toolbox's ``GammaDrago.m``).
- ``mu-law``: HDRUNet (Chen et al., CVPRW 2021) ``scripts/metrics.py::tanh_norm_mu_tonemap`` as its
  ``scripts/tonemapped_visualization.py`` applies it: ``log(1 + μ·tanh(x / p99(gt))) / log(1 + μ)``, μ = 5000.
- ``p99-gamma``: hdrbench's original Figure 5 mapping, ``clip(x / p99(gt)) ** (1 / 2.2)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

#: BT.709 / sRGB relative-luminance weights (as HDR Toolbox's ``lum.m``).
LUMINANCE = (0.2126, 0.7152, 0.0722)
LOG_DELTA = 1e-6  # δ of the log-average luminance (eq. 1 of Reinhard 2002; HDR Toolbox's logMean.m)
ALPHA1 = 1.0 / (2.0 * math.sqrt(2.0))  # Reinhard 2002: α1 of the centre Gaussian; the surround is 1.6 × wider
Stats = dict[str, float]
ADAPT_CAP = 1e8  # scaled luminance (0.18 = middle grey) above which a pixel's value no longer raises its neighbours'
#: Readings of Reinhard 2002's dodging-and-burning (module docstring): the authors' program, HDR Toolbox's.
READINGS = ("reinhard", "hdrtoolbox")


def clean(hdr: np.ndarray) -> np.ndarray:
    """Float64 copy of linear ``hdr`` with NaN/-inf → 0, +inf → 3.4e38 (float32 max) and negatives → 0."""
    return np.maximum(np.nan_to_num(np.asarray(hdr, dtype=np.float64), nan=0.0, posinf=3.4e38, neginf=0.0), 0.0)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """``(H, W)`` relative luminance of linear ``(H, W, 3)`` RGB, same units."""
    return rgb @ np.asarray(LUMINANCE)


def log_average(lum: np.ndarray) -> float:
    """``exp(mean(log(δ + L)))``, δ = :data:`LOG_DELTA` (eq. 1 of Reinhard 2002)."""
    return float(np.exp(np.mean(np.log(lum + LOG_DELTA))))


def change_luminance(rgb: np.ndarray, old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """``rgb · new / old`` per pixel (0 where ``old`` is 0): colour ratios kept, luminance replaced."""
    ratio = np.divide(new, old, out=np.zeros_like(new), where=old > 0)
    return rgb * ratio[..., None]


def gamma_encode(linear: np.ndarray, gamma: float = 2.2) -> np.ndarray:
    """``clip(linear, 0, 1) ** (1 / gamma)`` (HDR Toolbox's GammaTMO.m at 0 f-stops)."""
    return np.clip(linear, 0.0, 1.0) ** (1.0 / gamma)


def drago_gamma(linear: np.ndarray, gamma: float = 2.2, slope: float = 4.5, start: float = 0.018) -> np.ndarray:
    """Drago et al. 2003's display transfer (rec. 709 form): ``slope·x`` up to ``start``, else
    ``1.099·x^(0.9/gamma) − 0.099``; clipped to [0, 1]."""
    x = np.maximum(linear, 0.0)
    out = np.where(x <= start, x * slope, 1.099 * np.power(x, 0.9 / gamma) - 0.099)
    return np.clip(out, 0.0, 1.0)


# ---------------------------------------------------------------- Reinhard et al. 2002

def reinhard_statistics(ref: np.ndarray, key: float = 0.18) -> Stats:
    """The reference's log-average luminance ``Lwa`` and white point ``L_white`` = its largest scaled luminance."""
    lum = luminance(clean(ref))
    lwa = log_average(lum)
    return {"Lwa": lwa, "Lwhite": max(key * float(lum.max()) / lwa, 1e-12)}


def gaussian_blur(image: np.ndarray, s: float, reading: str) -> np.ndarray:
    """``image`` (H, W) circularly convolved with Reinhard's R(x, y, s) = exp(−r²/(α1 s)²)/(π (α1 s)²).

    ``reinhard``: the kernel integrated over each pixel (erf), unit sum, centred on pixel (0, 0) (the authors'
    program; for an odd side its kernel's far offset wraps to one side only, here it is kept symmetric).
    ``hdrtoolbox``: sampled at ``x = j − W/2`` (j = 1…W) unnormalised, then ``fftshift`` (ReinhardGaussianFilter.m).
    """
    if reading not in READINGS:
        raise ValueError(f"reading must be one of {', '.join(READINGS)}, not {reading!r}")
    h, w = image.shape
    width = ALPHA1 * s
    if reading == "reinhard":
        from scipy.special import erf

        def profile(n: int) -> np.ndarray:
            off = np.arange(n, dtype=np.float64)
            off = np.where(off > n // 2, off - n, off)  # periodic offsets 0, 1, …, -2, -1, symmetric
            return 0.5 * (erf((off + 0.5) / width) - erf((off - 0.5) / width))

        kernel = np.outer(profile(h), profile(w))
        return np.fft.ifft2(np.fft.fft2(image) * np.fft.fft2(kernel)).real
    yy, xx = np.meshgrid(np.arange(1, h + 1) - h / 2, np.arange(1, w + 1) - w / 2, indexing="ij")
    kernel = np.exp(-(xx**2 + yy**2) / width**2) / (math.pi * width**2)
    return np.fft.fftshift(np.fft.ifft2(np.fft.fft2(image) * np.fft.fft2(kernel)).real)


def reinhard_adaptation(scaled: np.ndarray, key: float, phi: float = 8.0, eps: float = 0.05, scales: int = 8,
                        reading: str = "reinhard") -> np.ndarray:
    """Local adaptation luminance ``V1(x, y, s_m)`` of Reinhard 2002 eqs. 5-8 for scaled luminance ``(H, W)``.

    Scales: ``s_i = 43^(i/scales)`` (the authors' code: 1 … 43 px, log-spaced, 1.6003^i for 8 scales; HDR Toolbox:
    ``1.6^i``), i < ``scales``; ``V2(s_i) = V1(s_{i+1})``; activity ``V = (V1 − V2) / (2^φ a / s_i² + V1)``;
    ``s_m`` is the first scale with ``|V| > ε`` (else the largest). The ``hdrtoolbox`` reading divides by
    ``1.6^(2·scales)`` (its loop's last s) at every scale.
    """
    steps = np.arange(scales, dtype=np.float64)
    s = 1.6**steps if reading == "hdrtoolbox" else 43.0 ** (steps / scales)
    v1 = [gaussian_blur(scaled, float(si), reading) for si in s]
    adapt, done = v1[-1].copy(), np.zeros(scaled.shape, bool)
    for i in range(scales - 1):
        denom_s = 1.6**scales if reading == "hdrtoolbox" else s[i]
        activity = np.abs((v1[i] - v1[i + 1]) / (2.0**phi * key / denom_s**2 + v1[i]))
        hit = (activity > eps) & ~done
        adapt[hit] = v1[i][hit]
        done |= hit
    return adapt


def reinhard_linear(hdr: np.ndarray, stats: Stats, key: float = 0.18, local: bool = False, phi: float = 8.0,
                    eps: float = 0.05, reading: str = "reinhard") -> np.ndarray:
    """Reinhard 2002 on linear ``(H, W, 3)`` ``hdr`` with the reference's ``Lwa``/``Lwhite``: ``(H, W, 3)`` linear
    display values (luminance in [0, 1], colour ratios of the input; channels may exceed 1).

    Global: ``Ld = L (1 + L / L_white²) / (1 + L)``, ``L = a Lw / Lwa`` (eqs. 2, 4). Local (eq. 9):
    ``Ld = L / (1 + V1(s_m))``; the ``hdrtoolbox`` reading keeps the numerator ``L (1 + L / L_white²)``. The
    adaptation sees ``L`` capped at :data:`ADAPT_CAP` (an infinite pixel would flood the FFT's rounding error over
    the whole panel).
    """
    rgb = clean(hdr)
    lum = luminance(rgb)
    scaled = key * lum / stats["Lwa"]
    burn = scaled * (1.0 + scaled / stats["Lwhite"] ** 2)
    if not local:
        ld = burn / (1.0 + scaled)
    else:
        adapt = reinhard_adaptation(np.minimum(scaled, ADAPT_CAP), key, phi, eps, reading=reading)
        ld = (burn if reading == "hdrtoolbox" else scaled) / (1.0 + adapt)
    return change_luminance(rgb, lum, ld)


# ---------------------------------------------------------------- Drago et al. 2003

def drago_statistics(ref: np.ndarray) -> Stats:
    """The reference's log-average ``Lwa`` and maximum ``Lmax`` luminance."""
    lum = luminance(clean(ref))
    return {"Lwa": log_average(lum), "Lmax": max(float(lum.max()), 1e-12)}


def drago_linear(hdr: np.ndarray, stats: Stats, ld_max: float = 100.0, bias: float = 0.85) -> np.ndarray:
    """Drago 2003 eq. 4 on world luminance ÷ the reference's ``Lwa`` (÷ ``(1 + b − 0.85)^5``, Drago's exposure):
    ``Ld = (Ld_max / 100) / log10(1 + Lmax) · ln(1 + L) / ln(2 + 8 (L / Lmax)^(ln b / ln 0.5))``."""
    rgb = clean(hdr)
    lum = luminance(rgb)
    lwa = stats["Lwa"] / (1.0 + bias - 0.85) ** 5
    ls, lmax = lum / lwa, stats["Lmax"] / lwa
    c1 = math.log(bias) / math.log(0.5)
    ld = (ld_max / 100.0) / math.log10(1.0 + lmax) * np.log1p(ls) / np.log(2.0 + 8.0 * (ls / lmax) ** c1)
    return change_luminance(rgb, lum, ld)


# ---------------------------------------------------------------- HDRUNet μ-law, p99 + gamma

def p99_statistics(ref: np.ndarray) -> Stats:
    """The reference's 99th percentile over all values (its maximum, or 1, where that is 0)."""
    x = clean(ref)
    return {"p99": float(np.percentile(x, 99)) or float(x.max()) or 1.0}


def mu_law_linear(hdr: np.ndarray, stats: Stats, mu: float = 5000.0) -> np.ndarray:
    """HDRUNet's ``log(1 + μ·tanh(x / p99)) / log(1 + μ)`` per channel: ``[0, ∞) → [0, 1)``."""
    return np.log1p(mu * np.tanh(clean(hdr) / stats["p99"])) / math.log1p(mu)


def scaled_linear(hdr: np.ndarray, stats: Stats) -> np.ndarray:
    """``x / p99`` of the reference."""
    return clean(hdr) / stats["p99"]


# ---------------------------------------------------------------- the registry

@dataclass(frozen=True)
class ToneMapper:
    """A named operator: ``statistics(ref)`` → scalars, ``linear(hdr, stats)`` → (H, W, 3) linear display values,
    ``encode`` → [0, 1] display values; ``caption`` names it and its parameters in one line."""

    name: str
    caption: str
    source: str
    params: dict[str, float | str]
    statistics: Callable[[np.ndarray], Stats]
    linear: Callable[[np.ndarray, Stats], np.ndarray]
    encode: Callable[[np.ndarray], np.ndarray] = field(default=lambda x: np.clip(x, 0.0, 1.0))
    local: bool = False  # the output of a pixel depends on its neighbours (not computable from scalars alone)

    def __call__(self, hdr: np.ndarray, reference: np.ndarray | None = None, stats: Stats | None = None
                 ) -> np.ndarray:
        """Display values ``(H, W, 3)`` float32 in [0, 1] of linear ``hdr``; statistics from ``stats``, else from
        ``reference`` (Figure 5: the row's ground truth), else from ``hdr`` itself."""
        if stats is None:
            stats = self.statistics(hdr if reference is None else reference)
        return self.encode(self.linear(hdr, stats)).astype(np.float32)


TONEMAPPERS: dict[str, ToneMapper] = {t.name: t for t in (
    ToneMapper("p99-gamma", "×1/p99 of the ground truth, clipped, gamma 2.2", "hdrbench (the original Figure 5)",
               {"scale": "1/p99", "gamma": 2.2}, p99_statistics, scaled_linear, gamma_encode),
    ToneMapper("reinhard-global", "Reinhard et al. 2002 global, key a = 0.18, L_white = max; gamma 2.2",
               "Reinhard, Stark, Shirley, Ferwerda, SIGGRAPH 2002, eqs. 1-4",
               {"key": 0.18, "L_white": "max", "gamma": 2.2}, reinhard_statistics, reinhard_linear, gamma_encode),
    ToneMapper("reinhard-local", "Reinhard et al. 2002 local (dodging-and-burning), key a = 0.18, φ = 8, ε = 0.05, "
               "8 scales; gamma 2.2", "Reinhard, Stark, Shirley, Ferwerda, SIGGRAPH 2002, eqs. 1-9 (authors' code)",
               {"key": 0.18, "phi": 8.0, "epsilon": 0.05, "scales": 8, "gamma": 2.2}, reinhard_statistics,
               lambda hdr, st: reinhard_linear(hdr, st, local=True), gamma_encode, local=True),
    ToneMapper("drago", "Drago et al. 2003 adaptive logarithmic, L_d,max = 100 cd/m², bias b = 0.85; Drago's gamma "
               "2.2 (slope 4.5 below 0.018)", "Drago, Myszkowski, Annen, Chiba, Eurographics 2003, eq. 4",
               {"Ld_max": 100.0, "bias": 0.85, "gamma": 2.2}, drago_statistics, drago_linear, drago_gamma),
    ToneMapper("mu-law", "HDRUNet μ-law, μ = 5000, of tanh(x / p99 of the ground truth)",
               "Chen et al., HDRUNet, CVPRW 2021 (scripts/metrics.py, tanh_norm_mu_tonemap)",
               {"mu": 5000.0, "norm": "p99"}, p99_statistics, mu_law_linear),
)}
DEFAULT_TONEMAPPER = "p99-gamma"
#: The clause Figure 5 and the viewer append to a caption: where the statistics come from.
STATISTICS_NOTE = "statistics of each row's ground truth"


def get_tonemapper(name: str) -> ToneMapper:
    """The registered operator ``name``; an unknown name is a one-line error naming the known ones."""
    if name not in TONEMAPPERS:
        from hdrbench.errors import HDRBenchError, closest

        near = closest(name, TONEMAPPERS)
        hint = f"did you mean '{near}'? " if near else ""
        raise HDRBenchError(f"unknown tone mapper '{name}' ({hint}known: {', '.join(TONEMAPPERS)})")
    return TONEMAPPERS[name]


def tonemapper_names(value: str | list[str]) -> list[str]:
    """``[plot] tonemapper`` (a name or a list) as a list of names, each checked (:func:`get_tonemapper`), a name
    given twice kept once (in first-given order)."""
    names = list(dict.fromkeys(str(n) for n in ([value] if isinstance(value, str) else value)))
    for name in names:
        get_tonemapper(name)
    return names


__all__ = ["DEFAULT_TONEMAPPER", "LUMINANCE", "STATISTICS_NOTE", "TONEMAPPERS", "ToneMapper", "drago_gamma",
           "drago_linear", "gamma_encode", "get_tonemapper", "log_average", "luminance", "mu_law_linear",
           "reinhard_adaptation", "reinhard_linear", "tonemapper_names"]
