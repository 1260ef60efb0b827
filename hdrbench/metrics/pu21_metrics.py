"""The rest of gfxdisp/pu21 ``pu21_metric``: PU21-PSNRY, PU21-MS-SSIM, PU21-FSIM, PU21-VSI (MS-SSIM/FSIM/VSI via piq).

``pu21_metric.m`` takes absolute linear values (cd/m²), converts them to BT.709 luminance for the
luminance-only metrics (``get_luminance``: PSNRY, SSIM, MSSSIM), PU21-encodes them (``banding_glare``) and
runs the SDR metric on the PU values, whose 8-bit-like scale (100 cd/m² ≈ 256) the metrics' constants assume:

- PSNRY: ``psnr(T, R, 256)`` on PU luminance;
- MSSSIM: ``multissim(T, R, 'DynamicRange', 256)`` on PU luminance → piq ``multi_scale_ssim``, ``data_range=256``
  (11-tap σ = 1.5 window, weights 0.0448 … 0.1333; piq filters 'valid' and halves by 2×2 averaging, which is
  not MATLAB's padded ``multissim``: the two differ);
- FSIM: ``m_fsim(T, R)``, first output, i.e. **FSIM on Y = 0.299R + 0.587G + 0.114B** (not FSIMc), of PU RGB
  taken as 0–255 → piq ``fsim(chromatic=False, data_range=255)`` (piq rescales ``x/data_range·255``);
- VSI: ``m_vsi(T, R)`` on PU RGB taken as 0–255 → piq ``vsi(data_range=255)``.

PU values exceed 255 above 100 cd/m² (about 595 at 10⁴ cd/m²) and MATLAB takes them as they are; piq asserts
values within ``[0, data_range]`` — a check only, its arithmetic rescales by ``data_range`` and nothing else —
so the piq functions run with that one check removed (:func:`piq_unchecked`), their code otherwise untouched.
Absolute luminance as in ``pu21-psnr``: ``anchor`` ``gt-max`` (ground-truth maximum → ``peak_luminance``) or
``absolute`` (values × ``scale`` are cd/m²).
"""

from __future__ import annotations

import functools
import types
import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import torch

from hdrbench.errors import HDRBenchError
from hdrbench.metrics.base import Metric
from hdrbench.metrics.psnr import psnr
from hdrbench.metrics.transforms import ANCHORS, absolute_from_params, luminance, pu21_encode

#: MS-SSIM scale weights (Wang et al. 2003; MATLAB ``multissim`` and piq defaults).
MSSSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
MSSSIM_KERNEL = 11


def _check_shapes(tensors: list[torch.Tensor], dim_range: tuple[int, int] = (0, -1),
                  data_range: tuple[float, float] = (0.0, -1.0), size_range: tuple[int, int] | None = None,
                  check_for_channels_first: bool = False) -> None:
    """piq's ``_validate_input`` without its value-range assertion (dimensions, sizes and devices still checked)."""
    from piq.utils import _validate_input

    _validate_input(tensors, dim_range=dim_range, size_range=size_range,
                    check_for_channels_first=check_for_channels_first)


@functools.cache
def piq_unchecked(name: str) -> Callable[..., torch.Tensor]:
    """piq's public function ``name`` (``fsim``, ``vsi``, ``multi_scale_ssim``, ``srsim``, ``ssim``) with the
    value-range assertion removed: the same code object, run with ``_validate_input`` bound to
    :func:`_check_shapes` in a copy of its module's namespace (piq itself is not modified)."""
    try:
        import piq
    except ImportError:
        raise HDRBenchError("the PU21-MS-SSIM/FSIM/VSI and SR-SIM metrics need piq: pip install piq==0.8.0") from None
    fn = getattr(piq, name)
    namespace = {**fn.__globals__, "_validate_input": _check_shapes}
    out = types.FunctionType(fn.__code__, namespace, fn.__name__, fn.__defaults__, fn.__closure__)
    out.__kwdefaults__ = fn.__kwdefaults__
    return out


class _PU21(Metric):
    """Common part: absolute luminance from the parameters, PU21 code values (float64)."""

    lower_better: ClassVar[bool] = False
    domain: ClassVar[str] = "pu21"
    decimals = 4
    default_params: ClassVar[dict[str, Any]] = {"anchor": "gt-max", "peak_luminance": 4000.0, "scale": 1.0}

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.check_choice("anchor", ANCHORS)

    def encoded(self, pred: torch.Tensor, gt: torch.Tensor, lum: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """PU21 values of both images: of their BT.709 luminance ``(N, 1, H, W)`` if ``lum``, else of RGB."""
        pred, gt = absolute_from_params(pred, gt, self.params)
        if lum:
            pred, gt = luminance(pred), luminance(gt)
        return pu21_encode(pred), pu21_encode(gt)


class PU21PSNRY(_PU21):
    """PSNR on PU21-encoded BT.709 luminance, peak 256, as ``pu21_metric(…, 'PSNRY')``."""

    label = "PU21-PSNRY"
    decimals = 2

    def compute(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        return psnr(*self.encoded(pred, gt, lum=True), 256.0)


class PU21MSSSIM(_PU21):
    """MS-SSIM (piq) on PU21-encoded luminance, data range 256, as ``pu21_metric(…, 'MSSSIM')`` reads.

    5 scales need images of at least 161 px a side; smaller ones get as many scales as fit (the first weights,
    renormalised, as piq does for custom weights) and a warning; below 11 px it is an error.
    """

    label = "PU21-MS-SSIM"

    def compute(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        p, g = self.encoded(pred, gt, lum=True)
        side = min(p.shape[-2:])
        levels = max((k for k in range(1, 6) if (MSSSIM_KERNEL - 1) * 2 ** (k - 1) + 1 <= side), default=0)
        if levels == 0:
            raise HDRBenchError(f"metric '{self.name}' needs images of at least {MSSSIM_KERNEL} px a side (got {side})")
        weights = None
        if levels < len(MSSSIM_WEIGHTS):
            warnings.warn(f"metric '{self.name}': {side} px is too small for 5 MS-SSIM scales; using {levels}",
                          UserWarning, stacklevel=2)
            weights = torch.tensor(MSSSIM_WEIGHTS[:levels], dtype=p.dtype, device=p.device)
        return piq_unchecked("multi_scale_ssim")(p, g, kernel_size=MSSSIM_KERNEL, kernel_sigma=1.5, data_range=256.0,
                                                 reduction="none", scale_weights=weights)


class PU21FSIM(_PU21):
    """FSIM (grayscale, piq) on PU21-encoded RGB as 0–255 values, as ``pu21_metric(…, 'FSIM')`` (``m_fsim``'s
    first output). ``chromatic=True`` gives FSIMc instead (``m_fsim``'s second output)."""

    label = "PU21-FSIM"
    default_params: ClassVar[dict[str, Any]] = {**_PU21.default_params, "chromatic": False}

    def compute(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        p, g = self.encoded(pred, gt, lum=False)
        return piq_unchecked("fsim")(p, g, data_range=255.0, chromatic=bool(self.params["chromatic"]),
                                     reduction="none")


class PU21VSI(_PU21):
    """VSI (piq) on PU21-encoded RGB as 0–255 values, as ``pu21_metric(…, 'VSI')`` (``m_vsi``)."""

    label = "PU21-VSI"

    def compute(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        p, g = self.encoded(pred, gt, lum=False)
        return piq_unchecked("vsi")(p, g, data_range=255.0, reduction="none")
