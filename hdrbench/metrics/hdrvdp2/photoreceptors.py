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
    sens = np.concatenate([10.0**cones, scotopic], axis=1)
    return np.trapezoid(emission[:, :, None] * sens[:, None, :], WAVELENGTHS, axis=0)


DATA_DIR = Path(__file__).parent / "data"  # the six data files of HDR-VDP 2.2.1, byte for byte (PROVENANCE.md)
RGB_DISPLAYS = ("ccfl-lcd", "led-lcd", "crt")  # the emission spectra HDR-VDP 2.2.1 ships (``rgb_display``)
_CONES, _RODS = "log_cone_smith_pokorny_1975.csv", "cie_scotopic_lum.txt"


def hdrvdp_data_file(folder: str | Path, name: str) -> Path:
    """``folder/name`` as the 2.2.1 release lays it out (next to ``hdrvdp.m``), else ``folder/data/name``."""
    folder = Path(folder)
    for candidate in (folder / name, folder / "data" / name):
        if candidate.is_file():
            return candidate
    raise HDRBenchError(f"HDR-VDP data file '{name}' not found in {folder} nor in {folder / 'data'}; "
                        "pass the HDR-VDP 2.2.x folder that contains hdrvdp.m and its data files")


def emission_file_name(channels: int, rgb_display: str) -> str:
    """The spectra ``hdrvdp.m`` reads: ``emission_spectra_<rgb_display>.csv`` for 3 channels, ``d65.csv`` for 1."""
    if channels == 1:
        return "d65.csv"
    if channels != 3:
        raise HDRBenchError(f"hdrvdp2: HDR-VDP-2 takes 1-channel (luminance) or 3-channel (RGB) images, got {channels}")
    if rgb_display not in RGB_DISPLAYS:
        raise HDRBenchError(f"hdrvdp2: unknown rgb_display '{rgb_display}' (HDR-VDP 2.2.1 ships: "
                            f"{', '.join(RGB_DISPLAYS)})")
    return f"emission_spectra_{rgb_display}.csv"


def lmsr_matrix_from_hdrvdp_dir(hdrvdp_dir: str | Path, channels: int, rgb_display: str = "ccfl-lcd") -> np.ndarray:
    """``(channels, 4)`` photoreceptor matrix from the data files of an HDR-VDP 2.2.x folder, as ``hdrvdp.m``
    builds it (1-channel input: D65; several emission columns summed)."""
    return _lmsr_matrix_cached(Path(hdrvdp_dir).resolve(), channels, rgb_display).copy()


@lru_cache(maxsize=16)
def _lmsr_matrix_cached(hdrvdp_dir: Path, channels: int, rgb_display: str) -> np.ndarray:
    name = emission_file_name(channels, rgb_display)
    files = [hdrvdp_data_file(hdrvdp_dir, f) for f in (_CONES, _RODS, name)]
    emission = load_spectral_table(files[2])
    if channels == 1 and emission.shape[1] > 1:
        emission = emission.sum(axis=1, keepdims=True)
    return lmsr_matrix(emission, load_spectral_table(files[0]), load_spectral_table(files[1]))


#: The matrices :func:`default_lmsr_matrix` returns, computed from the shipped data files by
#: :func:`lmsr_matrices_from_hdrvdp_dir` (``python -m hdrbench.metrics.hdrvdp2.photoreceptors`` rewrites it; a test
#: checks it equals a fresh computation). Reading it spares every score scipy's interpolate module (~0.3 s).
LMSR_TABLE = DATA_DIR / "lmsr_matrices.json"


def lmsr_matrices_from_hdrvdp_dir(hdrvdp_dir: str | Path) -> dict[str, list[list[float]]]:
    """Every photoreceptor matrix of an HDR-VDP folder: ``{rgb_display: (3, 4)}`` and ``{"luminance": (1, 4)}``."""
    table = {d: lmsr_matrix_from_hdrvdp_dir(hdrvdp_dir, 3, d).tolist() for d in RGB_DISPLAYS}
    table["luminance"] = lmsr_matrix_from_hdrvdp_dir(hdrvdp_dir, 1).tolist()
    return table


@lru_cache(maxsize=1)
def _shipped_lmsr_matrices() -> dict[str, np.ndarray]:
    import json

    try:
        return {k: np.array(v, dtype=np.float64) for k, v in json.loads(LMSR_TABLE.read_text()).items()}
    except (OSError, ValueError) as exc:
        raise HDRBenchError(f"cannot read the photoreceptor matrices ({exc}); reinstall hdrbench", LMSR_TABLE) from None


def default_lmsr_matrix(channels: int, rgb_display: str = "ccfl-lcd") -> np.ndarray:
    """The ``(channels, 4)`` matrix of the shipped HDR-VDP 2.2.1 data (:data:`DATA_DIR`, precomputed in
    :data:`LMSR_TABLE`)."""
    emission_file_name(channels, rgb_display)  # the same errors as for a folder's files
    return _shipped_lmsr_matrices()["luminance" if channels == 1 else rgb_display].copy()


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


if __name__ == "__main__":  # regenerate LMSR_TABLE from the shipped spectra
    import json

    LMSR_TABLE.write_text(json.dumps(lmsr_matrices_from_hdrvdp_dir(DATA_DIR), indent=1) + "\n")
    print(f"wrote {LMSR_TABLE}")
