"""Image I/O round trips and bad-input errors (the one error type, the one-line CLI message)."""

from __future__ import annotations

import numpy as np
import pytest

from hdrbench import io
from hdrbench.errors import HDRBenchError


def test_exr_float_round_trip_exact(tmp_path, rng):
    a = (rng.random((13, 17, 3)) * 1000).astype(np.float32)
    io.write_exr(tmp_path / "a.exr", a)
    b = io.read_hdr(tmp_path / "a.exr")
    assert b.dtype == np.float32 and b.shape == a.shape
    np.testing.assert_array_equal(a, b)


def test_exr_half_round_trip_within_half_precision(tmp_path, rng):
    a = (rng.random((13, 17, 3)) * 100).astype(np.float32)
    io.write_exr(tmp_path / "h.exr", a, half=True)
    b = io.read_hdr(tmp_path / "h.exr")
    np.testing.assert_array_equal(b, a.astype(np.float16).astype(np.float32))


def test_png16_stays_uint16(tmp_path, rng):
    a = rng.random((9, 11, 3)).astype(np.float32)
    io.write_png16(tmp_path / "p.png", a)
    raw = io.read_image(tmp_path / "p.png")
    assert raw.dtype == np.uint16
    np.testing.assert_array_equal(raw, np.round(a * 65535).astype(np.uint16))
    # values that only 16 bits can hold survive (8 bits would have collapsed them)
    assert len(np.unique(raw)) > 256 or raw.size < 256


def test_png16_channel_order_is_rgb(tmp_path):
    a = np.zeros((2, 2, 3), np.float32)
    a[..., 0] = 1.0  # pure red
    io.write_png16(tmp_path / "red.png", a)
    import cv2

    bgr = cv2.imread(str(tmp_path / "red.png"), cv2.IMREAD_UNCHANGED)
    assert bgr[0, 0, 2] == 65535 and bgr[0, 0, 0] == 0  # OpenCV's own BGR view: red is last
    assert io.read_image(tmp_path / "red.png")[0, 0, 0] == 65535


def test_pillow_would_have_lost_the_16_bits(tmp_path, rng):
    """The pitfall this module exists for: Pillow returns 8 bits for a 16-bit RGB PNG."""
    from PIL import Image

    a = rng.random((8, 8, 3)).astype(np.float32)
    io.write_png16(tmp_path / "p.png", a)
    assert np.asarray(Image.open(tmp_path / "p.png")).dtype == np.uint8
    assert io.read_image(tmp_path / "p.png").dtype == np.uint16


def test_tiff16_and_npy_and_pfm(tmp_path, rng):
    import cv2

    a16 = (rng.random((6, 5, 3)) * 65535).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "t.tif"), a16[..., ::-1])
    np.testing.assert_array_equal(io.read_image(tmp_path / "t.tif"), a16)
    f = rng.random((6, 5, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", f)
    np.testing.assert_array_equal(io.read_hdr(tmp_path / "x.npy"), f)
    io.write_pfm(tmp_path / "x.pfm", f)
    np.testing.assert_array_equal(io.read_hdr(tmp_path / "x.pfm"), f)


def test_radiance_hdr_round_trip(tmp_path, rng):
    a = (rng.random((6, 5, 3)) * 50 + 0.1).astype(np.float32)
    io.write_hdr(tmp_path / "x.hdr", a)
    b = io.read_hdr(tmp_path / "x.hdr")
    # RGBE shares one exponent per pixel: each channel is exact to within max_c / 128
    assert np.all(np.abs(b - a) <= a.max(axis=2, keepdims=True) / 128)


def test_ldr_8bit_scaling(tmp_path):
    a = np.array([[[0, 128, 255]]], np.uint8).repeat(2, 0)
    import cv2

    cv2.imwrite(str(tmp_path / "l.png"), a[..., ::-1])
    np.testing.assert_allclose(io.read_ldr(tmp_path / "l.png")[0, 0], [0, 128 / 255, 1])


@pytest.mark.parametrize("case", ["missing", "empty", "truncated_exr", "garbage_png", "gray", "ldr16", "hdr8"])
def test_bad_inputs_raise_the_one_error(tmp_path, rng, case):
    a = rng.random((8, 8, 3)).astype(np.float32)
    if case == "missing":
        path, fn = tmp_path / "nope.exr", io.read_hdr
    elif case == "empty":
        path, fn = tmp_path / "e.png", io.read_ldr
        path.write_bytes(b"")
    elif case == "truncated_exr":
        io.write_exr(tmp_path / "ok.exr", a)
        path, fn = tmp_path / "t.exr", io.read_hdr
        path.write_bytes((tmp_path / "ok.exr").read_bytes()[:200])
    elif case == "garbage_png":
        path, fn = tmp_path / "g.png", io.read_ldr
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    elif case == "gray":
        import cv2

        path, fn = tmp_path / "gray.png", io.read_ldr
        cv2.imwrite(str(path), (a[..., 0] * 255).astype(np.uint8))
    elif case == "ldr16":
        path, fn = tmp_path / "l16.png", io.read_ldr
        io.write_png16(path, a)
    else:
        path, fn = tmp_path / "h8.png", io.read_hdr
        io.write_ldr(path, a)
    with pytest.raises(HDRBenchError) as err:
        fn(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_cli_corrupt_exr_one_line_exit_2(tmp_path, rng, cli):
    io.write_exr(tmp_path / "ok.exr", rng.random((8, 8, 3)).astype(np.float32))
    bad = tmp_path / "corrupt.exr"
    bad.write_bytes((tmp_path / "ok.exr").read_bytes()[:120])
    ldr = tmp_path / "in.png"
    io.write_ldr(ldr, rng.random((8, 8, 3)))
    # predict reads LDR: give it the corrupt EXR as input to hit the reader through the CLI
    proc = cli("predict", "--method", "dcdr", "--random-init", bad, tmp_path / "out.exr")
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.strip().splitlines() if not ln.startswith(("warn", "  warn"))]
    err = [ln for ln in lines if ln.startswith("hdrbench: error:")]
    assert len(err) == 1 and str(bad) in err[0]
    assert "Traceback" not in proc.stderr


def test_exr_reads_and_writes_use_openexr_threads_and_equal_a_single_threaded_read(tmp_path):
    import OpenEXR

    img = np.random.default_rng(3).random((257, 301, 3), dtype=np.float32) * 40
    path = io.write_exr(tmp_path / "threads.exr", img)
    assert OpenEXR.global_thread_count() == io.EXR_THREADS
    threaded = io.read_hdr(path)
    OpenEXR.set_global_thread_count(0)
    try:
        with OpenEXR.File(str(path)) as f:
            single = np.array(f.channels()["RGB"].pixels, dtype=np.float32)
    finally:
        OpenEXR.set_global_thread_count(io.EXR_THREADS)
    np.testing.assert_array_equal(threaded, single)
    np.testing.assert_array_equal(threaded, img)
