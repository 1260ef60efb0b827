"""HDR-VDP 2.2.1's own data files in the package: integrity, the published curves they hold, the photoreceptor
matrix built from them, ``rgb_display``, and ``hdrvdp_dir`` on a folder laid out like the release."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from hdrvdp2_rounding import FLOAT32_PATH, float32_tolerance

from hdrbench.errors import HDRBenchError
from hdrbench.metrics import create_metric
from hdrbench.metrics.hdrvdp2 import hdrvdp2
from hdrbench.metrics.hdrvdp2.photoreceptors import (
    DATA_DIR,
    RGB_DISPLAYS,
    default_lmsr_matrix,
    lmsr_matrix_from_hdrvdp_dir,
)

# the project's shared reference folder (../shared next to the checkout, or next to a worktree's parent)
SHARED = next((p / "shared" / "reference" / "hdrvdp2" / "hdrvdp-2.2.1-data" for p in Path(__file__).resolve().parents
               if (p / "shared" / "reference" / "hdrvdp2").is_dir()), Path("../shared/reference/hdrvdp2"))
# sha256 of the six files of the HDR-VDP 2.2.1 release (marcosarto/HDR_Regression, hdrvdp-2.2.1/, 9c08009)
SHA256 = {
    "cie_scotopic_lum.txt":
        "e4b8dd2ecac0bca3188604aed5c11d1e2f243f93be9cebd5d45b97d0aaf02831",
    "d65.csv":
        "1890f87f03a7bb91130ffd7cd355f2a323b0047138e7b70c0dbb9e5c2e61369d",
    "emission_spectra_ccfl-lcd.csv":
        "ac8ebdf85b919770318b16c3cffa7cd6b0f3f4a7ce648e817cc19c1182f1dd7c",
    "emission_spectra_crt.csv":
        "eb4892b09b264026d94df8985382d7c3f7c0acef701bcb0ff0c4f51937fc0896",
    "emission_spectra_led-lcd.csv":
        "3c852867cdef03fcba2d4ef8346fd5cb911ed5d6d9345422b83e5e35aa772209",
    "log_cone_smith_pokorny_1975.csv":
        "2a20d612dd59e5602ad7754c3de9f721b417a0e273c47830c23e2739374b8170",
}


def _table(name: str) -> np.ndarray:
    return np.loadtxt(DATA_DIR / name, delimiter=",")


@pytest.mark.parametrize("name", sorted(SHA256))
def test_shipped_files_are_the_release_files_byte_for_byte(name):
    assert hashlib.sha256((DATA_DIR / name).read_bytes()).hexdigest() == SHA256[name]
    if not SHARED.is_dir():
        pytest.skip(f"no shared reference copy at {SHARED} to compare with")
    assert (DATA_DIR / name).read_bytes() == (SHARED / name).read_bytes()


def test_cone_fundamentals_are_smith_pokorny_and_sum_to_judd_vos_luminance():
    """Independent copies of the standards (CVRL / CIE tables shipped by colour-science): L and M are
    Smith & Pokorny's peak-normalised curves times one constant each (to 2 %: all three differ by 1.3 % at
    465 nm from CVRL's current table), and L + M is the Judd-Vos V(lambda) (to 3e-3 of its peak)."""
    colour = pytest.importorskip("colour")
    table = _table("log_cone_smith_pokorny_1975.csv")
    nm, cones = table[:, 0], 10.0 ** table[:, 1:]
    sp = colour.colorimetry.MSDS_CMFS_LMS["Smith & Pokorny 1975 Normal Trichromats"]
    jv = colour.colorimetry.SDS_LEFS_PHOTOPIC["Judd-Vos Modified CIE 1978 Photopic Standard Observer"]
    band = (nm >= 400) & (nm <= 650)
    for k in (0, 1, 2):
        ref = np.interp(nm, sp.wavelengths, sp.values[:, k])
        keep = band & (ref > 1e-2)  # the S curve's long-wavelength tail is rounded to 0 in CVRL's table
        ratio = cones[keep, k] / ref[keep]
        np.testing.assert_allclose(ratio, np.median(ratio), rtol=2e-2, err_msg=f"cone {k}")
    v = np.interp(nm, jv.wavelengths, jv.values)
    np.testing.assert_allclose(cones[band, 0] + cones[band, 1], v[band], atol=3e-3)


