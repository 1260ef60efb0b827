"""Photoreceptor stage: spectral integration to L, M, S cone and rod responses, and their JND non-linearity.

* :func:`lmsr_matrix` integrates display emission spectra against the Smith & Pokorny (1975) cone
  fundamentals and the CIE scotopic curve (``trapz`` on a 360-780 nm grid of 420 samples, PCHIP-resampled,
  zero outside the tabulated range) -- the ``M_img_lmsr`` of ``hdrvdp_visual_pathway.m``.
* :class:`JNDTransducer` maps absolute cone/rod responses to JND units by integrating the c.v.i.
  sensitivity in log-luminance (``create_pn_jnd``), then looks values up by linear interpolation.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from hdrbench.errors import HDRBenchError
from hdrbench.metrics.hdrvdp2.csf import joint_rod_cone_sensitivity, rod_sensitivity
from hdrbench.metrics.hdrvdp2.params import HDRVDPParams

WAVELENGTHS = np.linspace(360.0, 780.0, 420)  # HDR-VDP's grid: 420 samples, step 420/419 nm


def load_spectral_table(path: str | Path) -> np.ndarray:
    """Read a comma-separated spectral table (first column nm) resampled to :data:`WAVELENGTHS`: ``(420, K)``."""
    from scipy.interpolate import PchipInterpolator

    path = Path(path)
    try:
        table = np.loadtxt(path, delimiter=",", ndmin=2)
    except (OSError, ValueError) as exc:
        raise HDRBenchError(f"cannot read spectral table ({exc}); expected comma-separated numbers", path) from exc
    if table.shape[1] < 2 or table.shape[0] < 2:
        raise HDRBenchError("spectral table needs a wavelength column and at least one data column", path)
    lam, cols = table[:, 0], table[:, 1:]
    out = PchipInterpolator(lam, cols, axis=0, extrapolate=False)(WAVELENGTHS)
    return np.nan_to_num(out, nan=0.0)


def lmsr_matrix(emission: np.ndarray, cones_log10: np.ndarray, scotopic: np.ndarray) -> np.ndarray:
    """``(channels, 4)`` matrix of L, M, S cone and rod responses to a unit value of each display channel.

    ``emission`` ``(420, C)``: emission spectra; ``cones_log10`` ``(420, 3)``: log10 cone fundamentals
    (zeros outside their range are replaced by the table minimum, as upstream does); ``scotopic`` ``(420, 1)``.
    """
    cones = cones_log10.copy()
    cones[cones == 0] = cones.min()
    return lmsr_from_sensitivities(emission, np.concatenate([10.0**cones, scotopic], axis=1))


def lmsr_matrix_from_hdrvdp_dir(hdrvdp_dir: str | Path, channels: int, rgb_display: str = "ccfl-lcd") -> np.ndarray:
    """:func:`lmsr_matrix` from the ``data/`` CSV files of a user's own HDR-VDP 2.2.x folder."""
    data = Path(hdrvdp_dir) / "data"
    name = f"emission_spectra_{rgb_display}.csv" if channels == 3 else "d65.csv"
    files = [data / "log_cone_smith_pokorny_1975.csv", data / "cie_scotopic_lum.txt", data / name]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise HDRBenchError(f"HDR-VDP data file not found: {missing[0]}; pass the folder that contains hdrvdp.m")
    emission = load_spectral_table(files[2])
    if channels == 1 and emission.shape[1] > 1:
        emission = emission.sum(axis=1, keepdims=True)
    return lmsr_matrix(emission, load_spectral_table(files[0]), load_spectral_table(files[1]))


class JNDTransducer:
    """Photoreceptor non-linearity: absolute response (cd/m^2-like units) -> JND-scaled response.

    Two lookup tables on ``logspace(-5, 5, 2048)``: index 0 for cones (L and M), index 1 for rods.
    """

    def __init__(self, params: HDRVDPParams):
        self.log_l, jnd_cone, jnd_rod = _jnd_tables(params.csf_sa, params.csf_sr_par, params.rod_sensitivity)
        self.tables = (jnd_cone * params.sensitivity_correction, jnd_rod * params.sensitivity_correction)

    def __call__(self, response: torch.Tensor, kind: int) -> torch.Tensor:
        """Map ``response`` (any shape, > 0) through table ``kind`` (0 cone, 1 rod); same dtype as the input."""
        lut = torch.as_tensor(self.tables[kind], dtype=response.dtype, device=response.device)
        lo, step = float(self.log_l[0]), float(self.log_l[1] - self.log_l[0])
        x = torch.log10(response.clamp(10.0**lo, 10.0 ** float(self.log_l[-1])))
        pos = ((x - lo) / step).clamp(0, lut.numel() - 1)
        i0 = pos.floor().long().clamp(max=lut.numel() - 2)
        frac = pos - i0
        return torch.lerp(lut[i0], lut[i0 + 1], frac)


