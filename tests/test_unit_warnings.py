"""Unit trouble is never silent: a prediction in other units than its ground truth (or constant) is noted with
its scores, ``data synth`` refuses a headroom that whitens the ground truth and warns when it is clipped, and
``predict --half`` never writes fp16 overflow as inf."""

from __future__ import annotations

import numpy as np
import pytest

from hdrbench import io
from hdrbench.errors import HDRBenchError


# -- predict --half -------------------------------------------------------------------------------------------
def _exr_dtype(path) -> np.dtype:
    import OpenEXR

    with OpenEXR.File(str(path)) as f:
        return f.channels()["RGB"].pixels.dtype


def test_predict_half_never_writes_inf(tmp_path, rng, run_main):
    io.write_ldr(tmp_path / "in.png", rng.random((16, 16, 3)))
    code, _, err = run_main("predict", "--method", "identity", "--option", "scale=100000", "--half",
                            tmp_path / "in.png", tmp_path / "big.exr")
    assert code == 0, err
    assert "exceed half-float's maximum 65504" in err and "written as float32" in err
    hdr = io.read_hdr(tmp_path / "big.exr")
    assert np.isfinite(hdr).all() and hdr.max() > 65504 and _exr_dtype(tmp_path / "big.exr") == np.float32
    assert io.read_exr_attributes(tmp_path / "big.exr")["precision"] == "float32"
    code, _, err = run_main("predict", "--method", "identity", "--half", tmp_path / "in.png", tmp_path / "ok.exr")
    assert code == 0 and "warning" not in err, err
    assert _exr_dtype(tmp_path / "ok.exr") == np.float16
    assert io.read_exr_attributes(tmp_path / "ok.exr")["precision"] == "half"


def test_write_exr_half_refuses_overflow(tmp_path):
    img = np.full((4, 4, 3), 1e5, np.float32)
    assert io.half_overflow(img) == 48 and io.half_overflow(img / 2) == 0
    with pytest.raises(HDRBenchError, match="would be inf"):
        io.write_exr(tmp_path / "x.exr", img, half=True)
    assert not (tmp_path / "x.exr").exists()
