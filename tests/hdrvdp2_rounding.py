"""How far float32 rounding can move HDR-VDP-2's Q: the tolerance of tests that compare a float32 Q with a value
computed otherwise (a stored one, a float64 one), derived from the arithmetic instead of one machine's result.

A float32 rounding has relative error <= ``U32`` = 2**-24, so it moves a band coefficient by about ``U32 * M``,
``M`` = rms of the achromatic response before its mean is removed (the largest quantity on the way to the bands:
34-320 JND on the reference inputs; a rounding of the luminance moves the response by ``U32 * dP/dlnL``, of the
same order). Independent roundings add in quadrature: a coefficient carries ``sqrt(n) * U32 * M`` after ``n`` of
them. :func:`q_rounding_scale` carries an error of rms ``U32 * M`` on every coefficient to Q (first order, float64);
a comparison allows ``SIGMAS`` standard deviations: ``SIGMAS * sqrt(n) * q_rounding_scale(...)``. The model fits
what is measured: the float32 Q of the nine stored cases lies 0.2-4.4 rounding scales from them here, and the
1.26e-4 reported on an AMD EPYC is 5.3 scales of the most sensitive case, inside ``sqrt(64) = 8``.

Holds no tests.
"""

from __future__ import annotations

import numpy as np
import torch

from hdrbench.metrics.hdrvdp2 import HDRVDPParams, masking
from hdrbench.metrics.hdrvdp2.optics import optical_glare
from hdrbench.metrics.hdrvdp2.pathway import visual_pathway
from hdrbench.metrics.hdrvdp2.photoreceptors import JNDTransducer

#: float32's unit roundoff: one rounding changes a value by at most this fraction of it.
U32 = 2.0**-24
#: Roundings of the response's size that reach a band coefficient in one float32 evaluation of Q: the optics'
#: forward and inverse FFTs of log2(256 * 256) = 16 stages each, and ~16 pointwise steps (photoreceptor matrix,
#: transducer, sums, mean removal).
FLOAT32_PATH = 48
#: The same for the port's "float64" Q of before the speed work: it ran its pyramid convolutions in float32
#: (``pyramid.corr_dn``), ~16 roundings in quadrature through a 17x17 filter.
FLOAT32_CONVS = 16
#: Standard deviations a comparison allows.
SIGMAS = 4


def q_rounding_scale(tests: torch.Tensor, ref: torch.Tensor, scale: float, lmsr: np.ndarray) -> np.ndarray:
    """Per test image ``(N, 3, H, W)`` against ``ref`` ``(1 or N, 3, H, W)`` at ``scale`` cd/m²: the rms change of Q
    when every band coefficient is off by an independent error of rms ``U32 * M``.

    ``Q = 100 - sum_{b,o} w_b ln msre_{b,o}`` with ``msre ~ ||D||``, ``D ~ |bt - br|^p``, ``p = 10**mask_p``: an error
    ``e`` of coefficient ``i`` moves Q by ``w_b p D_i^2 e / (|bt - br|_i sum D^2)``; the masking's denominators are
    left out of the weights ``D^2`` (and the base band, weight ~2e-4).
    """
    params = HDRVDPParams(pix_per_deg=24)
    p = 10.0**params.mask_p
    images = torch.cat([ref[:1], tests]).double() * scale
    m = torch.from_numpy(np.asarray(lmsr, dtype=np.float64)[:, [0, 1, 3]])
    lmr = torch.einsum("nchw,ck->nkhw", optical_glare(images, params), m)
    jnd = JNDTransducer(params)
    response = jnd(lmr[:, 0], 0) + jnd(lmr[:, 1], 0) + jnd(lmr[:, 2], 1)
    magnitude = response.square().mean(dim=(-2, -1)).sqrt().amax()
    out = visual_pathway(images, np.asarray(lmsr, dtype=np.float64), params)
    variance = torch.zeros(len(tests), dtype=torch.float64)
    for b, band in enumerate(out.bands[:-1]):
        diff = (band[1:] - band[:1]).abs().flatten(2).clamp_min(1e-300)  # (N, K, pixels)
        d2 = diff ** (2 * p)
        per_error = p * (d2 / diff).square().sum(-1).sqrt() / d2.sum(-1)  # (N, K): dQ per unit error, rms
        variance += (masking.band_weight(out.band_freq[b], params) * per_error).square().sum(-1)
    return (variance.sqrt() * U32 * magnitude).numpy()


def float32_tolerance(tests: torch.Tensor, ref: torch.Tensor, scale: float, lmsr: np.ndarray, roundings: int
                      ) -> np.ndarray:
    """``SIGMAS * sqrt(roundings) * q_rounding_scale(...)``: the |dQ| float32 rounding explains, per test image."""
    return SIGMAS * np.sqrt(roundings) * q_rounding_scale(tests, ref, scale, lmsr)