@lru_cache(maxsize=4)
def _jnd_tables(csf_sa: tuple, csf_sr_par: tuple, rod_sens: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    params = HDRVDPParams(csf_sa=csf_sa, csf_sr_par=csf_sr_par, rod_sensitivity=rod_sens)
    c_l = np.logspace(-5, 5, 2048)
    s_a = joint_rod_cone_sensitivity(c_l, params)
    s_r = rod_sensitivity(c_l, params) * 10.0**rod_sens
    # cone sensitivity (per cone type, L = M): half the joint minus rod sensitivity, at twice the luminance
    s_c = 0.5 * np.interp(np.minimum(c_l * 2, c_l[-1]), c_l, np.maximum(s_a - s_r, 1e-3))
    log_l = np.log10(c_l)

    def integrate(s: np.ndarray) -> np.ndarray:  # JND scale: cumulative trapezoid of S*ln(10) in log10 L
        d = s * math.log(10)
        return np.concatenate([[0.0], np.cumsum((d[1:] + d[:-1]) / 2 * np.diff(log_l))])

    return log_l, integrate(s_c), integrate(s_r)


_DATA = Path(__file__).parent / "data"


@lru_cache(maxsize=1)
def standard_sensitivities() -> np.ndarray:
    """``(420, 4)`` L, M, S cone and rod curves on :data:`WAVELENGTHS` (``data/photoreceptor_sensitivities.csv``).

    Smith & Pokorny (1975) cone fundamentals with L and M scaled so that ``L + M`` is the Judd-Vos luminous
    efficiency (so ``L + M`` of a spectrum is its luminance, as HDR-VDP's ``L_adapt = L + M`` assumes), S peak 1,
    and the CIE 1951 scotopic curve V'(lambda), PCHIP-resampled to the grid (provenance: ``data/PROVENANCE.md``).
    """
    table = np.loadtxt(_DATA / "photoreceptor_sensitivities.csv", delimiter=",", comments="#")
    if table.shape != (WAVELENGTHS.size, 5) or np.abs(table[:, 0] - WAVELENGTHS).max() > 1e-5:
        raise HDRBenchError("photoreceptor table is not on the 420-sample 360-780 nm grid",
                            _DATA / "photoreceptor_sensitivities.csv")
    return table[:, 1:]


def gaussian_primaries(peak_nm: list[float], sigma_nm: list[float], amplitude: list[float]) -> np.ndarray:
    """``(420, C)`` emission spectra of display primaries modelled as Gaussians on :data:`WAVELENGTHS`."""
    peak, sigma, amp = (np.asarray(v, dtype=np.float64)[None, :] for v in (peak_nm, sigma_nm, amplitude))
    return amp * np.exp(-0.5 * ((WAVELENGTHS[:, None] - peak) / sigma) ** 2)


def lmsr_from_sensitivities(emission: np.ndarray, sens: np.ndarray) -> np.ndarray:
    """``(C, 4)`` matrix ``trapz(lambda, sens_k * E_c)`` for emission ``(420, C)`` and sensitivities ``(420, 4)``."""
    return np.trapezoid(emission[:, :, None] * sens[:, None, :], WAVELENGTHS, axis=0)


def display_model(name: str = "ccfl-lcd") -> dict:
    """The built-in display description ``data/display_models.json[name]`` (primaries and how they were estimated)."""
    import json

    models = json.loads((_DATA / "display_models.json").read_text())
    if name not in models:
        raise HDRBenchError(f"hdrvdp2: no built-in display model '{name}' (built in: {', '.join(models)}); "
                            "pass hdrvdp_dir (a copy of the HDR-VDP folder with its data/ spectra)")
    return models[name]


def default_lmsr_matrix(channels: int, rgb_display: str = "ccfl-lcd") -> np.ndarray:
    """The built-in ``(channels, 4)`` photoreceptor matrix: for 3 channels the display model's primaries integrated
    against :func:`standard_sensitivities`, for 1 channel D65 (see ``data/PROVENANCE.md``)."""
    if channels == 1:  # luminance input: D65 spectrum, L + M = 1
        return np.asarray(display_model("d65")["matrix"], dtype=np.float64)
    if channels != 3:
        raise HDRBenchError(f"hdrvdp2: no built-in photoreceptor matrix for {channels}-channel images; "
                            "pass hdrvdp_dir (a copy of the HDR-VDP folder with its data/ spectra)")
    prim = display_model(rgb_display)["primaries"]
    emission = gaussian_primaries(prim["peak_nm"], prim["sigma_nm"], prim["amplitude"])
    return lmsr_from_sensitivities(emission, standard_sensitivities())
