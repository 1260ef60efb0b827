"""Fourier-domain helpers: the cycles-per-degree lattice, the eye's MTF and large-kernel FFT filtering.

Written from the documented behaviour of HDR-VDP 2.2.x (``create_cycdeg_image``, ``hdrvdp_mtf``,
``fast_conv_fft``): the image is padded *after* its last row/column with a constant to the size of the
filter (twice the image size), filtered by a real zero-phase transfer function, and cropped back.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from hdrbench.metrics.hdrvdp2.params import HDRVDPParams


def cycdeg_grid(height: int, width: int, pix_per_deg: float, *, half: bool = False) -> np.ndarray:
    """Radial spatial frequency (cycles/degree) of every DFT bin of a ``height x width`` lattice, float64.

    Bin order is the DFT's (DC first, negative frequencies in the second half); frequencies are
    ``k/N * pix_per_deg`` folded to ``[-ppd/2, ppd/2)``. With ``half`` only the ``width//2 + 1`` columns
    that ``rfft2`` keeps are returned.
    """
    fy = np.fft.fftfreq(height) * pix_per_deg
    fx = (np.fft.rfftfreq(width) if half else np.fft.fftfreq(width)) * pix_per_deg
    if half and width % 2 == 0:
        fx[-1] = -fx[-1]  # Nyquist bin folds to -ppd/2 (radial value unchanged)
    return np.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2)


def eye_mtf(rho: np.ndarray, params: HDRVDPParams) -> np.ndarray:
    """Optical modulation transfer function of the eye at frequency ``rho`` (cycles/degree): sum of 4 exponentials."""
    mtf = np.zeros_like(rho, dtype=np.float64)
    for a, b in zip(params.mtf_params_a, params.mtf_params_b):
        mtf += a * np.exp(-b * rho)
    return mtf


def fft_filter_padded(x: torch.Tensor, transfer_half: torch.Tensor | None, pad_value: torch.Tensor | float,
                      out_hw: tuple[int, int], *, transfer_t: torch.Tensor | None = None) -> torch.Tensor:
    """Filter ``x`` (``(..., H, W)``) by a real transfer function on a larger ``out_hw`` lattice.

    Equivalent to padding ``x`` after its last row/column with ``pad_value`` (a scalar, or a tensor
    broadcastable to ``x.shape[:-2]``) to ``out_hw``, multiplying its 2-D DFT by ``transfer_half``
    (``(PH, PW//2+1)``, the ``rfft2`` half of a real, even transfer function) and cropping the top-left
    ``H x W`` block of the inverse. Computed as the filtered ``x - pad`` (pruned transforms: only the rows
    and columns that are not padding) plus ``pad`` times the DC gain. Same dtype as ``x``. ``transfer_t``:
    instead of ``transfer_half`` (then ``None``), its :func:`transposed_transfer` (precomputed by callers that
    reuse it).
    """
    h, w = x.shape[-2:]
    ph, pw = out_hw
    pad = torch.as_tensor(pad_value, dtype=x.dtype, device=x.device)
    pad = pad.reshape(*pad.shape, 1, 1)
    if transfer_t is None:
        transfer_t = transposed_transfer(transfer_half)
    transfer_t = transfer_t.to(device=x.device, dtype=x.dtype)
    # rows: real FFT along W; then the column transforms run on the contiguous transpose (faster than strided)
    cols = torch.fft.rfft(x - pad, n=pw, dim=-1).transpose(-1, -2).contiguous()  # (..., PW//2+1, H)
    spec = torch.fft.fft(cols, n=ph, dim=-1)
    torch.view_as_real(spec).mul_(transfer_t)
    cols = torch.fft.ifft(spec, dim=-1)[..., :h].transpose(-1, -2)
    out = torch.fft.irfft(cols, n=pw, dim=-1)[..., :w]
    return out + pad * transfer_t[..., :1, :1, 0]


def transposed_transfer(transfer_half: torch.Tensor) -> torch.Tensor:
    """``(..., PH, PW//2+1)`` real transfer -> ``(..., PW//2+1, PH, 2)``: transposed, each value twice (re, im)."""
    t = transfer_half.transpose(-1, -2)[..., None]
    return t.expand(*t.shape[:-1], 2).contiguous()


def optical_glare(img: torch.Tensor, params: HDRVDPParams) -> torch.Tensor:
    """Retinal image: each channel of ``img`` (``(N, C, H, W)``, absolute cd/m^2) convolved with the eye's PSF.

    The PSF is applied as its MTF on a ``2H x 2W`` lattice, the surround (``params.surround_l``) fills the
    padding; the result is clamped to ``[1e-5, 1e10]`` as in HDR-VDP 2.2.x.
    """
    if not params.do_mtf:
        return img
    h, w = img.shape[-2:]
    mtf_t = _mtf_half_t(2 * h, 2 * w, params.pix_per_deg, tuple(params.mtf_params_a), tuple(params.mtf_params_b),
                        img.dtype)
    return fft_filter_padded(img, None, params.surround_l, (2 * h, 2 * w), transfer_t=mtf_t).clamp(1e-5, 1e10)


@lru_cache(maxsize=4)
def _mtf_half_t(height: int, width: int, pix_per_deg: float, a: tuple, b: tuple, dtype: torch.dtype) -> torch.Tensor:
    """The eye's MTF on the ``rfft2`` half of a ``height x width`` lattice as :func:`transposed_transfer` lays it
    out, ``(width//2+1, height, 2)``, in ``dtype`` (cached: the same for every image pair of that size).

    The frequencies are those of :func:`cycdeg_grid` (float64, built here in the transposed order); the
    exponentials run in ``dtype`` (float32: within an ulp of the float64 values cast to float32, which the
    filtering uses, and 4x faster at 2048x1024).
    """
    fy = torch.fft.fftfreq(height, dtype=torch.float64) * pix_per_deg
    fx = torch.fft.rfftfreq(width, dtype=torch.float64) * pix_per_deg
    rho = (fx[:, None].square() + fy[None, :].square()).sqrt_().to(dtype)
    mtf = torch.zeros_like(rho)
    for ak, bk in zip(a, b):
        mtf.add_(torch.exp(rho * -bk), alpha=ak)
    return mtf[..., None].expand(*mtf.shape, 2).contiguous()
