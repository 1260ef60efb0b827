"""HDR display files from the command line and the report: ``hdrbench predict --encode``, ``hdrbench data
export-hdr`` and ``[plot] hdr_formats`` write files with the right signalling; bad values are one-line errors.
The references (ST 2084, BT.2087's matrix, the PNG chunk reader) are those of ``tests/test_hdr_files.py``."""

from __future__ import annotations

import json

import imagecodecs
import numpy as np
import pytest
from PIL import Image
from test_hdr_files import png_chunks, reference_nits, st2084

from hdrbench import io
from hdrbench.display import read_display_metadata
from hdrbench.errors import HDRBenchError


def _error_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.strip().splitlines() if ln.startswith("hdrbench: error:")]


def test_predict_encode_pq_png_and_a_folder_of_ultrahdr(tmp_path, cli):
    """``identity`` (no weights) gives hdr = ldr^2.2: the PQ PNG holds ST 2084 of 203 · ldr^2.2 cd/m²."""
    ldr = np.random.default_rng(3).random((20, 24, 3))
    io.write_ldr(tmp_path / "in" / "a.png", ldr)
    io.write_ldr(tmp_path / "in" / "b.png", ldr[::-1])
    proc = cli("predict", "--method", "identity", "--encode", "pq", tmp_path / "in" / "a.png", tmp_path / "a.png")
    assert proc.returncode == 0, proc.stderr
    assert "display model 'white'" in proc.stdout
    data = (tmp_path / "a.png").read_bytes()
    assert dict(png_chunks(data))[b"cICP"] == bytes([9, 16, 0, 1])
    read = np.asarray(Image.open(tmp_path / "in" / "a.png"), dtype=np.float64) / 255.0
    expected = np.round(st2084(reference_nits(read ** 2.2, 203.0)) * 65535)
    assert np.abs(imagecodecs.png_decode(data).astype(np.int64) - expected).max() <= 1
    meta = read_display_metadata(tmp_path / "a.png")
    assert meta["provenance"]["method"] == "identity" and meta["provenance"]["input"].endswith("a.png")
    assert meta["encoding"] == "pq-png"  # "pq" is its alias
    proc = cli("predict", "--method", "identity", "--encode", "ultrahdr", "--display", "anchor=max",
               tmp_path / "in", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.jpg", "a.jpg.json", "b.jpg", "b.jpg.json"]
    assert imagecodecs.ultrahdr_check((tmp_path / "out" / "a.jpg").read_bytes())
    assert read_display_metadata(tmp_path / "out" / "b.jpg")["display_model"]["anchor"] == "max"


@pytest.mark.parametrize("args, out, message", [
    (["--encode", "jxl-pq"], "out.jxl", "jpegxl_encode has no colour-encoding parameters"),
    (["--encode", "pq-pgn"], "out.png", "did you mean 'pq-png'?"),
    (["--encode", "avif-pq", "--display", "anchor=mid"], "out.avif", "--display: unknown anchor 'mid'"),
    (["--encode", "avif-pq", "--display", "peak"], "out.avif", "--display 'peak' must be KEY=VALUE"),
    (["--encode", "avif-pq", "--display", "peak=20000"], "out.avif", "exceeds PQ's 10000"),
    (["--encode", "pq-png", "--half"], "out.png", "--half applies to EXR output only"),
    (["--display", "anchor=max"], "out.exr", "--display applies to --encode"),
    (["--encode", "avif-pq"], "out.png", "avif-pq files end in .avif; give a file name ending in .avif"),
    (["--encode", "pq-png", "--display", "anchor=max", "--display", "white=2"], "out.png",
     "--display: white=2 applies to anchor 'white' only, not to anchor 'max'"),
    (["--encode", "pq-png", "--display", "scale=3"], "out.png",
     "--display: scale=3 applies to anchor 'absolute' only, not to anchor 'white'"),
    (["--encode", "pq-png", "--display", "peak=2000", "--display", "peak=3000"], "out.png",
     "--display: key 'peak' is given twice ('peak=2000', 'peak=3000')"),
    (["--encode", "pq", "--encode", "ultrahdr"], "outdir", "--encode given more than once"),
])
def test_predict_bad_encode_values_are_one_line_errors(tmp_path, run_main, args, out, message):
    io.write_ldr(tmp_path / "in.png", np.full((8, 8, 3), 0.5))
    code, _, err = run_main("predict", "--method", "identity", *args, tmp_path / "in.png", tmp_path / out)
    lines = _error_lines(err)
    assert code == 2 and len(lines) == 1 and message in lines[0], err
    assert not (tmp_path / out).exists()


def test_data_export_hdr_uses_the_datasets_white(tmp_path, run_main):
    code, out, err = run_main("data", "export-hdr", "--dataset", "demo", "--encode", "hlg-png", "--max-images", "1",
                              "--out", tmp_path)
    assert code == 0, err
    files = sorted((tmp_path / "test").iterdir())
    assert len(files) == 1 and files[0].suffix == ".png"
    assert dict(png_chunks(files[0].read_bytes()))[b"cICP"] == bytes([9, 18, 0, 1])
    model = read_display_metadata(files[0])["display_model"]
    assert model["white"] == 1 / 64 and model["factor_nits_per_unit"] == pytest.approx(203.0 * 64)
    assert "1 ground truths" in out
    code, _, err = run_main("data", "export-hdr", "--dataset", "demo", "--encode", "pq-png", "--display",
                            "white=0.5", "--test-set", "nope", "--out", tmp_path / "x")
    assert code == 2 and "has no test set 'nope'" in err
    code, _, err = run_main("data", "export-hdr", "--dataset", "demo", "--encode", "jxl-pq", "--out", tmp_path / "x")
    assert code == 2 and len(_error_lines(err)) == 1 and "jxl-linear" in err


def test_plot_writes_the_figure_panels_as_hdr_files(tmp_path):
    from test_viewer import make_results, scene

    from hdrbench.config import parse_config
    from hdrbench.report.plots import write_figures

    data = make_results(tmp_path)
    data["plot"] = {"images": 1, "formats": ["png"], "hdr_formats": ["pq-png", "avif-pq"],
                    "hdr_display": {"anchor": "max"}}
    cfg = parse_config(data, tmp_path / "bench.toml")
    paths = write_figures(cfg)
    hdr_dir = cfg.runs.reports / "figure5_hdr"
    pngs = sorted(p.name for p in (hdr_dir / "pq-png").iterdir())
    assert pngs == ["scene0_clips.png", "scene0_ground-truth.png", "scene0_keeps.png"]
    assert sorted(p.name for p in (hdr_dir / "avif-pq").iterdir()) == sorted(
        [n.replace(".png", ".avif") for n in pngs] + [n.replace(".png", ".avif.json") for n in pngs])
    assert set(paths) >= {hdr_dir / "pq-png" / n for n in pngs}
    gt = read_display_metadata(hdr_dir / "pq-png" / "scene0_ground-truth.png")
    keeps = read_display_metadata(hdr_dir / "pq-png" / "scene0_keeps.png")
    # one factor per row, from the ground truth (max 8 → the 1000 cd/m² peak), also for the 0.9 × GT method
    assert gt["display_model"]["factor_nits_per_unit"] == keeps["display_model"]["factor_nits_per_unit"] == 125.0
    expected = reference_nits(0.9 * scene(0), 125.0).max()  # MaxCLL: BT.2020 components
    assert keeps["content_light_level_nits"]["max_cll"] == pytest.approx(expected, rel=1e-4)
    assert keeps["provenance"]["panel"] == "keeps"


@pytest.mark.parametrize("plot, message", [
    ({"hdr_formats": ["pq-pgn"]}, "plot.hdr_formats: unknown HDR encoding 'pq-pgn' (did you mean 'pq-png'?"),
    ({"hdr_formats": ["jxl-pq"]}, "plot.hdr_formats 'jxl-pq': JPEG XL with PQ cannot be written"),
    ({"hdr_display": {"anchor": "top"}}, "plot.hdr_display: unknown anchor 'top'"),
    ({"hdr_display": {"anchor": "max", "white": 0.5}}, "plot.hdr_display: white=0.5 applies to anchor 'white' only"),
    ({"hdr_display": {"anchor": "absolute", "white": 0.5}}, "white=0.5 applies to anchor 'white' only, not to anchor "
                                                            "'absolute'"),
])
def test_bad_plot_hdr_settings_fail_at_load(tmp_path, plot, message):
    from hdrbench.config import parse_config

    data = {"dataset": {"name": "demo"}, "methods": [{"name": "identity"}], "plot": plot}
    with pytest.raises(HDRBenchError) as info:
        parse_config(data, tmp_path / "bench.toml")
    assert message in str(info.value) and str(tmp_path / "bench.toml") in str(info.value)


# -- the display white of --encode: the method's output units -------------------------------------------------------
def test_predict_encode_takes_the_white_of_the_checkpoints_dataset(tmp_path, run_main):
    """A checkpoint whose metadata records training on ``demo`` (LDR white 1/64, as ``hdrbench train`` records the
    dataset's identity): the LDR's white is shown at 203 cd/m², factor 203 · 64; without a recorded dataset: 1, and
    a note says so and how to set it."""
    import torch
    from test_predict_cli import TINY

    from hdrbench.checkpoint import save_weights
    from hdrbench.datasets.base import create_dataset
    from hdrbench.method import create_method

    options = {TINY[i + 1].split("=")[0]: json.loads(TINY[i + 1].split("=")[1]) for i in range(0, len(TINY), 2)}
    torch.manual_seed(0)
    net = create_method("dcdr", **options).build_network()
    demo = save_weights(net, tmp_path / "demo.safetensors", method="dcdr", options=options,
                        dataset=create_dataset("demo").identity())
    bare = save_weights(net, tmp_path / "bare.safetensors", method="dcdr", options=options)
    io.write_ldr(tmp_path / "in.png", np.full((16, 16, 3), 0.5))
    for ckpt, white, said in [(demo, 1 / 64, "dataset 'demo'"), (bare, 1.0, "records no training dataset")]:
        out = tmp_path / f"{ckpt.stem}.png"
        code, stdout, err = run_main("predict", "--method", "dcdr", "--checkpoint", ckpt, *TINY, "--encode", "pq-png",
                                     tmp_path / "in.png", out)
        assert code == 0, err
        model = read_display_metadata(out)["display_model"]
        assert model["white"] == white and model["factor_nits_per_unit"] == pytest.approx(203.0 / white)
        note = next(ln for ln in stdout.splitlines() if ln.startswith("display white"))
        assert said in note and "--display white=" in note


def test_untrained_methods_encode_with_their_scale_as_the_white(tmp_path, run_main):
    """identity with scale 0.25 outputs 0.25 · ldr^2.2: white 0.25 shows the LDR's white at 203 cd/m², so the
    PNG holds ST 2084 of 203 · ldr^2.2 (the reference of test_hdr_files), not of 203 · 0.25 · ldr^2.2. An
    operator (output scale · cd/m² / 203) gets white = scale too: the file holds its own cd/m²."""
    ldr = np.random.default_rng(5).random((12, 16, 3))
    io.write_ldr(tmp_path / "in.png", ldr)
    code, stdout, err = run_main("predict", "--method", "identity", "--option", "scale=0.25", "--encode", "pq-png",
                                 tmp_path / "in.png", tmp_path / "i.png")
    assert code == 0, err
    assert "display white 0.25: option scale of method 'identity'" in stdout
    read = np.asarray(Image.open(tmp_path / "in.png"), dtype=np.float64) / 255.0
    expected = np.round(st2084(reference_nits(read ** 2.2, 203.0)) * 65535)
    data = (tmp_path / "i.png").read_bytes()
    assert np.abs(imagecodecs.png_decode(data).astype(np.int64) - expected).max() <= 1
    code, stdout, err = run_main("predict", "--method", "akyuz", "--option", "scale=2", "--encode", "pq-png",
                                 tmp_path / "in.png", tmp_path / "a.png")
    assert code == 0, err
    model = read_display_metadata(tmp_path / "a.png")["display_model"]
    assert model["white"] == 2 and model["factor_nits_per_unit"] == pytest.approx(203.0 / 2)
    assert "the operator's own cd/m²" in stdout


# -- clipping, sidecars, file names in errors -------------------------------------------------------------------------
def test_clipping_above_one_percent_is_a_warning_naming_the_file(tmp_path, run_main):
    ldr = np.random.default_rng(6).random((16, 16, 3))
    io.write_ldr(tmp_path / "in.png", ldr)
    out = tmp_path / "o.png"
    code, _, err = run_main("predict", "--method", "identity", "--encode", "pq-png", "--display", "white=0.1",
                            tmp_path / "in.png", out)
    assert code == 0, err
    fraction = read_display_metadata(out)["display_model"]["clipped_fraction"]
    assert fraction > 0.01
    warned = [ln for ln in err.splitlines() if ln.startswith("hdrbench: warning:")]
    assert len(warned) == 1 and str(out) in warned[0] and f"{100 * fraction:.1f} %" in warned[0]
    assert "--display peak=" in warned[0]
    code, _, err = run_main("predict", "--method", "identity", "--encode", "pq-png", tmp_path / "in.png", out)
    assert code == 0 and "warning" not in err  # white 1: nothing above 203 cd/m²
    code, _, err = run_main("data", "export-hdr", "--dataset", "demo", "--encode", "pq-png", "--max-images", "1",
                            "--display", "anchor=white", "--display", "peak=205", "--out", tmp_path / "x")
    assert code == 0, err
    warned = [ln for ln in err.splitlines() if ln.startswith("hdrbench: warning:")]
    assert len(warned) == 1 and str(tmp_path / "x" / "test") in warned[0] and "peak 205 cd/m²" in warned[0]


@pytest.mark.filterwarnings("ignore::hdrbench.errors.HDRBenchWarning")  # the other panels' (re-emitted)
def test_plot_hdr_panels_warn_when_clipped(tmp_path):
    from test_viewer import make_results

    from hdrbench.config import parse_config
    from hdrbench.errors import HDRBenchWarning
    from hdrbench.report.plots import write_figures

    data = make_results(tmp_path)
    data["plot"] = {"images": 1, "formats": ["png"], "hdr_formats": ["pq-png"],
                    "hdr_display": {"anchor": "white", "white": 0.05, "peak": 400}}
    with pytest.warns(HDRBenchWarning, match=r"scene0_ground-truth.png: .* % of the pixels exceed the display peak "
                                             r"400 cd/m².*\[plot\] hdr_display peak=N"):
        write_figures(parse_config(data, tmp_path / "bench.toml"))


def test_sidecar_is_checked_with_the_image_before_any_work(tmp_path, run_main):
    io.write_ldr(tmp_path / "in.png", np.full((16, 16, 3), 0.5))
    (tmp_path / "o.avif.json").mkdir()  # the sidecar's path is taken
    code, _, err = run_main("predict", "--method", "identity", "--encode", "avif-pq", tmp_path / "in.png",
                            tmp_path / "o.avif")
    lines = _error_lines(err)
    assert code == 2 and len(lines) == 1 and lines[0].startswith(f"hdrbench: error: {tmp_path / 'o.avif.json'}")
    assert not (tmp_path / "o.avif").exists()  # nothing half-written


def test_ultrahdr_size_error_names_the_file(tmp_path, run_main):
    io.write_ldr(tmp_path / "in.png", np.full((4, 6, 3), 0.5))
    code, _, err = run_main("predict", "--method", "identity", "--encode", "ultrahdr", tmp_path / "in.png",
                            tmp_path / "u.jpg")
    lines = _error_lines(err)
    assert code == 2 and len(lines) == 1 and lines[0].startswith(f"hdrbench: error: {tmp_path / 'u.jpg'}: Ultra HDR")
    assert not (tmp_path / "u.jpg").exists() and not (tmp_path / "u.jpg.json").exists()


def test_export_hdr_checks_every_test_set_and_names_the_folder_first(tmp_path, run_main, monkeypatch):
    code, _, err = run_main("data", "export-hdr", "--dataset", "demo", "--encode", "pq-png", "--max-images", "1",
                            "--test-set", "test", "--test-set", "tset", "--out", tmp_path / "x")
    lines = _error_lines(err)
    assert code == 2 and len(lines) == 1 and "no test set 'tset' (did you mean 'test'?" in lines[0], err
    assert not (tmp_path / "x").exists()  # 'test' was not written before 'tset' failed
    import hdrbench.writing

    monkeypatch.setattr(hdrbench.writing, "_read_only", lambda folder: True)
    code, _, err = run_main("data", "export-hdr", "--dataset", "demo", "--encode", "avif-pq", "--out",
                            tmp_path / "ro" / "x")
    lines = _error_lines(err)
    assert code == 2 and len(lines) == 1, err
    assert lines[0].startswith(f"hdrbench: error: {tmp_path / 'ro' / 'x'}: folder") and "read-only" in lines[0]
    assert ".avif" not in lines[0]  # no made-up file name