def test_rod_curve_is_cie_1951_scotopic_and_d65_is_cie_d65():
    colour = pytest.importorskip("colour")
    rod = _table("cie_scotopic_lum.txt")
    cie = colour.colorimetry.SDS_LEFS_SCOTOPIC["CIE 1951 Scotopic Standard Observer"]
    np.testing.assert_allclose(rod[:, 1], np.interp(rod[:, 0], cie.wavelengths, cie.values), atol=1e-9)
    d65 = _table("d65.csv")  # about 1 nm steps, 380-730 nm; CIE table: 5 nm steps
    ref = colour.SDS_ILLUMINANTS["D65"]
    nm = ref.wavelengths[(ref.wavelengths >= 385) & (ref.wavelengths <= 725)]  # d65.csv: 380-730 nm
    ratio = np.interp(nm, d65[:, 0], d65[:, 1]) / np.interp(nm, ref.wavelengths, ref.values)
    np.testing.assert_allclose(ratio, np.median(ratio), rtol=4e-2)  # its own resampling: up to 3.6 % off


@pytest.mark.parametrize("display", RGB_DISPLAYS)
def test_each_display_is_a_physical_rgb_display_with_a_1_cd_m2_white(display):
    """What real R, G, B primaries give: luminance G > R > B, L:M falling and rod:luminance rising from R to B;
    HDR-VDP's spectra are scaled so that (1, 1, 1) has L + M (luminance) about 1 cd/m^2."""
    m = default_lmsr_matrix(3, display)
    lum = m[:, 0] + m[:, 1]
    assert lum[1] > lum[0] > lum[2] > 0
    l_share, rod_ratio = m[:, 0] / lum, m[:, 3] / lum
    assert l_share[0] > l_share[1] > l_share[2]
    assert rod_ratio[0] < rod_ratio[1] < rod_ratio[2]
    assert lum.sum() == pytest.approx(1.0, abs=0.01)


def test_matrix_is_the_trapezoid_integral_of_the_tables():
    """Hand computation with numpy (np.interp instead of PCHIP, so to 1 %): M[c, k] = trapz(S_k * E_c)."""
    grid = np.linspace(360.0, 780.0, 420)
    cones = _table("log_cone_smith_pokorny_1975.csv")
    rod = _table("cie_scotopic_lum.txt")
    emission = _table("emission_spectra_ccfl-lcd.csv")
    sens = [np.interp(grid, cones[:, 0], 10.0 ** cones[:, k], left=0, right=0) for k in (1, 2)]
    sens.append(np.interp(grid, rod[:, 0], rod[:, 1], left=0, right=0))
    expected = np.array([[np.trapezoid(s * np.interp(grid, emission[:, 0], emission[:, c]), grid) for s in sens]
                         for c in (1, 2, 3)])
    np.testing.assert_allclose(default_lmsr_matrix(3)[:, [0, 1, 3]], expected, rtol=1e-2)


def test_rgb_display_changes_the_matrix_and_q(hdrvdp2_reference_inputs):
    imgs = hdrvdp2_reference_inputs
    q = {d: float(hdrvdp2(imgs["test_blur"], imgs["ref"], "rgb-native", 24, 100.0, rgb_display=d,
                          compute_p_map=False).Q[0]) for d in RGB_DISPLAYS}
    assert len({round(v, 6) for v in q.values()}) == 3, q
    metric = create_metric("hdrvdp2", input_scale=100.0, rgb_display="led-lcd")
    pair = [torch.from_numpy(imgs[n]).permute(2, 0, 1)[None] for n in ("test_blur", "ref")]
    # the metric rounds its input to float32 first, so every later rounding differs too: two independent float32
    # evaluations (hdrvdp2_rounding: 4 standard deviations of sqrt(2 * 48) rounding scales, 9e-4 here), far
    # below the 0.06-0.26 that separates the three displays' Q
    tolerance = float32_tolerance(pair[0], pair[1], 100.0, default_lmsr_matrix(3, "led-lcd"), 2 * FLOAT32_PATH)
    assert float(metric(*pair)[0]) == pytest.approx(q["led-lcd"], abs=float(tolerance[0]))
    assert tolerance[0] < min(abs(q["led-lcd"] - q[d]) for d in RGB_DISPLAYS if d != "led-lcd") / 10


def test_d65_row_for_luminance_input_and_the_luminance_encoding():
    """1-channel input uses D65; its scotopic/photopic ratio is 2.47 in lumens (x 1700/683), as for CIE D65."""
    row = default_lmsr_matrix(1)[0]
    assert row[3] / (row[0] + row[1]) * 1700 / 683 == pytest.approx(2.47, abs=0.05)
    rng = np.random.default_rng(0)
    ref = 50 + 40 * rng.random((48, 40))
    res = hdrvdp2(np.stack([ref, ref * (1 + 0.05 * rng.standard_normal(ref.shape))]).clip(1)[:, None],
                  np.stack([ref, ref])[:, None], "luminance", 30)
    assert float(res.Q[0]) == 100.0 and 0 < float(res.Q[1]) < 100


