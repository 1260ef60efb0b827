"""BT.2100 signals of absolute luminance: PQ and HLG code values in BT.2020 primaries, and content light levels.

Inputs are linear **BT.709** RGB in cd/m² ``(H, W, 3)``, already in ``[0, peak]`` (:meth:`DisplayModel.to_nits`).
PQ uses the scoring transforms (:func:`hdrbench.metrics.transforms.bt709_to_bt2020`, :func:`~hdrbench.metrics.
transforms.pq_encode`: ST 2084's inverse EOTF); HLG uses colour-science's BT.2100 HLG inverse EOTF
(:func:`colour.models.eotf_inverse_BT2100_HLG`: the inverse OOTF of a display of nominal peak ``L_W`` and black
``L_B = 0``, system gamma ``1.2 + 0.42 log10(L_W / 1000)``, then the HLG OETF), so that a reference HLG display
of that peak shows the same luminance as the PQ file does (BT.2408: 203 cd/m² is 58 % PQ and 75 % HLG).
"""

from __future__ import annotations

import numpy as np


def bt2020(nits: np.ndarray) -> np.ndarray:
    """Linear BT.709 ``(H, W, 3)`` → linear BT.2020 (same units, float64, negative rounding noise set to 0)."""
    import torch

    from hdrbench.metrics.transforms import bt709_to_bt2020

    t = torch.from_numpy(np.ascontiguousarray(nits, dtype=np.float64)).permute(2, 0, 1)[None]
    return bt709_to_bt2020(t)[0].permute(1, 2, 0).clamp_min(0.0).numpy()


def pq_signal(nits: np.ndarray) -> np.ndarray:
    """PQ code values in ``[0, 1]`` (float64 ``(H, W, 3)``, BT.2020) of BT.709 luminance ``nits`` in cd/m²."""
    import torch

    from hdrbench.metrics.transforms import pq_encode

    return pq_encode(torch.from_numpy(bt2020(nits))).numpy()


def hlg_gamma(peak: float) -> float:
    """BT.2100 HLG system gamma of a display of nominal peak ``peak`` cd/m² (1.2 at 1000)."""
    from colour.models.rgb.transfer_functions.itur_bt_2100 import gamma_function_BT2100_HLG

    return float(gamma_function_BT2100_HLG(peak))


def hlg_signal(nits: np.ndarray, peak: float) -> np.ndarray:
    """HLG code values in ``[0, 1]`` (float64 ``(H, W, 3)``, BT.2020) that a display of nominal peak ``peak``
    (black 0) shows as BT.709 luminance ``nits``; saturated colours near the peak, which such a display cannot
    show, are clipped to signal 1."""
    import colour

    with np.errstate(divide="ignore", invalid="ignore"):  # black pixels: colour returns 0 for them
        signal = colour.models.eotf_inverse_BT2100_HLG(bt2020(nits), L_B=0.0, L_W=float(peak))
    return np.clip(np.nan_to_num(np.asarray(signal, dtype=np.float64)), 0.0, 1.0)


def code_values(signal: np.ndarray, bits: int) -> np.ndarray:
    """``round(signal · (2^bits − 1))`` as uint16 (full range), ``signal`` clipped to ``[0, 1]``."""
    return np.round(np.clip(signal, 0.0, 1.0) * float(2 ** bits - 1)).astype(np.uint16)


def light_levels(nits: np.ndarray) -> tuple[float, float]:
    """``(MaxCLL, MaxFALL)`` in cd/m² of one frame (CTA-861.3): the largest and the mean per-pixel max(R, G, B)
    of the BT.2020 components of BT.709 ``nits``."""
    brightest = bt2020(nits).max(axis=-1)
    return float(brightest.max(initial=0.0)), float(brightest.mean()) if brightest.size else 0.0
