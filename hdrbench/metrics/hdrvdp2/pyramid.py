"""Steerable pyramid (Simoncelli & Freeman 1995) with the ``sp3`` filters, 4 orientations, ``reflect1`` edges.

Reproduces matlabPyrTools' ``buildSpyr(im, 'auto', 'sp3Filters')`` (correlation with the filters, edges
mirrored about the border pixel, factor-2 decimation keeping the even samples) in torch on ``(N, 1, H, W)``
tensors; the matching ``reconSpyr`` is :mod:`hdrbench.metrics.hdrvdp2.recon`.
Filter taps: ``data/sp3_filters.json`` (see ``data/PROVENANCE.md``).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F

_FILTERS = Path(__file__).parent / "data" / "sp3_filters.json"


@lru_cache(maxsize=1)
def _taps() -> dict[str, torch.Tensor]:
    raw = json.loads(_FILTERS.read_text())
    return {k: torch.tensor(raw[k], dtype=torch.float64) for k in ("lo0filt", "hi0filt", "lofilt", "bfilts")}


def sp3_filters(dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    """The sp3 filters as conv weights: ``lo0``/``hi0``/``lo`` ``(1, 1, k, k)``, ``bands`` ``(4, 1, 9, 9)``."""
    t = _taps()
    as_w = lambda a: a.reshape(-1, 1, *a.shape[-2:]).to(dtype=dtype, device=device)  # noqa: E731
    return {"lo0": as_w(t["lo0filt"]), "hi0": as_w(t["hi0filt"]), "lo": as_w(t["lofilt"]), "bands": as_w(t["bfilts"])}


def max_pyramid_height(height: int, width: int, filter_size: int = 17) -> int:
    """matlabPyrTools ``maxPyrHt``: how many times the image can be halved while it stays >= the filter."""
    levels = 0
    while height >= filter_size and width >= filter_size:
        levels += 1
        height, width = height // 2, width // 2
    return levels


def corr_dn(x: torch.Tensor, weight: torch.Tensor, step: int = 1) -> torch.Tensor:
    """Correlate ``x`` ``(N, 1, H, W)`` with ``weight`` ``(K, 1, k, k)`` (``reflect1`` edges), keep every ``step``-th.

    The correlation runs in float32 (torch's fast CPU/GPU kernels); the result has ``x``'s dtype.
    """
    p = weight.shape[-1] // 2
    xp = F.pad(x.float(), (p, p, p, p), mode="reflect")
    return F.conv2d(xp, weight.float(), stride=step).to(x.dtype)


#: Images with at least this many pixels are filtered through the FFT (oneDNN's 1-channel convs are slow there).
FFT_MIN_PIXELS = 256 * 256


def _fast_len(n: int) -> int:
    """Smallest length >= ``n`` with no prime factor above 7 (fast FFT sizes)."""
    while True:
        m = n
        for p in (2, 3, 5, 7):
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 1


@lru_cache(maxsize=16)
def _bank_spectrum(names: tuple[str, ...], size: int, shape: tuple[int, int], dtype: torch.dtype,
                   device: str) -> torch.Tensor:
    """``rfft2`` of the conjugated (flipped) sp3 filters ``names``, each centred in ``size x size``, on ``shape``."""
    f = sp3_filters(torch.float64)
    taps = []
    for name in names:
        w = f[name][:, 0]
        pad = (size - w.shape[-1]) // 2
        taps.append(F.pad(w, (pad, pad, pad, pad)))
    w = torch.cat(taps)  # (K, size, size)
    # correlation = convolution with the flipped filter; a filter anchored at the top-left gives 'valid' outputs
    spec = torch.fft.rfft2(w, s=shape).conj()
    return spec.to(dtype=torch.complex64 if dtype == torch.float32 else torch.complex128, device=device)


def filter_bank(x: torch.Tensor, names: tuple[str, ...]) -> torch.Tensor:
    """Correlate ``x`` ``(N, 1, H, W)`` with the sp3 filters ``names`` (``reflect1`` edges): ``(N, K_total, H, W)``.

    Large images go through one ``rfft2`` of the reflect-padded image and one ``irfft2`` per output channel
    (the filters are centred in the largest one's support, so every output is the same 'valid' correlation
    as :func:`corr_dn`'s, up to float rounding). Computed in ``x``'s dtype.
    """
    f = sp3_filters(x.dtype, x.device)
    size = max(f[n].shape[-1] for n in names)
    p = size // 2
    h, w = x.shape[-2:]
    xp = F.pad(x, (p, p, p, p), mode="reflect")
    shape = (_fast_len(h + 2 * p), _fast_len(w + 2 * p))
    spec = torch.fft.rfft2(xp, s=shape) * _bank_spectrum(names, size, shape, x.dtype, str(x.device))
    return torch.fft.irfft2(spec, s=shape)[..., :h, :w]


def build_steerable_pyramid(img: torch.Tensor) -> list[torch.Tensor]:
    """Decompose ``img`` ``(N, 1, H, W)`` into bands, finest first.

    Returns ``[high-pass (N,1,H,W), level 1 (N,4,H,W), level 2 (N,4,ceil(H/2),..), ..., low-pass (N,1,h,w)]``
    with ``max_pyramid_height`` oriented levels (``'auto'`` height of matlabPyrTools).
    """
    f = sp3_filters(img.dtype, img.device)
    height = max_pyramid_height(*img.shape[-2:], f["lo"].shape[-1])
    big = lambda t: t.shape[-2] * t.shape[-1] >= FFT_MIN_PIXELS  # noqa: E731
    if big(img):
        hi, lo = filter_bank(img, ("hi0", "lo0")).split(1, dim=1)
        bands = [hi.contiguous()]
    else:
        bands, lo = [corr_dn(img, f["hi0"])], corr_dn(img, f["lo0"])
    for _ in range(height):
        if big(lo):
            out = filter_bank(lo, ("bands", "lo"))
            bands.append(out[:, :4].contiguous())
            lo = out[:, 4:, ::2, ::2].contiguous()
        else:
            bands.append(corr_dn(lo, f["bands"]))
            lo = corr_dn(lo, f["lo"], step=2)
    bands.append(lo)
    return bands
