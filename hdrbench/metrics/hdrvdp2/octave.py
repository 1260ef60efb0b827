"""Run the user's own copy of the original MATLAB HDR-VDP 2.2.x under GNU Octave (``backend="octave"``).

Needs ``octave-cli`` (Debian: ``apt-get install octave octave-image``) and a folder containing ``hdrvdp.m``
(and its ``matlabPyrTools_1.4_fixed``). Under Octave, 2.2.1 needs the small compatibility fixes listed in
the README (drop ``'symmetric'`` from ``ifft2`` in ``fast_conv_fft.m``/``fast_gauss.m``); nothing is
downloaded or modified by hdrbench.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import torch

from hdrbench.errors import HDRBenchError
from hdrbench.metrics.hdrvdp2.photoreceptors import emission_file_name

_SCRIPT = """
addpath('{hdrvdp_dir}');
pkg load image;
warning('off', 'all');
load('{inputs}');
res = hdrvdp(test * {scale}, reference * {scale}, '{encoding}', {ppd}, {{{options}}});
fid = fopen('{outputs}', 'w');
fprintf(fid, '%.12g %.12g %.12g\\n', res.Q, res.P_det, res.C_max);
fclose(fid);
"""


def _first_error(log: str) -> str:
    """The first ``error: ...`` line of an Octave log (not the exit noise some builds print), else its last line."""
    lines = [ln.strip() for ln in log.strip().splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:") and "while preparing to exit" not in ln]
    return (errors or lines or ["no output"])[0 if errors else -1]


def octave_binary() -> str | None:
    """Path of ``octave-cli`` (or ``octave``) on ``PATH``, or None."""
    return shutil.which("octave-cli") or shutil.which("octave")


def hdrvdp2_octave(test: torch.Tensor | np.ndarray, reference: torch.Tensor | np.ndarray, hdrvdp_dir: str | Path | None,
                   color_encoding: str = "rgb-native", pixels_per_degree: float = 24.0, input_scale: float = 1.0,
                   timeout_s: float = 600.0, rgb_display: str = "ccfl-lcd") -> dict[str, float]:
    """Q, P_det and C_max of the original ``hdrvdp(test*s, reference*s, encoding, ppd, {})`` under Octave
    (options ``{'rgb_display', d}`` when ``rgb_display`` is not 2.2.1's default ``ccfl-lcd``).

    ``test``/``reference``: ``(C, H, W)`` tensors or ``(H, W[, C])`` arrays of one image pair.
    """
    from scipy.io import savemat

    binary = octave_binary()
    if binary is None:
        raise HDRBenchError("hdrvdp2 backend 'octave': GNU Octave not found on PATH "
                            "(install it: apt-get install octave octave-image)")
    if hdrvdp_dir is None or not (Path(hdrvdp_dir) / "hdrvdp.m").is_file():
        raise HDRBenchError(f"hdrvdp2 backend 'octave': octave_path '{hdrvdp_dir}' must be the HDR-VDP 2.2.x folder "
                            "that contains hdrvdp.m")

    emission_file_name(3, rgb_display)  # a known display (one-line error otherwise)
    options = "" if rgb_display == "ccfl-lcd" else f"'rgb_display', '{rgb_display}'"

    def hwc(x: torch.Tensor | np.ndarray) -> np.ndarray:
        a = x.detach().cpu().double().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, dtype=np.float64)
        return np.ascontiguousarray(a.transpose(1, 2, 0)) if isinstance(x, torch.Tensor) and a.ndim == 3 else a

    with tempfile.TemporaryDirectory(prefix="hdrbench_hdrvdp_") as tmp:
        inputs, outputs, script = Path(tmp, "in.mat"), Path(tmp, "out.txt"), Path(tmp, "run_hdrvdp.m")
        savemat(inputs, {"test": hwc(test), "reference": hwc(reference)})
        script.write_text(_SCRIPT.format(hdrvdp_dir=Path(hdrvdp_dir).resolve(), inputs=inputs, outputs=outputs,
                                         scale=repr(float(input_scale)), encoding=color_encoding,
                                         ppd=repr(float(pixels_per_degree)), options=options))
        try:
            proc = subprocess.run([binary, "--quiet", "--no-window-system", str(script)], capture_output=True,
                                  text=True, timeout=timeout_s, cwd=tmp)
        except subprocess.TimeoutExpired as exc:
            raise HDRBenchError(f"hdrvdp2 backend 'octave': no result after {timeout_s:.0f} s") from exc
        if proc.returncode != 0 or not outputs.is_file():
            raise HDRBenchError(f"hdrvdp2 backend 'octave' failed: {_first_error(proc.stderr or proc.stdout)}")
        q, p_det, c_max = (float(v) for v in outputs.read_text().split())
    return {"Q": q, "P_det": p_det, "C_max": c_max}
