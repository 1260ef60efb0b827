"""The built-in display model of the HDR-VDP-2 port: standard sensitivities and the photoreceptor matrix."""

from __future__ import annotations

import numpy as np
import pytest

from hdrbench.errors import HDRBenchError
from hdrbench.metrics.hdrvdp2.photoreceptors import (
    WAVELENGTHS,
    default_lmsr_matrix,
    gaussian_primaries,
    lmsr_from_sensitivities,
    standard_sensitivities,
)


def _at(nm: float) -> np.ndarray:
    sens = standard_sensitivities()
    return np.array([np.interp(nm, WAVELENGTHS, sens[:, k]) for k in range(4)])


@pytest.mark.parametrize(("nm", "v_photopic", "v_scotopic"), [(500, 0.323, 0.982), (550, 0.995, 0.481),
                                                               (600, 0.631, 0.03315)])
def test_sensitivities_match_published_cie_values(nm, v_photopic, v_scotopic):
    """CIE tables: photopic V (Judd-Vos equals CIE 1924 above 460 nm) and scotopic V' at 500/550/600 nm;
    Smith & Pokorny's L + M is V by construction."""
    l_, m, _, rod = _at(nm)
    assert l_ + m == pytest.approx(v_photopic, rel=0.01)
    assert rod == pytest.approx(v_scotopic, rel=0.01)


def test_sensitivities_equal_colour_science_tables():
    """Independent copy of the same standards (CVRL / CIE tables shipped by colour-science)."""
    colour = pytest.importorskip("colour")
    from scipy.interpolate import PchipInterpolator

    sp = colour.colorimetry.MSDS_CMFS_LMS["Smith & Pokorny 1975 Normal Trichromats"]
    rod = colour.colorimetry.SDS_LEFS_SCOTOPIC["CIE 1951 Scotopic Standard Observer"]
    jv = colour.colorimetry.SDS_LEFS_PHOTOPIC["Judd-Vos Modified CIE 1978 Photopic Standard Observer"]
    grid = lambda sd: np.nan_to_num(PchipInterpolator(sd.wavelengths, sd.values, extrapolate=False)(WAVELENGTHS))  # noqa: E731
    sens = standard_sensitivities()
    np.testing.assert_allclose(sens[:, 3], grid(rod), atol=1e-9)
    np.testing.assert_allclose(sens[:, 2], grid(sp)[:, 2], atol=1e-9)
    cones = grid(sp)
    for k in (0, 1):  # L and M are the peak-normalised CVRL curves times one constant each
        scale = sens[:, k].max() / cones[:, k].max()
        np.testing.assert_allclose(sens[:, k], cones[:, k] * scale, atol=1e-9)
    np.testing.assert_allclose(sens[:, 0] + sens[:, 1], grid(jv), atol=4e-3)


def test_gaussian_primary_integrates_to_its_area():
    """Hand-derived: a unit Gaussian of sigma s has area s*sqrt(2 pi); against a flat sensitivity, that is the row."""
    emission = gaussian_primaries([560.0], [15.0], [2.0])
    row = lmsr_from_sensitivities(emission, np.ones((WAVELENGTHS.size, 4)))
    np.testing.assert_allclose(row, 2.0 * 15.0 * np.sqrt(2 * np.pi), rtol=1e-6)


def test_built_in_display_is_a_physical_rgb_display():
    """What any real R, G, B primaries give: luminance G > R > B; L:M falls and rod:luminance rises from R to B."""
    m = default_lmsr_matrix(3)
    lum = m[:, 0] + m[:, 1]
    assert lum[1] > lum[0] > lum[2] > 0
    l_share, rod_ratio = m[:, 0] / lum, m[:, 3] / lum
    assert l_share[0] > l_share[1] > l_share[2]
    assert rod_ratio[0] < rod_ratio[1] < rod_ratio[2]


def test_fitted_display_white_is_one_cd_m2():
    """Not imposed by the fit: HDR-VDP's display spectra are normalised so that (1, 1, 1) is about 1 cd/m^2."""
    m = default_lmsr_matrix(3)
    assert (m[:, 0] + m[:, 1]).sum() == pytest.approx(1.0, abs=0.01)


def test_d65_row_for_luminance_input_has_the_published_s_p_ratio():
    """1-channel input uses D65 with L + M = 1; D65's scotopic/photopic ratio is 2.47 in lumens (x 1700/683)."""
    row = default_lmsr_matrix(1)[0]
    assert row[0] + row[1] == pytest.approx(1.0, abs=1e-6)
    assert row[3] * 1700 / 683 == pytest.approx(2.47, abs=0.05)


def test_luminance_encoding_runs_with_the_built_in_d65():
    from hdrbench.metrics.hdrvdp2 import hdrvdp2

    rng = np.random.default_rng(0)
    ref = 50 + 40 * rng.random((48, 40))
    res = hdrvdp2(np.stack([ref, ref * (1 + 0.05 * rng.standard_normal(ref.shape))]).clip(1)[:, None],
                  np.stack([ref, ref])[:, None], "luminance", 30)
    assert float(res.Q[0]) == 100.0 and 0 < float(res.Q[1]) < 100


def test_no_built_in_matrix_for_other_channel_counts():
    with pytest.raises(HDRBenchError, match="hdrvdp_dir"):
        default_lmsr_matrix(2)
    with pytest.raises(HDRBenchError, match="no built-in display model"):
        default_lmsr_matrix(3, "oled")


def test_hdrvdp_dir_spectra_are_read_and_integrated_like_upstream(tmp_path):
    """A user's HDR-VDP folder: log10 cone table, scotopic table and display CSV (first column nm, upstream's
    formats) written from the built-in curves must give the matrix of those curves (up to PCHIP resampling;
    primaries with no light below 400 nm, where the cone table is zero and upstream works in log10)."""
    from hdrbench.metrics.hdrvdp2.photoreceptors import lmsr_matrix_from_hdrvdp_dir

    nm = np.arange(380.0, 781.0, 1.0)
    sens = np.stack([np.interp(nm, WAVELENGTHS, standard_sensitivities()[:, k]) for k in range(4)], 1)
    emission = gaussian_primaries([610.0, 540.0, 465.0], [15.0, 15.0, 15.0], [1.0, 2.0, 1.5])
    data = tmp_path / "data"
    data.mkdir()
    with np.errstate(divide="ignore"):
        log_cones = np.where(sens[:, :3] > 0, np.log10(np.maximum(sens[:, :3], 1e-300)), 0.0)  # 0 = "no data"
    np.savetxt(data / "log_cone_smith_pokorny_1975.csv", np.column_stack([nm, log_cones]), delimiter=",")
    np.savetxt(data / "cie_scotopic_lum.txt", np.column_stack([nm, sens[:, 3]]), delimiter=",")
    e_nm = np.stack([np.interp(nm, WAVELENGTHS, emission[:, c]) for c in range(3)], 1)
    np.savetxt(data / "emission_spectra_ccfl-lcd.csv", np.column_stack([nm, e_nm]), delimiter=",")
    ours = lmsr_matrix_from_hdrvdp_dir(tmp_path, 3)
    expected = lmsr_from_sensitivities(emission, standard_sensitivities())
    np.testing.assert_allclose(ours[:, [0, 1, 3]], expected[:, [0, 1, 3]], rtol=2e-3)
    with pytest.raises(HDRBenchError, match="not found"):
        lmsr_matrix_from_hdrvdp_dir(tmp_path / "nowhere", 3)