def test_bad_display_or_channel_count_is_a_one_line_error():
    with pytest.raises(HDRBenchError, match="1-channel"):
        default_lmsr_matrix(2)
    with pytest.raises(HDRBenchError, match="unknown rgb_display 'oled'"):
        default_lmsr_matrix(3, "oled")


def _release_folder(root: Path, layout: str) -> Path:
    """A folder laid out like the HDR-VDP 2.2.1 release (data files next to hdrvdp.m) or with a data/ subfolder."""
    folder = root / "hdrvdp-2.2.1"
    target = folder if layout == "release" else folder / "data"
    target.mkdir(parents=True)
    (folder / "hdrvdp.m").write_text("function res = hdrvdp(test, reference, color_encoding, ppd, options)\n")
    (folder / "matlabPyrTools_1.4_fixed").mkdir()
    for name in SHA256:
        shutil.copyfile(DATA_DIR / name, target / name)
    return folder


@pytest.mark.parametrize("layout", ["release", "data-subfolder"])
def test_hdrvdp_dir_reads_the_release_layout_and_gives_the_shipped_q(tmp_path, layout, hdrvdp2_reference_inputs):
    folder = _release_folder(tmp_path, layout)
    np.testing.assert_array_equal(lmsr_matrix_from_hdrvdp_dir(folder, 3, "crt"), default_lmsr_matrix(3, "crt"))
    imgs = hdrvdp2_reference_inputs
    shipped = hdrvdp2(imgs["test_noise"], imgs["ref"], "rgb-native", 24, 1.0, compute_p_map=False).Q
    theirs = hdrvdp2(imgs["test_noise"], imgs["ref"], "rgb-native", 24, 1.0, hdrvdp_dir=folder,
                     compute_p_map=False).Q
    assert torch.equal(shipped, theirs)


def test_hdrvdp_dir_without_the_data_files_names_the_missing_file(tmp_path):
    folder = _release_folder(tmp_path, "release")
    (folder / "emission_spectra_led-lcd.csv").unlink()
    with pytest.raises(HDRBenchError, match="'emission_spectra_led-lcd.csv' not found in .*hdrvdp.m"):
        lmsr_matrix_from_hdrvdp_dir(folder, 3, "led-lcd")


def test_score_cli_with_hdrvdp_dir_on_the_release_layout_gives_the_shipped_q(tmp_path, capsys,
                                                                            hdrvdp2_reference_inputs):
    """``hdrbench score --hdrvdp-dir PATH`` (torch port) on a folder laid out like the 2.2.1 release."""
    import json

    from hdrbench.cli import main

    folder = _release_folder(tmp_path, "release")
    imgs = hdrvdp2_reference_inputs
    np.save(tmp_path / "pred.npy", imgs["test_blur"].astype(np.float32))
    np.save(tmp_path / "gt.npy", imgs["ref"].astype(np.float32))
    q = []
    for extra in ([], ["--hdrvdp-dir", str(folder)]):
        main(["score", str(tmp_path / "pred.npy"), str(tmp_path / "gt.npy"), "--metric", "hdrvdp2", "--json",
              *extra])
        q.append(json.loads(capsys.readouterr().out)["metrics"]["hdrvdp2"])
    assert q[0] == q[1] and 0 < q[0] < 100


def test_precomputed_matrices_equal_a_fresh_computation_from_the_spectra():
    """default_lmsr_matrix reads lmsr_matrices.json (no scipy at score time); it must be what the shipped spectra
    give through PCHIP and trapz (regenerate: python -m hdrbench.metrics.hdrvdp2.photoreceptors)."""
    for display in RGB_DISPLAYS:
        fresh = lmsr_matrix_from_hdrvdp_dir(DATA_DIR, 3, display)
        np.testing.assert_array_equal(default_lmsr_matrix(3, display), fresh)
    np.testing.assert_array_equal(default_lmsr_matrix(1), lmsr_matrix_from_hdrvdp_dir(DATA_DIR, 1))


def test_scoring_hdrvdp2_imports_no_scipy_interpolate():
    import subprocess
    import sys

    code = ("import sys, torch\nfrom hdrbench.metrics import create_metric\n"
            "x = torch.rand(1, 3, 64, 64)\ncreate_metric('hdrvdp2')(x * 0.9, x)\n"
            "print('scipy.interpolate' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
