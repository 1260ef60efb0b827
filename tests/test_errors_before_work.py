"""Errors before work: ``run`` checks the whole benchmark before its first training step and leaves no folder
behind; device strings, figure formats and predict's output are checked first; "did you mean" points at the
wrong name, never at the right one. Every failure is one line and exit code 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import test_train_fakes  # noqa: F401  (registers the fakes)

from hdrbench import io
from hdrbench.config import load_config
from hdrbench.devices import available_devices, check_device_spelling, resolve_device
from hdrbench.errors import HDRBenchError

BENCH = """
[benchmark]
name = "pre"
output = "{out}"
device = "{device}"
[dataset]
name = "fake-data"
{test_sets}
[train]
recipe = {{ iterations = 4 }}
tensorboard = false
[evaluate]
protocol = "ntire2021"
metrics = ["fake-mae"]
[plot]
images = 1
formats = {formats}
[[methods]]
name = "fake-net"
id = "a"
train = true
[[methods]]
name = "{second}"
{second_source}
"""


def bench(tmp_path: Path, *, device: str = "cpu", test_sets: str = "", formats: str = '["png"]',
          second: str = "ext", second_source: str | None = None) -> Path:
    if second_source is None:
        second_source = f'external = "{tmp_path / "missing"}"'
    path = tmp_path / "bench.toml"
    path.write_text(BENCH.format(out=tmp_path / "out", device=device, test_sets=test_sets, formats=formats,
                                 second=second, second_source=second_source))
    return path


def assert_one_line(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for n in needles:
        assert n in err, err


def test_run_reports_a_missing_external_folder_before_training(tmp_path, run_main):
    code, _, err = run_main("run", bench(tmp_path))
    assert_one_line(code, err, "external predictions of method 'ext' not found", "missing")
    assert not (tmp_path / "out").exists()  # nothing trained, nothing half-made


def test_run_reports_a_missing_prediction_before_training(tmp_path, run_main):
    (tmp_path / "missing").mkdir()
    code, _, err = run_main("run", bench(tmp_path))
    assert_one_line(code, err, "no prediction for image 'set_a_00'")
    assert not (tmp_path / "out").exists()


def test_run_reports_a_wrong_test_set_before_training(tmp_path, run_main):
    (tmp_path / "missing").mkdir()
    code, _, err = run_main("run", bench(tmp_path, test_sets='test_sets = ["set_c"]'))
    assert_one_line(code, err, "'set_c' is not a test set of dataset 'fake-data'", "set_a, set_b")
    assert not (tmp_path / "out").exists()


def test_run_reports_a_missing_checkpoint_before_training(tmp_path, run_main):
    code, _, err = run_main("run", bench(tmp_path, second="fake-net",
                                         second_source=f'id = "b"\ncheckpoint = "{tmp_path / "w.safetensors"}"'))
    assert_one_line(code, err, "checkpoint of method 'b' not found")
    assert not (tmp_path / "out").exists()


def test_bad_device_in_bench_toml_is_one_line(tmp_path, run_main):
    code, _, err = run_main("run", bench(tmp_path, device="gpu"))
    assert_one_line(code, err, "benchmark.device 'gpu' is not a device", "cpu, cuda, cuda:N")
    assert not (tmp_path / "out").exists()


def test_mistyped_plot_format_fails_on_load_before_any_figure(tmp_path, run_main):
    code, _, err = run_main("run", bench(tmp_path, formats='["png", "pfd"]'))
    assert_one_line(code, err, "plot.formats: 'pfd' is not a figure format", "'pdf'")
    assert not (tmp_path / "out").exists()
    with pytest.raises(HDRBenchError, match="pfd"):
        load_config(bench(tmp_path, formats='["pfd"]'))


def test_device_strings(run_main, tmp_path):
    assert check_device_spelling("CUDA:1") == "cuda:1"
    for bad in ("gpu", "tpu", "cuda:x", "cuda1"):
        with pytest.raises(HDRBenchError, match="is not a device"):
            check_device_spelling(bad)
    assert resolve_device("cpu") == "cpu"
    assert resolve_device(None) in ("cpu", "cuda")
    have = available_devices()
    if "cuda:0" not in have:
        with pytest.raises(HDRBenchError, match=r"'cuda' is not available here \(available: cpu"):
            resolve_device("cuda")
    with pytest.raises(HDRBenchError, match="not available here"):
        resolve_device("cuda:99")
    g = np.full((8, 8, 3), 0.5, np.float32)
    io.write_exr(tmp_path / "g.exr", g)
    for cmd in (["score", tmp_path / "g.exr", tmp_path / "g.exr", "--metric", "psnr-l"],
                ["predict", "--method", "fake-net", "--random-init", tmp_path / "g.exr", tmp_path / "o.exr"]):
        code, _, err = run_main(*cmd, "--device", "tpu")
        assert_one_line(code, err, "--device 'tpu' is not a device")
        code, _, err = run_main(*cmd, "--device", "cuda:99")
        assert_one_line(code, err, "--device 'cuda:99' is not available here (available: cpu")


def test_predict_checks_its_output_before_inference(tmp_path, run_main, monkeypatch):
    import hdrbench.inference
    import hdrbench.method

    def no_work(*a, **k):
        raise AssertionError("work started before the output was checked")

    monkeypatch.setattr(hdrbench.inference, "tiled_predict", no_work)
    monkeypatch.setattr(hdrbench.method, "create_method", no_work)
    import hdrbench.cli.predict_cmd as predict_cmd

    for name in ("tiled_predict", "create_method"):
        monkeypatch.setattr(predict_cmd, name, no_work, raising=False)
    io.write_ldr(tmp_path / "in.png", np.full((8, 8, 3), 0.5, np.float32))
    code, _, err = run_main("predict", "--method", "fake-net", "--random-init", tmp_path / "in.png",
                    tmp_path / "out.jpg")
    assert_one_line(code, err, "cannot write HDR data as '.jpg'", ".exr")
    (tmp_path / "afile").write_text("x")
    code, _, err = run_main("predict", "--method", "fake-net", "--random-init", tmp_path / "in.png",
                    tmp_path / "afile" / "out.exr")
    assert_one_line(code, err, "is a file, not a folder")


def test_did_you_mean_points_at_the_wrong_name(tmp_path):
    text = """
[dataset]
name = "fake-data"
[[methods]]
name = "fake-nte"
train = true
[report.tables.t]
methods = ["fake-net"]
"""
    path = tmp_path / "b.toml"
    path.write_text(text)
    with pytest.raises(HDRBenchError) as info:
        load_config(path)
    msg = str(info.value)
    assert "did you mean 'fake-nte'" not in msg  # never advise replacing the right name with the typo
    assert "names 'fake-nte', which is not a registered method" in msg and "did you mean name = 'fake-net'" in msg
    path.write_text(text.replace('methods = ["fake-net"]', 'methods = ["fake-nt"]').replace("fake-nte", "fake-net"))
    with pytest.raises(HDRBenchError, match="'report.tables.t.methods: fake-nt'; did you mean 'fake-net'"):
        load_config(path)  # a typo in the table still gets the helpful hint
