"""The plan from the command line: untrained entries evaluate without training, settings of the report and the
figure and broken test images fail before any work, an output folder is held by one command at a time and is not
reused for another dataset."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import test_train_fakes  # noqa: F401  (registers the fakes in this process)

TESTS = Path(__file__).parent

BENCH = """
[benchmark]
name = "p"
output = "{out}"
device = "cpu"
[dataset]
name = "{dataset}"
{dataset_extra}
[train]
recipe = {{ iterations = 2, batch_size = 2, patch_size = 8 }}
tensorboard = false
[evaluate]
protocol = "ntire2021"
metrics = ["fake-mae", "fake-psnr"]
[report]
bootstrap = {bootstrap}
{tables}
[plot]
images = {images}
formats = ["png"]
{methods}
"""
IDENTITY = '[[methods]]\nname = "identity"\ntrain = true\n'
NET = '[[methods]]\nname = "fake-net"\ntrain = true\n'


def write(tmp: Path, *, methods: str = IDENTITY, bootstrap: int = 50, images: int = 1, tables: str = "",
          dataset: str = "fake-data", dataset_extra: str = "", name: str = "bench.toml") -> Path:
    path = tmp / name
    path.write_text(BENCH.format(out=tmp / "out", methods=methods, bootstrap=bootstrap, images=images,
                                 tables=tables, dataset=dataset, dataset_extra=dataset_extra))
    return path


def test_evaluate_untrained_entries_with_no_training_ever(tmp_path, run_main):
    bench = write(tmp_path)
    code, out, err = run_main("evaluate", bench)
    assert code == 0, err
    assert "12 scores added" in out
    code, out, err = run_main("report", bench)
    assert code == 0, err
    assert (tmp_path / "out" / "table1.csv").is_file() and "identity" in out
    code, out, err = run_main("run", bench, "--skip-train")
    assert code == 0, err
    assert (tmp_path / "out" / "figure5.png").is_file()


def test_evaluate_a_trainable_entry_without_weights_is_one_line(tmp_path, run_main):
    bench = write(tmp_path, methods=IDENTITY + NET)
    code, out, err = run_main("evaluate", bench)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "method 'fake-net' has no trained weights yet; run 'hdrbench train --config bench.toml --method " \
           "fake-net'" in err
    code, _, err = run_main("evaluate", bench, "--method", "identity")  # the untrained entry alone is fine
    assert code == 0, err


def test_report_and_plot_settings_fail_before_training(tmp_path, run_main):
    cases = [
        (dict(bootstrap=0), "report.bootstrap must be a positive number of resamples, not 0"),
        (dict(tables='[report.tables.t]\ntest_sets = ["set_c"]'), "report.tables.t.test_sets: set_c"),
        (dict(images=0), "plot.images must be at least 1"),
    ]
    for kwargs, message in cases:
        bench = write(tmp_path, methods=IDENTITY + NET, **kwargs)
        code, _, err = run_main("run", bench)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
        assert not (tmp_path / "out" / "checkpoints").exists()  # nothing was trained


def test_a_broken_test_image_is_found_before_training(tmp_path, run_main):
    bench = write(tmp_path, methods=IDENTITY + NET, dataset_extra='options = { nan_image = "set_b_01" }')
    code, _, err = run_main("run", bench)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "test image 'set_b_01' (set_b): the ground truth has 1 NaN/inf values" in err
    assert "--clamp" not in err  # no advice that names a setting bench.toml does not have
    assert not (tmp_path / "out" / "checkpoints").exists()


HOLD = """
import sys, time
sys.path.insert(0, {root!r})
from hdrbench.runs import RunLayout
with RunLayout(__import__("pathlib").Path({out!r})).lock():
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_second_command_on_a_held_folder_says_who_holds_it(tmp_path, run_main):
    bench = write(tmp_path)
    script = tmp_path / "hold.py"
    script.write_text(textwrap.dedent(HOLD.format(root=str(TESTS.parent), out=str(tmp_path / "out"))))
    holder = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        code, _, err = run_main("run", bench)
        assert code == 2 and len(err.strip().splitlines()) == 1
        assert f"the output folder is in use by pid {holder.pid} ('hold.py'" in err
        assert not (tmp_path / "out" / "results.sqlite").exists()
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)
    code, _, err = run_main("run", bench)  # a killed holder leaves no lock behind
    assert code == 0, err


def test_a_folder_built_for_another_dataset_is_refused(tmp_path, run_main):
    bench = write(tmp_path)
    assert run_main("evaluate", bench)[0] == 0
    other = write(tmp_path, dataset="demo", dataset_extra="max_images = 1", name="other.toml")
    text = other.read_text().replace('protocol = "ntire2021"\nmetrics = ["fake-mae", "fake-psnr"]',
                                     'protocol = "dcdr"\nmetrics = ["psnr-l"]')
    other.write_text(text)
    code, _, err = run_main("run", other)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "this output folder was built for dataset 'fake-data'" in err and "another [benchmark] output" in err


def test_run_after_a_changed_dataset_option_equals_a_fresh_run(tmp_path, run_main):
    """A changed dataset option retrains (the earlier training is kept aside) and rescores: the tables are a fresh
    run's."""
    import pandas as pd

    bench = write(tmp_path, methods=IDENTITY + NET)
    assert run_main("run", bench)[0] == 0
    changed = write(tmp_path, methods=IDENTITY + NET, dataset_extra="options = { size = 16 }")
    code, out, err = run_main("run", changed)
    assert code == 0, err
    assert "train fake-net: settings changed (dataset.options.size: 24 -> 16)" in out
    assert (tmp_path / "out" / "checkpoints" / "fake-net.earlier-1" / "final.safetensors").is_file()
    # identity: new pairs; fake-net: new weights too (the first part that changed names the reason)
    assert ("24 scores added, 24 of them recomputed (12 for a changed test pair (dataset files or options), 12 for a "
            "changed method (weights, options or predictions))") in out
    fresh_dir = tmp_path / "fresh"
    fresh_dir.mkdir()
    fresh = write(fresh_dir, methods=IDENTITY + NET, dataset_extra="options = { size = 16 }")
    assert run_main("run", fresh)[0] == 0

    def cells(folder: Path) -> pd.DataFrame:
        return pd.read_csv(folder / "table1.csv")[["method", "test_set", "metric", "mean", "n_images"]]

    assert cells(tmp_path / "out").equals(cells(fresh_dir / "out"))
