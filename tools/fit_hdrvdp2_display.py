"""Estimate the primaries of HDR-VDP's default ``ccfl-lcd`` display from the Octave reference values.

HDR-VDP 2.2.x integrates its measured display emission spectra (``emission_spectra_ccfl-lcd.csv``, not
available offline) against the cone and rod sensitivities. This tool models each primary as a Gaussian
(peak wavelength and amplitude fitted, width fixed), integrates it against the standard sensitivities
shipped in ``hdrbench/metrics/hdrvdp2/data/photoreceptor_sensitivities.csv`` and fits the 6 parameters to
the Q values of ``tests/data/hdrvdp2/expected.json`` by least squares. ``--cv`` also refits with each input
scale held out and prints the held-out errors (the validation quoted in the README).

    .venv/bin/python tools/fit_hdrvdp2_display.py --cv            # fit + 3 held-out folds (~15 min, 1 core)
    .venv/bin/python tools/fit_hdrvdp2_display.py --write         # refit and update data/display_models.json
    .venv/bin/python tools/fit_hdrvdp2_display.py --sensitivities # rebuild the sensitivity table (colour-science)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hdrbench.metrics.hdrvdp2 import hdrvdp2  # noqa: E402
from hdrbench.metrics.hdrvdp2.photoreceptors import (  # noqa: E402
    WAVELENGTHS,
    gaussian_primaries,
    lmsr_from_sensitivities,
    standard_sensitivities,
)

DATA = ROOT / "hdrbench" / "metrics" / "hdrvdp2" / "data"
REFERENCE = ROOT / "tests" / "data" / "hdrvdp2"
SIGMA_NM = (20.0, 20.0, 30.0)  # widths of the R, G, B primaries (chosen by held-out error, README)
START_PEAK_NM = (615.0, 535.0, 455.0)
PEAK_BOUNDS_NM = ((580.0, 500.0, 430.0), (650.0, 570.0, 490.0))  # red, green and blue stay red, green and blue
START_LUMINANCE = (0.19, 0.63, 0.17)  # L+M share of each primary for white, roughly BT.709-like


def build_sensitivity_table() -> None:
    """Write ``photoreceptor_sensitivities.csv`` from colour-science's CVRL/CIE tables (dev-only dependency)."""
    import colour
    from scipy.interpolate import PchipInterpolator

    lms = colour.colorimetry.MSDS_CMFS_LMS["Smith & Pokorny 1975 Normal Trichromats"]
    v_jv = colour.colorimetry.SDS_LEFS_PHOTOPIC["Judd-Vos Modified CIE 1978 Photopic Standard Observer"]
    rod = colour.colorimetry.SDS_LEFS_SCOTOPIC["CIE 1951 Scotopic Standard Observer"]

    def on_grid(sd) -> np.ndarray:
        return np.nan_to_num(PchipInterpolator(sd.wavelengths, sd.values, axis=0, extrapolate=False)(WAVELENGTHS))

    cones, v, r = on_grid(lms), on_grid(v_jv), on_grid(rod)
    k, *_ = np.linalg.lstsq(cones[:, :2], v, rcond=None)  # L + M = V (Judd-Vos): Smith & Pokorny's own scaling
    rows = ["# wavelength_nm,L,M,S,rod on linspace(360,780,420); see PROVENANCE.md"]
    rows += [f"{w:.6f},{a * k[0]:.10g},{b * k[1]:.10g},{c:.10g},{d:.10g}"
             for w, (a, b, c), d in zip(WAVELENGTHS, cones, r)]
    (DATA / "photoreceptor_sensitivities.csv").write_text("\n".join(rows) + "\n")
    print(f"L, M scale {k}; max |L+M-V| {np.abs(cones[:, :2] @ k - v).max():.2e}")
    d65 = on_grid(colour.SDS_ILLUMINANTS["D65"])[:, None]  # 1-channel ('luminance') input, as HDR-VDP's d65.csv
    row = lmsr_from_sensitivities(d65, standard_sensitivities.__wrapped__())[0]
    models = json.loads((DATA / "display_models.json").read_text())
    models["d65"]["matrix"] = [[float(f"{v:.8g}") for v in row / (row[0] + row[1])]]
    (DATA / "display_models.json").write_text(json.dumps(models, indent=1) + "\n")


