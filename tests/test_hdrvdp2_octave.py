"""The ``octave`` backend of ``hdrvdp2``: data round trip through GNU Octave (skipped where Octave is missing).

A stand-in ``hdrvdp.m`` with the original's signature returns numbers that expose the argument order, the
input scale, the ``(H, W, C)`` layout and the options, so the plumbing is checked without the HDR-VDP code;
the real code is checked by ``test_hdrvdp2.py::test_octave_backend_matches_expected_json`` (``HDRVDP_DIR``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hdrbench.errors import HDRBenchError
from hdrbench.metrics import create_metric
from hdrbench.metrics.hdrvdp2.octave import hdrvdp2_octave, octave_binary


def _image_package() -> bool:
    """The backend loads Octave's image package (as HDR-VDP needs): without it every call fails the same way."""
    import subprocess

    try:
        return subprocess.run([octave_binary(), "--no-gui", "-q", "--eval", "pkg load image"], capture_output=True,
                              timeout=120).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


pytestmark = [
    pytest.mark.skipif(octave_binary() is None, reason="GNU Octave not installed (apt-get install octave)"),
    pytest.mark.skipif(octave_binary() is not None and not _image_package(),
                       reason="Octave's image package not installed (apt-get install octave-image)"),
]

_STUB = """function res = hdrvdp( test, reference, color_encoding, pixels_per_degree, options )
res.Q = 100 - mean( abs( test(:) - reference(:) ) );
res.P_det = mean( test(:,:,1)(:) ) / mean( reference(:) ) + numel( options );
res.C_max = pixels_per_degree * 1000 + size( test, 1 ) * 10 + size( test, 3 ) ...
    + strcmp( color_encoding, 'rgb-native' ) / 2;
end
"""


@pytest.fixture(scope="module")
def stub_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hdrvdp_stub")
    (folder / "hdrvdp.m").write_text(_STUB)
    return folder


def test_numpy_pair_reaches_octave_in_order_scaled_and_hwc(stub_dir):
    rng = np.random.default_rng(0)
    test, ref = rng.random((7, 5, 3)), rng.random((7, 5, 3))
    res = hdrvdp2_octave(test, ref, stub_dir, "rgb-native", 24, 100.0)
    assert res["Q"] == pytest.approx(100 - 100 * np.abs(test - ref).mean(), abs=1e-8)
    assert res["P_det"] == pytest.approx(test[:, :, 0].mean() / ref.mean(), abs=1e-9)  # test first, channel 0 = R
    assert res["C_max"] == 24000 + 70 + 3 + 0.5  # ppd, 7 rows, 3 channels, encoding passed through


def test_rgb_display_reaches_octave_as_an_option(stub_dir):
    """The default display sends no option (the reference call's ``{}``); another sends one name-value pair."""
    test, ref = np.full((4, 4, 3), 0.5), np.full((4, 4, 3), 0.5)
    assert hdrvdp2_octave(test, ref, stub_dir, "rgb-native", 24, 1.0)["P_det"] == pytest.approx(1.0)
    assert hdrvdp2_octave(test, ref, stub_dir, "rgb-native", 24, 1.0, rgb_display="led-lcd")["P_det"] == \
        pytest.approx(3.0)  # numel({'rgb_display', 'led-lcd'}) = 2


def test_metric_interface_with_octave_backend_takes_nchw_tensors(stub_dir):
    rng = np.random.default_rng(1)
    pred, gt = torch.from_numpy(rng.random((2, 3, 6, 4))), torch.from_numpy(rng.random((2, 3, 6, 4)))
    q = create_metric("hdrvdp2", backend="octave", octave_path=str(stub_dir), input_scale=2.0)(pred, gt)
    expected = [100 - 2 * (pred[i] - gt[i]).abs().mean().item() for i in range(2)]
    np.testing.assert_allclose(q.numpy(), expected, atol=1e-8)


def test_octave_error_is_one_line(tmp_path):
    stub = "function res = hdrvdp(t, r, e, p, o)\nerror('hdrvdp:bad', 'broken copy');\nend\n"
    (tmp_path / "hdrvdp.m").write_text(stub)
    with pytest.raises(HDRBenchError, match="broken copy"):
        hdrvdp2_octave(np.ones((4, 4, 3)), np.ones((4, 4, 3)), tmp_path)


def test_folder_without_hdrvdp_m_is_a_clear_error(tmp_path):
    with pytest.raises(HDRBenchError, match="contains hdrvdp.m"):
        hdrvdp2_octave(np.ones((4, 4, 3)), np.ones((4, 4, 3)), tmp_path)


def test_score_cli_backend_octave_runs_the_given_folder(stub_dir, tmp_path, capsys):
    """``hdrbench score --backend octave --hdrvdp-dir PATH``: the pair reaches Octave after the dcdr protocol."""
    import json

    from hdrbench import io
    from hdrbench.cli import main

    rng = np.random.default_rng(2)
    gt = (rng.random((12, 10, 3)) * 0.9 + 0.05).astype(np.float32)
    pred = np.clip(gt + rng.normal(0, 0.02, gt.shape), 0, 1).astype(np.float32)
    io.write_exr(tmp_path / "gt.exr", gt)
    np.save(tmp_path / "pred.npy", pred)
    try:
        main(["score", str(tmp_path / "pred.npy"), str(tmp_path / "gt.exr"), "--metric", "hdrvdp2", "--json",
              "--backend", "octave", "--hdrvdp-dir", str(stub_dir), "--scale", "10"])
    except SystemExit as exc:
        assert not exc.code
    q = json.loads(capsys.readouterr().out.strip())["metrics"]["hdrvdp2"]
    assert q == pytest.approx(100 - 10 * np.abs(pred.astype(np.float64) - gt).mean(), abs=1e-5)
