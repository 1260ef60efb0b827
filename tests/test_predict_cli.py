"""``hdrbench predict --method dcdr --random-init``: file mode at an odd size (587×675, tiled), folder mode,
and a corrupt input giving one error line and exit code 2. Tiny widths (``--option``) keep it fast; the
default width runs the same code path (see ``tests/test_dcdr_model.py``)."""

from __future__ import annotations

import json

import numpy as np
import torch

from hdrbench import io
from hdrbench.checkpoint import save_weights
from hdrbench.method import create_method

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


def test_folder_mode_with_checkpoint_writes_one_exr_per_image(tmp_path, rng, cli):
    """Folder mode loads the checkpoint: outputs equal in-process prediction with those weights."""
    options = {TINY[i + 1].split("=")[0]: json.loads(TINY[i + 1].split("=")[1]) for i in range(0, len(TINY), 2)}
    method = create_method("dcdr", **options)
    torch.manual_seed(123)  # not the CLI's --seed 0 weights
    net = method.build_network().eval()
    ckpt = save_weights(net, tmp_path / "w.safetensors", method="dcdr", options=options)
    src, dst = tmp_path / "ldr", tmp_path / "hdr"
    src.mkdir()
    sizes = {"a": (37, 53), "b": (64, 48)}
    for stem, (h, w) in sizes.items():
        io.write_ldr(src / f"{stem}.png", rng.random((h, w, 3)))
    (src / "notes.txt").write_text("not an image")
    proc = cli("predict", "--method", "dcdr", "--checkpoint", ckpt, *TINY, src, dst)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in dst.iterdir()) == ["a.exr", "b.exr"]
    for stem, (h, w) in sizes.items():
        hdr = io.read_hdr(dst / f"{stem}.exr", expect_16bit=False)
        ldr = torch.from_numpy(io.read_ldr(src / f"{stem}.png")).permute(2, 0, 1)[None]
        expected = method.predict(net, ldr)[0].permute(1, 2, 0).numpy()
        assert hdr.shape == (h, w, 3) and np.allclose(hdr, expected, atol=1e-5)


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


# -- outputs that would destroy inputs or each other, and what the header records ----------------------------------
def test_an_output_that_is_an_input_is_refused_before_any_work(tmp_path, rng, run_main):
    """File mode (OUT = INP, also through a symlink) and folder mode (OUT folder = INP folder, where ``a.png``
    would be written over the input ``a.png``): one line, exit 2, the inputs byte for byte as they were."""
    src = tmp_path / "s2.png"
    io.write_ldr(src, rng.random((16, 16, 3)))
    (tmp_path / "link.png").symlink_to(src)
    folder = tmp_path / "fin"
    io.write_ldr(folder / "a.png", rng.random((16, 16, 3)))
    before = {p: p.read_bytes() for p in (src, folder / "a.png")}
    for inp, out, encode in [(src, src, "pq-png"), (src, tmp_path / "link.png", "pq-png"), (folder, folder, "pq-png"),
                             (src, src.with_suffix(".exr"), "exr")]:
        if encode == "exr":  # an EXR next to the input is no input: allowed
            code, _, err = run_main("predict", "--method", "identity", inp, out)
            assert code == 0, err
            continue
        code, _, err = run_main("predict", "--method", "identity", "--encode", encode, inp, out)
        lines = _error_lines(err)
        assert code == 2 and len(lines) == 1 and "is the input file" in lines[0], err
    assert {p: p.read_bytes() for p in before} == before


def test_folder_inputs_sharing_a_stem_are_refused_naming_both(tmp_path, rng, run_main):
    src = tmp_path / "ldr"
    io.write_ldr(src / "a.png", rng.random((16, 16, 3)))
    io.write_ldr(src / "a.jpg", rng.random((16, 16, 3)))
    code, _, err = run_main("predict", "--method", "identity", src, tmp_path / "out")
    lines = _error_lines(err)
    assert code == 2 and len(lines) == 1 and "'a.jpg' and 'a.png' share the stem 'a'" in lines[0], err
    assert not (tmp_path / "out").exists()


def test_an_existing_folder_with_a_dot_in_its_name_is_a_folder(tmp_path, rng, run_main):
    src = tmp_path / "small.png"
    io.write_ldr(src, rng.random((16, 16, 3)))
    (tmp_path / "res.v1").mkdir()
    code, _, err = run_main("predict", "--method", "identity", "--encode", "pq-png", src, tmp_path / "res.v1")
    assert code == 0, err
    assert [p.name for p in (tmp_path / "res.v1").iterdir()] == ["small.png"]


def test_random_init_is_refused_for_a_method_without_weights_and_the_tile_that_ran_is_recorded(tmp_path, rng,
                                                                                               run_main):
    src = tmp_path / "in.png"
    io.write_ldr(src, rng.random((80, 96, 3)))
    code, _, err = run_main("predict", "--method", "identity", "--random-init", src, tmp_path / "o.exr")
    lines = _error_lines(err)
    assert code == 2 and len(lines) == 1 and "--random-init does not apply" in lines[0], err
    assert not (tmp_path / "o.exr").exists()
    code, _, err = run_main("predict", "--method", "akyuz", "--tile", "64", src, tmp_path / "a.exr")
    assert code == 0, err
    header = io.read_exr_attributes(tmp_path / "a.exr")
    assert header["tile"].startswith("0 (whole image") and "random-init" not in header["checkpoint"]
    code, _, err = run_main("predict", "--method", "identity", "--tile", "64", src, tmp_path / "i.exr")
    assert code == 0 and io.read_exr_attributes(tmp_path / "i.exr")["tile"] == "64"  # pointwise: it tiles