def load_cases() -> tuple[torch.Tensor, torch.Tensor, dict]:
    expected = json.loads((REFERENCE / "expected.json").read_text())
    names = ("test_noise", "test_blur", "test_clip")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, str(REFERENCE / "make_inputs.py"), tmp], check=True, capture_output=True)
        imgs = {n: torch.from_numpy(np.load(Path(tmp, f"{n}.npy"))).permute(2, 0, 1) for n in names + ("ref",)}
    tests = torch.stack([imgs[n] for n in names])
    cases = {(c["test"], c["input_scale"]): c for c in expected["cases"] if c["test"] != "ref"}
    return tests, imgs["ref"].expand_as(tests), {"names": names, "cases": cases}


WHITE: float | None = None  # --white: L + M of the display's white fixed (one parameter fewer)


def matrix(x: np.ndarray) -> np.ndarray:
    """Parameters ``[log amplitude x3, peak nm x3]`` -> ``(3, 4)`` photoreceptor matrix."""
    m = lmsr_from_sensitivities(gaussian_primaries(x[3:6], SIGMA_NM, np.exp(x[:3])), standard_sensitivities())
    return m if WHITE is None else m * (WHITE / (m[:, 0] + m[:, 1]).sum())


def predict(x: np.ndarray, tests: torch.Tensor, ref: torch.Tensor, meta: dict) -> dict:
    out = {}
    for scale in sorted({s for _, s in meta["cases"]}):
        q = hdrvdp2(tests, ref, "rgb-native", 24, scale, lmsr=matrix(x), compute_p_map=False).Q
        out.update({(n, scale): float(q[i]) for i, n in enumerate(meta["names"])})
    return out


def fit(keys: list, tests: torch.Tensor, ref: torch.Tensor, meta: dict) -> np.ndarray:
    from scipy.optimize import least_squares

    unit = matrix(np.concatenate([np.zeros(3), START_PEAK_NM]))
    x0 = np.concatenate([np.log(np.array(START_LUMINANCE) / (unit[:, 0] + unit[:, 1])), START_PEAK_NM])

    def residual(x: np.ndarray) -> np.ndarray:
        q = predict(x, tests, ref, meta)
        return np.array([q[k] - meta["cases"][k]["Q"] for k in keys])

    bounds = ([-np.inf] * 3 + list(PEAK_BOUNDS_NM[0]), [np.inf] * 3 + list(PEAK_BOUNDS_NM[1]))
    return least_squares(residual, x0, bounds=bounds, diff_step=[1e-3] * 3 + [1e-4] * 3,
                         x_scale=[0.1] * 3 + [5.0] * 3, max_nfev=80).x


def main() -> None:
    global SIGMA_NM, WHITE
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cv", action="store_true", help="also refit with each input scale held out")
    ap.add_argument("--write", action="store_true", help="write the all-case fit to data/display_models.json")
    ap.add_argument("--sensitivities", action="store_true", help="rebuild the sensitivity table (colour-science)")
    ap.add_argument("--sigma", default=",".join(f"{v:g}" for v in SIGMA_NM),
                    help="widths of the R,G,B primaries in nm (default %(default)s)")
    ap.add_argument("--white", type=float, default=None, help="fix L+M of the display white (e.g. 1)")
    args = ap.parse_args()
    SIGMA_NM = tuple(float(v) for v in args.sigma.split(","))
    WHITE = args.white
    torch.set_num_threads(1)
    if args.sensitivities:
        build_sensitivity_table()
        return
    tests, ref, meta = load_cases()
    keys = list(meta["cases"])
    folds = {"all": keys}
    if args.cv:
        folds.update({f"x{s:g} held out": [k for k in keys if k[1] != s] for s in sorted({s for _, s in keys})})
    for name, fold in folds.items():
        x = fit(fold, tests, ref, meta)
        q = predict(x, tests, ref, meta)
        print(f"\n{name}: peaks {np.round(x[3:], 2)} nm, amplitudes {np.exp(x[:3])}")
        for k in keys:
            tag = "" if k in fold else "  (held out)"
            print(f"  {k[0]:11s} x{k[1]:<6g} Q {q[k]:8.4f}  expected {meta['cases'][k]['Q']:8.4f}"
                  f"  dQ {q[k] - meta['cases'][k]['Q']:+.4f}{tag}")
        if name == "all" and args.write:
            models = json.loads((DATA / "display_models.json").read_text())
            models["ccfl-lcd"]["primaries"] = {"peak_nm": [round(v, 6) for v in x[3:].tolist()],
                                               "sigma_nm": list(SIGMA_NM),
                                               "amplitude": [float(f"{v:.8g}") for v in np.exp(x[:3])]}
            (DATA / "display_models.json").write_text(json.dumps(models, indent=1) + "\n")


if __name__ == "__main__":
    main()
