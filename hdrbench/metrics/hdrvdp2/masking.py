"""Per-band CSF normalisation, contrast masking and pooling of HDR-VDP 2.2.x (the band loop of ``hdrvdp.m``).

For every band b and orientation o: excitation ``sign_pow(dB / n_f, p) * n_f``, divided by the noise
``sqrt(N_CSF^(2p) + N_mask^2)`` where ``N_mask`` pools self-, cross-orientation and neighbouring-band
masking (3x3 box-blurred ``min(|B_T|, |B_R|)``). Quality accumulates
``w_f * (log(msre(D * diff_mask) + 1e-12) - log(1e-12))``; ``Q = 100 - that sum``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

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
    """``min(|B_T|, |B_R|)`` blurred by a 3x3 box with zero padding (MATLAB ``conv2(.., 'same')``), per channel."""
    m = torch.minimum(bt.abs(), br.abs())
    n, k, h, w = m.shape
    return F.avg_pool2d(m.reshape(n * k, 1, h, w), 3, stride=1, padding=1, count_include_pad=True).reshape(n, k, h, w)


def _orient(x: torch.Tensor, k: int) -> torch.Tensor:
    """The first ``k`` orientations of a band; a single-orientation band serves every orientation (``min(o, sz)``)."""
    return x.expand(-1, k, -1, -1) if x.shape[1] == 1 else x[:, :k]


def band_weight(freq: float, params: HDRVDPParams) -> float:
    """Quality weight of a band centred at ``freq`` cycles/deg (linear interpolation, clamped to the table)."""
    f = np.asarray(params.quality_band_freq, dtype=np.float64)
    w = np.asarray(params.quality_band_w, dtype=np.float64)
    return float(np.interp(np.clip(freq, f[-1], f[0]), f[::-1], w[::-1]))


def mask_and_pool(bt: list[torch.Tensor], br: list[torch.Tensor], l_adapt: torch.Tensor, diff_mask: torch.Tensor,
                  band_freq: np.ndarray, params: HDRVDPParams) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Quality ``Q`` ``(N,)`` and the psychometrically scaled difference bands ``D`` (same layout as ``bt``).

    ``bt``/``br``: test/reference bands (finest first, ``(N, K, h, w)``); ``l_adapt`` ``(N, H, W)``: adapting
    luminance (cd/m^2); ``diff_mask`` ``(N, H, W)``: 1 where test and reference differ by more than 0.1 %.
    """
    p, q = 10.0**params.mask_p, 10.0**params.mask_q
    pf = 10.0**params.psych_func_slope / p
    k_self, k_xo, k_xn = 10.0**params.mask_self, 10.0**params.mask_xo, 10.0**params.mask_xn
    n_bands = len(bt)
    log_la = torch.log10(l_adapt.clamp(_CSF_LA[0], _CSF_LA[-1]))[:, None]
    mm = [_mutual_masking(t, r) for t, r in zip(bt, br)]
    quality = torch.zeros(l_adapt.shape[0], dtype=torch.float64, device=l_adapt.device)
    d_bands = []
    for b in range(n_bands):
        size = tuple(bt[b].shape[-2:])
        k = bt[b].shape[1]
        band_norm = 2.0**b
        csf_table = torch.from_numpy(neural_csf(band_freq[b], _CSF_LA, params)).to(l_adapt)
        log_la_b, diff_b = imresize(torch.cat([log_la, diff_mask[:, None]], dim=1), size).split(1, dim=1)
        log_la_b = log_la_b.clamp(-5.0, 5.0)
        n_ncsf = 1.0 if b == n_bands - 1 else 1.0 / _interp_uniform(log_la_b, -5.0, 10.0 / 255, csf_table)
        band_diff = bt[b] - br[b]
        ex_diff = sign_pow(band_diff / band_norm, p) * band_norm
        if params.do_masking:
            self_mask = mm[b]
            mask_xn = torch.zeros_like(self_mask)
            if b > 0:
                mask_xn = imresize(_orient(mm[b - 1], k), size).clamp(min=0) / (band_norm / 2)
            if b < n_bands - 2:
                mask_xn = mask_xn + imresize(_orient(mm[b + 1], k), size).clamp(min=0) / (band_norm * 2)
            band_mask_xo = (self_mask.sum(dim=1, keepdim=True) - self_mask).clamp(min=0)
            n_mask = band_norm * (k_self * (self_mask / n_ncsf / band_norm) ** q
                                  + k_xo * (band_mask_xo / n_ncsf / band_norm) ** q
                                  + k_xn * (mask_xn / n_ncsf) ** q)
            d = ex_diff / torch.sqrt(n_ncsf ** (2 * p) + n_mask**2)
        else:
            d = ex_diff / n_ncsf**p
        d_bands.append(sign_pow(d / band_norm, pf) * band_norm)
        d_p = (d * diff_b).flatten(2).double()
        msre = torch.sqrt((d_p**2).sum(dim=2)) / d_p.shape[2]  # (N, K)
        quality = quality + ((torch.log(msre + _EPS) - math.log(_EPS)) * band_weight(band_freq[b], params)).sum(1)
    return 100.0 - quality, d_bands
