"""Contrast sensitivity: the neural CSF and the luminance-dependent (c.v.i.) sensitivities of HDR-VDP 2.2.x.

Equations from ``hdrvdp_ncsf.m``, ``hdrvdp_joint_rod_cone_sens.m`` and ``hdrvdp_rod_sens.m``
(Mantiuk et al., SIGGRAPH 2011, eqs. 8-11); all functions work on float64 numpy arrays.
"""

from __future__ import annotations

import numpy as np

from hdrbench.metrics.hdrvdp2.optics import eye_mtf
from hdrbench.metrics.hdrvdp2.params import HDRVDPParams


def neural_csf(rho: np.ndarray | float, lum: np.ndarray | float, params: HDRVDPParams) -> np.ndarray:
    """Neural contrast sensitivity at spatial frequency ``rho`` (cycles/deg) and adapting luminance ``lum`` (cd/m^2).

    ``rho`` and ``lum`` broadcast against each other. The four CSF shape parameters are interpolated
    linearly in log10 luminance between the six calibration luminances (clamped at the ends).
    """
    rho = np.asarray(rho, dtype=np.float64)
    lum = np.asarray(lum, dtype=np.float64)
    table = np.asarray(params.csf_params)
    lum_lut = np.log10(np.asarray(params.csf_lums))
    log_lum = np.clip(np.log10(lum), lum_lut[0], lum_lut[-1])
    p1, p2, p3, p4 = (np.interp(log_lum, lum_lut, table[:, k + 1]) for k in range(4))
    with np.errstate(divide="ignore", over="ignore"):
        s = p4 / ((1 + (p1 * rho) ** p2) / (1 - np.exp(-((rho / 7) ** 2))) ** p3) ** 0.5
    if params.ncsf_divide_by_mtf:  # HDR-VDP-3 style; off for 2.2.x
        s = s / eye_mtf(rho, params)
        s = np.where(rho <= 1e-4, 0.0, s)
    return np.nan_to_num(s, nan=0.0)


def joint_rod_cone_sensitivity(lum: np.ndarray, params: HDRVDPParams) -> np.ndarray:
    """Joint (rod + cone) absolute sensitivity as a function of adapting luminance ``lum`` (cd/m^2)."""
    s_peak, drop, trans_slope, low_slope = params.csf_sa
    return s_peak * ((drop / lum) ** trans_slope + 1) ** (-low_slope)


def rod_sensitivity(lum: np.ndarray, params: HDRVDPParams) -> np.ndarray:
    """Rod-only absolute sensitivity as a function of adapting luminance ``lum`` (cd/m^2)."""
    peak_l, low_s, low_exp, high_s, high_exp, rod_sens = params.csf_sr_par
    dist = np.abs(np.log10(lum / peak_l))
    s = np.where(lum > peak_l, np.exp(-(dist**high_exp) / high_s), np.exp(-(dist**low_exp) / low_s))
    return s * 10.0**rod_sens
