"""Evaluation into the SQLite store: resume after a crash (exception and SIGKILL), external folders, errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from test_train_fakes import FakeDataset, FakeMethod

from hdrbench import io
from hdrbench.checkpoint import save_weights
from hdrbench.config import parse_config
from hdrbench.errors import HDRBenchError
from hdrbench.evaluate import ResultStore, evaluate

KEY = ["method", "dataset", "test_set", "image", "metric"]


def make_bench(tmp: Path, *, nan: bool = False, external: bool = True) -> dict:
    """A benchmark over the fake dataset: two network methods (checkpoints) and one external folder."""
    torch.manual_seed(0)
    for width in (4, 8):
        save_weights(FakeMethod(options={"width": width}).build_network(), tmp / f"w{width}.safetensors",
                     method="fake-net")
    methods = [{"name": "fake-net", "id": "small", "checkpoint": str(tmp / "w4.safetensors"),
                "options": {"width": 4, "nan": nan}},
               {"name": "fake-net", "id": "big", "label": "Big net", "checkpoint": str(tmp / "w8.safetensors"),
                "options": {"width": 8}}]
    if external:
        ds = FakeDataset(None)
        for ts in ds.test_sets:
            for p in ds.pairs(ts):
                _, hdr = ds.load_pair(p)
                io.write_exr(tmp / "ext" / ts / f"{p.id}.exr", hdr * 0.9)
        methods.append({"name": "offsite", "external": str(tmp / "ext"), "params": 1234})
    return {"benchmark": {"name": "t", "output": str(tmp / "out"), "device": "cpu"},
            "dataset": {"name": "fake-data"}, "methods": methods,
            "evaluate": {"metrics": ["fake-mae", "fake-psnr"], "protocol": "ntire2021"}, "plot": {"images": 1}}


def rows(cfg) -> list[tuple]:
    with ResultStore(cfg.runs.results) as s:
        df = s.scores()
    return sorted(map(tuple, df[KEY + ["value"]].itertuples(index=False)))


def test_crash_mid_evaluation_then_rerun_loses_and_duplicates_nothing(tmp_path):
    cfg = parse_config(make_bench(tmp_path), tmp_path / "bench.toml")

    class Crash(RuntimeError):
        pass

    def crash(n):
        if n == 4:
            raise Crash

    with pytest.raises(Crash):
        evaluate(cfg, progress=False, on_image=crash)
    assert len(rows(cfg)) == 4 * 2  # four whole images, two metrics each
    summary = evaluate(cfg, progress=False)
    assert summary.skipped_images == 4 and summary.added == (3 * 2 * 3 - 4) * 2
    final = rows(cfg)
    assert len(final) == 3 * 2 * 3 * 2  # 3 methods x 2 test sets x 3 images x 2 metrics
    assert len({r[:5] for r in final}) == len(final)
    # same rows as an uninterrupted run
    clean = parse_config({**make_bench(tmp_path), "benchmark": {"name": "t", "output": str(tmp_path / "clean")}},
                         tmp_path / "bench.toml")
    evaluate(clean, progress=False)
    assert rows(clean) == final
    assert evaluate(cfg, progress=False).added == 0  # a third run does nothing


def test_scores_are_right_and_provenance_is_stored(tmp_path):
    cfg = parse_config(make_bench(tmp_path), tmp_path / "bench.toml")
    evaluate(cfg, progress=False)
    with ResultStore(cfg.runs.results) as s:
        df, methods = s.scores(), s.methods()
    ext = df[(df.method == "offsite") & (df.metric == "fake-mae")]
    ds = FakeDataset(None)
    for _, r in ext.iterrows():  # external = 0.9 * gt, so MAE = 0.1 * mean(gt), from numpy directly
        _, hdr = ds.load_pair(next(p for p in ds.pairs(r.test_set) if p.id == r.image))
        assert r.value == pytest.approx(0.1 * hdr.mean(), rel=1e-3)  # EXR float32 round trip
    assert set(df.lower_better[df.metric == "fake-mae"]) == {1}
    assert set(df.protocol) == {"ntire2021"} and df.checkpoint[df.method == "offsite"].iloc[0].startswith("external:")
    assert len(df.checkpoint[df.method == "small"].iloc[0]) == 16 and "torch" in df.versions.iloc[0]
    assert dict(zip(methods.method, methods.params)) == {"small": 3 * 4 * 9 + 4 + 4 * 3 * 9 + 3,
                                                         "big": 3 * 8 * 9 + 8 + 8 * 3 * 9 + 3, "offsite": 1234}
    fig = cfg.output / "predictions" / "big" / "set_a" / "set_a_00.exr"  # the figure's image is kept
    assert fig.is_file() and not (cfg.output / "predictions" / "big" / "set_a" / "set_a_01.exr").exists()


def test_nan_prediction_is_one_line_error_and_nothing_stored(tmp_path):
    cfg = parse_config(make_bench(tmp_path, nan=True, external=False), tmp_path / "bench.toml")
    with pytest.raises(HDRBenchError, match="method 'small' predicted .* NaN/inf values for image 'set_a_00'"):
        evaluate(cfg, progress=False)
    assert rows(cfg) == []


def test_missing_checkpoint_and_missing_external_prediction(tmp_path):
    data = make_bench(tmp_path, external=False)
    data["methods"][0]["checkpoint"] = str(tmp_path / "nope.safetensors")
    with pytest.raises(HDRBenchError, match="checkpoint of method 'small' not found"):
        evaluate(parse_config(data, tmp_path / "bench.toml"), progress=False)
    data = make_bench(tmp_path)
    (tmp_path / "ext" / "set_b" / "set_b_02.exr").unlink()
    with pytest.raises(HDRBenchError, match="no prediction for image 'set_b_02'"):
        evaluate(parse_config(data, tmp_path / "bench.toml"), progress=False)


def test_retrained_checkpoint_replaces_its_old_scores(tmp_path):
    from hdrbench.plan import build_plan

    cfg = parse_config(make_bench(tmp_path, external=False), tmp_path / "bench.toml")
    evaluate(cfg, progress=False)
    before = rows(cfg)
    torch.manual_seed(5)
    save_weights(FakeMethod(options={"width": 4}).build_network(), tmp_path / "w4.safetensors", method="fake-net")
    summary = evaluate(cfg, progress=False)
    assert summary.added == 3 * 2 * 2 and sum(summary.recomputed.values()) == summary.added  # only 'small' again
    assert set(summary.recomputed) == {"method (weights, options or predictions)"}
    after = rows(cfg)
    assert len(after) == len(before) + summary.added  # the old rows stay in the store ...
    with ResultStore(cfg.runs.results) as s:
        current = build_plan(cfg, "report").current_scores(s.scores())
    assert len(current) == len(before)  # ... but only the new weights' scores are current
    now = sorted(map(tuple, current[KEY + ["value"]].itertuples(index=False)))
    changed = {r[:5] for r in set(now) - set(before)}
    assert changed and {k[0] for k in changed} == {"small"}


SCRIPT = """
import os, signal, sys
sys.path[:0] = [{tests!r}, {root!r}]  # this checkout's hdrbench, whatever is installed
import test_train_fakes  # registers the fakes
from hdrbench.config import parse_config
from hdrbench.evaluate import evaluate
from test_evaluate import make_bench
from pathlib import Path
cfg = parse_config(make_bench(Path({tmp!r}), external=False), Path({tmp!r}) / "bench.toml")
def die(n):
    if n == {k}:
        os.kill(os.getpid(), signal.SIGKILL)
evaluate(cfg, progress=False, on_image=die)
"""


def test_sigkill_mid_evaluation_then_rerun(tmp_path):
    script = tmp_path / "run.py"
    here = Path(__file__).parent
    script.write_text(textwrap.dedent(SCRIPT.format(tests=str(here), root=str(here.parent), tmp=str(tmp_path), k=5)))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    cfg = parse_config(make_bench(tmp_path, external=False), tmp_path / "bench.toml")
    assert len(rows(cfg)) == 5 * 2
    evaluate(cfg, progress=False)
    final = rows(cfg)
    assert len(final) == len(set(r[:5] for r in final)) == 2 * 2 * 3 * 2  # whole images, no duplicate
    with ResultStore(cfg.runs.results) as s:
        assert s.count() == 24
    assert os.path.getsize(cfg.runs.results) > 0 and np.isfinite([r[5] for r in final]).all()
