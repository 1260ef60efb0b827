"""Calibrated parameters of HDR-VDP 2.2.x (the defaults of ``hdrvdp_parse_options.m``, 2.2 calibration).

Every number here is a model constant fitted by the HDR-VDP authors (Mantiuk et al. 2011; Narwaria et al.
2015); they are data, copied with their names so a reader can find them in the original source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

# Peak contrast of Daly's CSF at L_adapt = 30 cd/m^2; ``sensitivity_correction`` rescales the JND transducer.
_DALY_PEAK_CONTRAST_SENS = 0.006894596


@dataclass(frozen=True)
class HDRVDPParams:
    """Model parameters (HDR-VDP 2.2.x defaults). Only ``pix_per_deg`` and ``surround_l`` are usually changed."""

    pix_per_deg: float = 30.0
    surround_l: float = 1e-5  # luminance outside the image (cd/m^2), used to pad the optical FFT
    peak_sensitivity: float = 2.4  # log10; sensitivity_correction = daly_peak / 10**-peak_sensitivity
    mask_p: float = 0.544068
    mask_self: float = 0.189065
    mask_xo: float = 0.449199
    mask_xn: float = 1.52512
    mask_q: float = 0.49576
    psych_func_slope: float = math.log10(3.5)
    rod_sensitivity: float = 0.0
    do_mtf: bool = True
    do_masking: bool = True
    do_spatial_pooling: bool = True
    # the neural CSF of 2.2.x is *not* divided by the optical MTF (only HDR-VDP-3 does that)
    ncsf_divide_by_mtf: bool = False
    csf_params: tuple[tuple[float, ...], ...] = (
        (0.0160737, 0.991265, 3.74038, 0.50722, 4.46044),
        (0.383873, 0.800889, 3.54104, 0.682505, 4.94958),
        (0.929301, 0.476505, 4.37453, 0.750315, 5.28678),
        (1.29776, 0.405782, 4.40602, 0.935314, 5.61425),
        (1.49222, 0.334278, 3.79542, 1.07327, 6.4635),
        (1.46213, 0.394533, 2.7755, 1.16577, 7.45665),
    )
    csf_lums: tuple[float, ...] = (0.002, 0.02, 0.2, 2.0, 20.0, 150.0)
    csf_sa: tuple[float, ...] = (30.162, 4.0627, 1.6596, 0.2712)  # joint rod-cone sensitivity (p5..p8)
    csf_sr_par: tuple[float, ...] = (1.1732, 1.1478, 1.2167, 0.5547, 2.9899, 1.1414)  # rod sensitivity
    mtf_par: tuple[float, float] = (0.061466549455263, 0.99727370023777070)
    mtf_params_b: tuple[float, ...] = (0.028, 0.37, 37.0, 360.0)
    quality_band_freq: tuple[float, ...] = (60, 30, 15, 7.5, 3.75, 1.875, 0.9375, 0.4688, 0.2344, 0.1172)
    quality_band_w: tuple[float, ...] = (0, 0.2832, 0.2832, 0.2142, 0.2690, 0.0398, 0.0003, 0.0003, 0, 0)
    extra: dict = field(default_factory=dict)

    @property
    def sensitivity_correction(self) -> float:
        return _DALY_PEAK_CONTRAST_SENS / 10.0 ** (-self.peak_sensitivity)

    @property
    def mtf_params_a(self) -> np.ndarray:
        """Weights of the four exponentials of the eye's MTF (``hdrvdp_parse_options.m``)."""
        a, b = self.mtf_par
        return np.array([b * 0.426, b * 0.574, (1 - b) * a, (1 - b) * (1 - a)])
