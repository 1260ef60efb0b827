"""``hdrbench predict --method dcdr --random-init``: file mode at an odd size (587×675, tiled), folder mode,
and a corrupt input giving one error line and exit code 2. Tiny widths (``--option``) keep it fast; the
default width runs the same code path (see ``tests/test_dcdr_model.py``)."""

from __future__ import annotations

import numpy as np

from hdrbench import io

TINY = ["--option", "nf=8", "--option", "blocks=[1,1,1]", "--option", "cond_nf=8", "--option", "cond_out=4",
        "--option", "sft_hidden=4", "--option", "tone_nf=8"]


def _error_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.strip().splitlines() if ln.startswith("hdrbench: error:")]


def test_file_mode_587x675_png_to_exr(tmp_path, rng, cli):
    src, dst = tmp_path / "in.png", tmp_path / "out.exr"
    io.write_ldr(src, rng.random((587, 675, 3)))
    proc = cli("predict", "--method", "dcdr", "--random-init", *TINY, "--tile", "384", "--overlap", "16", src, dst)
    assert proc.returncode == 0, proc.stderr
    assert "UNTRAINED" in proc.stderr  # --random-init says so
    hdr = io.read_hdr(dst, expect_16bit=False)
    assert hdr.shape == (587, 675, 3) and hdr.dtype == np.float32
    assert np.isfinite(hdr).all() and (hdr >= 0).all() and hdr.max() > 0


def test_folder_mode_writes_one_exr_per_image(tmp_path, rng, cli):
    src, dst = tmp_path / "ldr", tmp_path / "hdr"
    src.mkdir()
    sizes = {"a": (37, 53), "b": (64, 48)}
    for stem, (h, w) in sizes.items():
        io.write_ldr(src / f"{stem}.png", rng.random((h, w, 3)))
    (src / "notes.txt").write_text("not an image")
    proc = cli("predict", "--method", "dcdr", "--random-init", *TINY, src, dst)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in dst.iterdir()) == ["a.exr", "b.exr"]
    for stem, (h, w) in sizes.items():
        hdr = io.read_hdr(dst / f"{stem}.exr", expect_16bit=False)
        assert hdr.shape == (h, w, 3) and np.isfinite(hdr).all()


def test_corrupt_input_is_one_line_and_exit_2(tmp_path, rng, cli):
    good = tmp_path / "good.png"
    io.write_ldr(good, rng.random((16, 16, 3)))
    bad = tmp_path / "bad.png"
    bad.write_bytes(good.read_bytes()[:60])
    proc = cli("predict", "--method", "dcdr", "--random-init", *TINY, bad, tmp_path / "out.exr")
    assert proc.returncode == 2
    err = _error_lines(proc.stderr)
    assert len(err) == 1 and str(bad) in err[0]
    assert "Traceback" not in proc.stderr and not (tmp_path / "out.exr").exists()
