"""SSIM in torch (batched, CPU or CUDA), equal to scikit-image's or MATLAB's ``ssim``; SSIM and PU21-SSIM metrics.

:func:`ssim` has two border conventions (``border``):

- ``crop`` (scikit-image): ``structural_similarity(x, y, data_range=R, channel_axis=-1, ...)`` for the same
  settings (tested to 1e-4): local statistics under a Gaussian window (σ = 1.5, truncated at 3.5σ → 11 taps,
  ``gaussian_weights=True``) or a uniform ``win_size`` window; the map is averaged over the pixels whose
  window lies inside the image (``(win-1)/2`` pixels cropped on each side) and over channels. piq's ``ssim``
  with ``downsample=False`` computes the same (11-tap window, 'valid' filtering).
- ``replicate`` (MATLAB Image Processing Toolbox ``ssim.m``): Gaussian window of radius ``ceil(3σ)``
  (``fspecial('gaussian', 2·ceil(3σ)+1, σ)``), statistics by ``imfilter(..., 'conv', 'replicate')``, so the
  map has the image's size, and ``ssimval = mean(ssimmap(:))`` over all of it.

Both use K1 = 0.01, K2 = 0.03, C3 = C2/2 (Wang et al.'s eq. 13) and population covariance unless
``use_sample_covariance`` (scikit-image's option).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from hdrbench.errors import HDRBenchError
from hdrbench.metrics.base import Metric
from hdrbench.metrics.transforms import ANCHORS, NORMS, absolute_from_params, encode_domain, luminance, pu21_encode

TRUNCATE = 3.5  # scikit-image / scipy.ndimage.gaussian_filter truncation, in σ
#: Border conventions of :func:`ssim`: scikit-image's crop, MATLAB's replicate padding with the full map.
BORDERS = ("crop", "replicate")


def ssim_window(gaussian: bool = True, sigma: float = 1.5, win_size: int = 7,
                radius: int | None = None) -> torch.Tensor:
    """The separable 1-D window (float64, sums to 1): Gaussian of ``radius`` (default scikit-image's
    ``int(3.5σ+0.5)``) on each side, or uniform ``win_size``."""
    if gaussian:
        r = int(TRUNCATE * sigma + 0.5) if radius is None else int(radius)
        w = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=torch.float64) / sigma) ** 2)
    else:
        if win_size < 3 or win_size % 2 == 0:
            raise HDRBenchError(f"SSIM win_size must be odd and >= 3 (got {win_size})")
        w = torch.ones(win_size, dtype=torch.float64)
    return w / w.sum()


def _filter_valid(t: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Separable correlation of the last two axes of ``t`` with ``w``, 'valid' part only (no padding).

    Written as in-place weighted sums of shifted views: faster on CPU than a depthwise ``conv2d``.
    """
    k = w.numel()
    ws = [float(v) for v in w]
    width = t.shape[-1] - k + 1
    h = t[..., 0:width] * ws[0]
    for i in range(1, k):
        h.add_(t[..., i:i + width], alpha=ws[i])
    height = t.shape[-2] - k + 1
    out = h[..., 0:height, :] * ws[0]
    for i in range(1, k):
        out.add_(h[..., i:i + height, :], alpha=ws[i])
    return out


