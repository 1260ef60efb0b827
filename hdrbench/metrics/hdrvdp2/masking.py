"""Per-band CSF normalisation, contrast masking and pooling of HDR-VDP 2.2.x (the band loop of ``hdrvdp.m``).

For every band b and orientation o: excitation ``sign_pow(dB / n_f, p) * n_f``, divided by the noise
``sqrt(N_CSF^(2p) + N_mask^2)`` where ``N_mask`` pools self-, cross-orientation and neighbouring-band
masking (3x3 box-blurred ``min(|B_T|, |B_R|)``). Quality accumulates
``w_f * (log(msre(D * diff_mask) + 1e-12) - log(1e-12))``; ``Q = 100 - that sum``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch

from hdrbench.metrics.hdrvdp2.csf import neural_csf
from hdrbench.metrics.hdrvdp2.params import HDRVDPParams
from hdrbench.metrics.hdrvdp2.resize import imresize

_CSF_LA = np.logspace(-5, 5, 256)  # adapting-luminance lattice of the per-band CSF lookup
_EPS = 1e-12


def sign_pow(x: torch.Tensor, e: float) -> torch.Tensor:
    return torch.sign(x) * x.abs() ** e


def _interp_uniform(x: torch.Tensor, x0: float, dx: float, table: torch.Tensor) -> torch.Tensor:
    """Linear interpolation of ``table`` sampled at ``x0 + k dx``; ``x`` must lie inside the lattice."""
    pos = ((x - x0) / dx).clamp(0, table.numel() - 1)
    i0 = pos.floor().long().clamp(max=table.numel() - 2)
    frac = pos - i0
    return table[i0] + frac * (table[i0 + 1] - table[i0])


def _mutual_masking(bt: torch.Tensor, br: torch.Tensor) -> torch.Tensor:
    """``min(|B_T|, |B_R|)`` blurred by a 3x3 box with zero padding (MATLAB ``conv2(.., 'same')``), per channel.

    Computed on cache-sized bands of rows (one halo row each side): horizontal 3-sums, then vertical ones.
    """
    n, k, h, w = bt.shape
    out = torch.empty_like(bt)
    step = _chunk_rows(bt.shape)
    for r0 in range(0, h, step):
        r1 = min(r0 + step, h)
        a, b = max(r0 - 1, 0), min(r1 + 1, h)
        m = torch.minimum(bt[..., a:b, :].abs(), br[..., a:b, :].abs())
        sums = m.new_zeros(n, k, r1 - r0 + 2, w)  # image rows r0-1 .. r1; rows outside the image stay 0
        hs = sums[..., a - r0 + 1:b - r0 + 1, :]
        hs.copy_(m)
        hs[..., 1:] += m[..., :-1]
        hs[..., :-1] += m[..., 1:]
        o = out[..., r0:r1, :]
        torch.add(sums[..., :-2, :], sums[..., 1:-1, :], out=o)
        o.add_(sums[..., 2:, :]).div_(9.0)
    return out


def band_weight(freq: float, params: HDRVDPParams) -> float:
    """Quality weight of a band centred at ``freq`` cycles/deg (linear interpolation, clamped to the table)."""
    f = np.asarray(params.quality_band_freq, dtype=np.float64)
    w = np.asarray(params.quality_band_w, dtype=np.float64)
    return float(np.interp(np.clip(freq, f[-1], f[0]), f[::-1], w[::-1]))


def _resized_maskers(mm: list[torch.Tensor], b: int, k: int, size: tuple[int, ...]) -> torch.Tensor | None:
    """Neighbouring-band masking of band ``b``: ``mm[b-1]`` and ``mm[b+1]`` resized to ``size``, clamped, weighted."""
    band_norm, neighbours = 2.0**b, []
    if b > 0:
        neighbours.append((b - 1, 2.0 / band_norm))
    if b < len(mm) - 2:
        neighbours.append((b + 1, 1.0 / (2.0 * band_norm)))
    out = None
    for nb, scale in neighbours:
        src = mm[nb][:, :k]  # a one-orientation band is resized once and broadcast (the resize is per channel)
        if tuple(src.shape[-2:]) == size:  # not resized: already >= 0
            term = src * scale
        else:
            term = imresize(src, size).clamp_(min=0).mul_(scale)
        out = term if out is None else out + term
    return out


def _chunk_rows(shape: torch.Size, target: int = 1 << 18) -> int:
    """Rows per chunk so that one chunk of an ``(N, K, h, w)`` band holds about ``target`` values (stays in cache)."""
    per_row = max(1, shape[0] * shape[1] * shape[-1])
    return max(1, target // per_row)


def mask_and_pool(bt: list[torch.Tensor], br: list[torch.Tensor], l_adapt: torch.Tensor, diff_mask: torch.Tensor,
                  band_freq: np.ndarray, params: HDRVDPParams, *, return_bands: bool = True
                  ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Quality ``Q`` ``(N,)`` and the psychometrically scaled difference bands ``D`` (same layout as ``bt``).

    ``bt``/``br``: test/reference bands (finest first, ``(N, K, h, w)``); ``l_adapt`` ``(N, H, W)``: adapting
    luminance (cd/m^2); ``diff_mask`` ``(N, H, W)``: 1 where test and reference differ by more than 0.1 %.
    With ``return_bands=False`` only Q is computed (``D`` is an empty list).

    The per-pixel chain runs on chunks of rows (cache-sized) with the constants folded: with ``S`` the CSF
    (``1/N_CSF``) and ``n = 2^b``, ``N_mask = S^q (n^(1-q) (k_self M_self^q + k_xo M_xo^q) + n k_xn M_xn^q)``
    and ``D = |dB|^p n^(1-p) / sqrt(S^(-2p) + N_mask^2)`` (signed like ``dB``).
    """
    p, q = 10.0**params.mask_p, 10.0**params.mask_q
    pf = 10.0**params.psych_func_slope / p
    k_self, k_xo, k_xn = 10.0**params.mask_self, 10.0**params.mask_xo, 10.0**params.mask_xn
    n_bands = len(bt)
    log_la = torch.log10(l_adapt.clamp(_CSF_LA[0], _CSF_LA[-1]))[:, None]
    full = torch.cat([log_la, diff_mask[:, None]], dim=1)
    mm = [_mutual_masking(t, r) for t, r in zip(bt, br)] if params.do_masking else []
    sumsq = []
    d_bands = []
    for b in range(n_bands):
        size = tuple(bt[b].shape[-2:])
        k = bt[b].shape[1]
        band_norm = 2.0**b
        n_q = band_norm ** (1 - q)
        log_la_b, diff_b = imresize(full, size).split(1, dim=1)
        if b == n_bands - 1:
            csf = None  # the base band is already CSF-filtered: N_CSF = 1
        else:
            csf_table = torch.from_numpy(neural_csf(band_freq[b], _CSF_LA, params)).to(l_adapt)
            csf = _interp_uniform(log_la_b.clamp(-5.0, 5.0), -5.0, 10.0 / 255, csf_table)
        mask_xn = _resized_maskers(mm, b, k, size) if params.do_masking else None
        out_b = torch.empty_like(bt[b]) if return_bands else None
        acc = torch.zeros(bt[b].shape[:2], dtype=torch.float64, device=bt[b].device)
        # per image and per band of rows: the same elements meet the same (vector or scalar) kernels whatever
        # the batch size, so an image's Q does not depend on the batch it is in
        step = _chunk_rows((1, *bt[b].shape[1:]))
        for i, r0 in itertools.product(range(bt[b].shape[0]), range(0, size[0], step)):
            at = (slice(i, i + 1), slice(None), slice(r0, r0 + step))
            diff = bt[b][at] - br[b][at]
            d = diff.abs().pow_(p)
            s_c = None if csf is None else csf[at]
            if params.do_masking:
                self_mask = mm[b][at]
                xo = (self_mask.sum(dim=1, keepdim=True) - self_mask).clamp_(min=0).pow_(q)
                n_mask = self_mask.pow(q).mul_(k_self * n_q).add_(xo, alpha=k_xo * n_q)
                if mask_xn is not None:
                    n_mask.add_(mask_xn[at].pow(q), alpha=k_xn * band_norm)
                if s_c is not None:
                    n_mask.mul_(s_c.pow(q))
                den = n_mask.square_().add_(1.0 if s_c is None else s_c.pow(-2 * p)).sqrt_()
                d.div_(den)
            elif s_c is not None:
                d.mul_(s_c.pow(p))
            d.mul_(band_norm ** (1 - p))
            acc[i] += torch.linalg.vector_norm(d * diff_b[at], dim=(-2, -1), dtype=torch.float64)[0].square_()
            if out_b is not None:
                torch.copysign(d.div_(band_norm).pow_(pf).mul_(band_norm), diff, out=out_b[at])
        sumsq.append(acc)
        if out_b is not None:
            d_bands.append(out_b)
    quality = torch.zeros(l_adapt.shape[0], dtype=torch.float64, device=l_adapt.device)
    for b, acc in enumerate(sumsq):
        msre = torch.sqrt(acc) / (bt[b].shape[-2] * bt[b].shape[-1])  # (N, K)
        quality = quality + ((torch.log(msre + _EPS) - math.log(_EPS)) * band_weight(band_freq[b], params)).sum(1)
    return 100.0 - quality, d_bands