def ssim(x: torch.Tensor, y: torch.Tensor, data_range: float, *, gaussian: bool = True, sigma: float = 1.5,
         win_size: int = 7, use_sample_covariance: bool = False, k1: float = 0.01, k2: float = 0.03,
         border: str = "crop") -> torch.Tensor:
    """Mean SSIM per image ``(N,)`` (float64) of ``x``, ``y`` ``(N, C, H, W)``, averaged over channels.

    ``border='crop'``: scikit-image with ``gaussian_weights=gaussian``, ``sigma``, ``win_size`` (uniform window
    only), ``use_sample_covariance``, ``data_range``, ``channel_axis``. ``border='replicate'``: MATLAB's
    ``ssim(x, y, 'DynamicRange', data_range, 'Radius', sigma)`` per channel (radius ``ceil(3σ)``, replicate
    padding, mean of the full map). Computed in float32 on values centred on the reference's mean (variances
    are shift-invariant), which keeps it within 1e-5 of float64.
    """
    if border not in BORDERS:
        raise HDRBenchError(f"SSIM border must be one of {', '.join(BORDERS)} (got '{border}')")
    if border == "replicate":
        r = math.ceil(3 * sigma) if gaussian else (win_size - 1) // 2
        w = ssim_window(gaussian, sigma, win_size, radius=r).to(x.device)
        x, y = (F.pad(v, (r, r, r, r), mode="replicate") for v in (x, y))
    else:
        w = ssim_window(gaussian, sigma, win_size).to(x.device)
    k = w.numel()
    if x.shape[-1] < k or x.shape[-2] < k:
        raise HDRBenchError(f"SSIM needs images of at least {k}×{k} pixels (got {x.shape[-1]}×{x.shape[-2]})")
    m = y.float().mean(dim=(2, 3), keepdim=True)
    cov_norm = k * k / (k * k - 1) if use_sample_covariance else 1.0
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    n_rows = x.shape[-2] - k + 1  # rows of the valid SSIM map
    # row bands of the map (each reads k - 1 extra input rows) keep the ~20 passes of the filter in cache
    step = max(8, (1 << 16) // max(1, x.shape[0] * x.shape[1] * x.shape[-1]))
    total = torch.zeros(x.shape[0], dtype=torch.float64, device=x.device)
    for r0 in range(0, n_rows, step):
        rows = slice(r0, min(r0 + step, n_rows) + k - 1)
        xc, yc = x[..., rows, :].float() - m, y[..., rows, :].float() - m
        fx, fy, fsq, fxy = _filter_valid(torch.stack([xc, yc, xc * xc + yc * yc, xc * yc]), w)
        ux, uy = fx + m, fy + m
        var_sum = cov_norm * (fsq - fx * fx - fy * fy)
        cov = cov_norm * (fxy - fx * fy)
        s = (2 * ux * uy + c1) * (2 * cov + c2) / ((ux * ux + uy * uy + c1) * (var_sum + c2))
        total += s.sum(dim=(1, 2, 3), dtype=torch.float64)
    return total / (x.shape[1] * n_rows * (x.shape[-1] - k + 1))


def _ssim_kwargs(p: dict[str, Any]) -> dict[str, Any]:
    return {"gaussian": bool(p["gaussian"]), "sigma": float(p["sigma"]), "win_size": int(p["win_size"]),
            "use_sample_covariance": bool(p["use_sample_covariance"]), "border": str(p["border"])}


_SSIM_SETTINGS = {"gaussian": True, "sigma": 1.5, "win_size": 7, "use_sample_covariance": False, "border": "crop"}


class SSIM(Metric):
    """SSIM on RGB (mean over channels) of the normalised linear images, or of their μ-law encoding.

    ``domain``: ``linear`` (values / ``norm`` reference) or ``mu-law`` (``log(1+μx)/log(1+μ)`` of them);
    ``data_range`` is 1 in both. Window settings and ``border`` (``crop``: scikit-image, the default;
    ``replicate``: MATLAB): see :func:`ssim`.
    """

    label = "SSIM"
    decimals = 4
    lower_better: ClassVar[bool] = False
    domain: ClassVar[str] = "linear"
    default_params: ClassVar[dict[str, Any]] = {"domain": "linear", "mu": 10.0, "norm": "none", "data_range": 1.0,
                                                **_SSIM_SETTINGS}

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.check_choice("domain", ("linear", "mu-law"))
        self.check_choice("norm", NORMS)
        self.check_choice("border", BORDERS)
        self.domain = self.params["domain"]
        ssim_window(bool(self.params["gaussian"]), float(self.params["sigma"]), int(self.params["win_size"]))

    def compute(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        pred, gt = encode_domain(pred, gt, self.params)
        return ssim(pred, gt, float(self.params["data_range"]), **_ssim_kwargs(self.params))


class PU21SSIM(Metric):
    """SSIM on PU21-encoded luminance, data range 256, as gfxdisp/pu21 ``pu21_metric(…, 'SSIM')``.

    Absolute luminance as in ``pu21-psnr`` (``anchor``, ``peak_luminance``, ``scale``); BT.709 luminance
    (``get_luminance``), PU21 ``banding_glare``, then MATLAB's ``ssim(T, R, 'DynamicRange', 256)``:
    ``border='replicate'`` (the default). ``border='crop'`` gives the earlier scikit-image convention.
    """

    lower_better: ClassVar[bool] = False
    domain: ClassVar[str] = "pu21"
    default_params: ClassVar[dict[str, Any]] = {"anchor": "gt-max", "peak_luminance": 4000.0, "scale": 1.0,
                                                **_SSIM_SETTINGS, "border": "replicate"}

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.check_choice("anchor", ANCHORS)
        self.check_choice("border", BORDERS)

    def compute(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        pred, gt = absolute_from_params(pred, gt, self.params)
        return ssim(pu21_encode(luminance(pred)), pu21_encode(luminance(gt)), 256.0, **_ssim_kwargs(self.params))

