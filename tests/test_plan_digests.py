"""Every stored score is a function of what the benchmark declares: a changed protocol, metric parameter, method
option, dataset camera option or external prediction file recomputes exactly the affected rows (the run says why),
and the tables then equal a fresh run's in an empty folder."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hdrbench import io
from hdrbench.config import parse_config
from hdrbench.errors import HDRBenchError
from hdrbench.evaluate import ResultStore, evaluate
from hdrbench.plan import build_plan
from hdrbench.report.tables import write_reports


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """One cache of rendered demo views for the module (each camera setting renders its views once)."""
    return tmp_path_factory.mktemp("demo_cache")


@pytest.fixture
def bench(cache):
    return lambda tmp: _bench(tmp, cache)


def _bench(tmp: Path, cache: Path) -> dict:
    """Two untrained rows (the identity row twice, one with its own gamma) and an external row on 2 demo views."""
    data = {"benchmark": {"name": "d", "output": str(tmp / "out"), "device": "cpu"},
            "dataset": {"name": "demo", "max_images": 2, "options": {"cache_dir": str(cache)}},
            "evaluate": {"protocol": "dcdr", "metrics": ["psnr-l", "psnr-mu"]},
            "report": {"bootstrap": 50}, "plot": {"images": 1},
            "methods": [{"name": "identity", "id": "id-a", "train": True},
                        {"name": "identity", "id": "id-b", "train": True, "options": {"gamma": 2.4}},
                        {"name": "ext", "external": str(tmp / "ext")}]}
    return data


def write_external(tmp: Path, cfg, scale: float = 0.9) -> None:
    plan = build_plan(cfg, "report")
    for pair in plan.pairs["test"]:
        _, hdr = plan.dataset.load_pair(pair)
        io.write_exr(tmp / "ext" / f"{pair.id}.exr", hdr * scale)


def table(cfg) -> pd.DataFrame:
    write_reports(cfg)
    cells = pd.read_csv(cfg.output / "table1.csv")
    return cells.sort_values(["method", "metric"]).reset_index(drop=True)[["method", "metric", "mean", "n_images"]]


def fresh(tmp: Path, data: dict, name: str) -> pd.DataFrame:
    cfg = parse_config({**data, "benchmark": {**data["benchmark"], "output": str(tmp / name)}}, tmp / "bench.toml")
    evaluate(cfg, progress=False)
    return table(cfg)


def test_each_change_recomputes_only_its_rows_and_equals_a_fresh_run(tmp_path, bench):
    tmp_path.joinpath("ext").mkdir()
    data = bench(tmp_path)
    cfg = parse_config(data, tmp_path / "bench.toml")
    write_external(tmp_path, cfg)
    first = evaluate(cfg, progress=False)
    assert first.added == 3 * 2 * 2 and not first.recomputed
    assert evaluate(cfg, progress=False).added == 0  # nothing changed: nothing recomputed

    n_rows = 2 * 2  # images x metrics of one method
    changes = [  # (what changes, expected recomputed rows, reason)
        (dict(evaluate__protocol="ntire2021"), 3 * n_rows, "scoring (protocol or metric parameters)"),
        (dict(evaluate__metric_params={"psnr-mu": {"mu": 20.0}}), 3 * 2, "scoring (protocol or metric parameters)"),
        ("option", n_rows, "method (weights, options or predictions)"),
        ("external", n_rows, "method (weights, options or predictions)"),
    ]
    for k, (change, count, reason) in enumerate(changes):
        if change == "option":
            data["methods"][1]["options"] = {"gamma": 2.0}
        elif change == "external":
            write_external(tmp_path, cfg, scale=0.5)  # the files are rewritten: their scores are stale
        else:
            for key, value in change.items():
                section, _, name = key.partition("__")
                data[section] = {**data[section], name: value}
        cfg = parse_config(data, tmp_path / "bench.toml")
        summary = evaluate(cfg, progress=False)
        assert summary.added == count and summary.recomputed == {reason: count}, change
        assert table(cfg).equals(fresh(tmp_path, data, f"fresh{k}")), change


def test_a_changed_camera_option_recomputes_every_row(tmp_path, bench):
    tmp_path.joinpath("ext").mkdir()
    data = bench(tmp_path)
    del data["methods"][2]  # an external row would need new files for the new inputs
    cfg = parse_config(data, tmp_path / "bench.toml")
    evaluate(cfg, progress=False)
    data["dataset"]["options"] = {**data["dataset"]["options"], "gamma": 2.0}
    cfg = parse_config(data, tmp_path / "bench.toml")
    summary = evaluate(cfg, progress=False)
    assert summary.recomputed == {"test pair (dataset files or options)": 2 * 2 * 2}
    assert table(cfg).equals(fresh(tmp_path, data, "fresh"))


def test_rows_of_a_table_are_over_the_plans_images(tmp_path, bench):
    """After ``max_images`` (or the root) changes, every row is over the plan's images; a method scored on fewer
    images says so."""
    tmp_path.joinpath("ext").mkdir()
    data = bench(tmp_path)
    data["dataset"]["max_images"] = 3
    cfg = parse_config(data, tmp_path / "bench.toml")
    write_external(tmp_path, cfg)
    evaluate(cfg, progress=False)
    data["dataset"]["max_images"] = 2
    cfg2 = parse_config(data, tmp_path / "bench.toml")
    assert set(table(cfg2).n_images) == {2}  # the third image's stored rows are not reported
    data["dataset"]["max_images"] = 4
    cfg4 = parse_config(data, tmp_path / "bench.toml")
    write_external(tmp_path, cfg4)
    evaluate(cfg4, methods=["id-a"], progress=False)
    cells = table(cfg4)
    assert dict(zip(cells.method, cells.n_images)) == {"id-a": 4, "id-b": 3, "ext": 3}
    md = (cfg4.output / "table1.md").read_text()
    assert "Over fewer images than the others (not yet evaluated)" in md and "id-b on test (3 of 4 images)" in md
    assert "*" in md.split("\n\n")[1]


def test_tables_and_viewer_name_the_protocol_and_its_reading(tmp_path, bench):
    tmp_path.joinpath("ext").mkdir()
    data = bench(tmp_path)
    cfg = parse_config(data, tmp_path / "bench.toml")
    write_external(tmp_path, cfg)
    evaluate(cfg, progress=False)
    write_reports(cfg)
    md = (cfg.output / "table1.md").read_text()
    assert ("PSNR-μ (mu = 10, norm = none; both ÷ max(1, max gt), prediction clipped to [0, 1]; dcdr protocol)"
            in md)
    tex = (cfg.output / "table1.tex").read_text()
    assert r"PSNR-$\mu$ (mu = 10, norm = none; both $\div$ max(1, max gt), prediction clipped to [0, 1]" in tex
    cells = pd.read_csv(cfg.output / "table1.csv")
    assert set(cells.protocol) == {"dcdr"} and cells.reading.str.contains("dcdr protocol").all()
    from hdrbench.report.viewer import write_viewer

    viewer = write_viewer(cfg)
    page = (viewer.index.parent / "viewer" / "data.js").read_text()
    assert '"protocol":"dcdr"' in page and "dcdr protocol" in page


def test_an_old_store_is_migrated_and_never_misread(tmp_path, bench):
    """A store of the first format (no digests) keeps its rows, reports none of them, and is recomputed."""
    tmp_path.joinpath("ext").mkdir()
    data = bench(tmp_path)
    cfg = parse_config(data, tmp_path / "bench.toml")
    write_external(tmp_path, cfg)
    cfg.output.mkdir(parents=True)
    with sqlite3.connect(cfg.runs.results) as db:  # the first format, as hdrbench 0.1 wrote it
        db.executescript("""
            CREATE TABLE scores (method TEXT NOT NULL, dataset TEXT NOT NULL, test_set TEXT NOT NULL,
              image TEXT NOT NULL, metric TEXT NOT NULL, value REAL NOT NULL, lower_better INTEGER NOT NULL DEFAULT 0,
              protocol TEXT, metric_params TEXT, checkpoint TEXT, substitutions TEXT, versions TEXT,
              created TEXT DEFAULT CURRENT_TIMESTAMP, warning TEXT NOT NULL DEFAULT '',
              UNIQUE (method, dataset, test_set, image, metric));
            INSERT INTO scores (method, dataset, test_set, image, metric, value) VALUES
              ('id-a', 'demo', 'test', 'blender_city_v0', 'psnr-l', 99.0);""")
    with pytest.raises(HDRBenchError, match="no current scores"):
        write_reports(cfg)  # the old row is never shown as a current score
    summary = evaluate(cfg, progress=False)
    assert summary.recomputed == {"store format (scores without a digest)": 1}
    with ResultStore(cfg.runs.results) as s:
        assert s.count() == 3 * 2 * 2 + 1
    assert 99.0 not in set(table(cfg)["mean"])
    with sqlite3.connect(cfg.runs.results) as db:
        db.execute("PRAGMA user_version=7")
    with pytest.raises(HDRBenchError, match="written by a newer hdrbench"):
        ResultStore(cfg.runs.results)


def test_stale_figure_prediction_is_made_again(tmp_path, bench):
    tmp_path.joinpath("ext").mkdir()
    data = bench(tmp_path)
    cfg = parse_config(data, tmp_path / "bench.toml")
    write_external(tmp_path, cfg)
    evaluate(cfg, progress=False)
    plan = build_plan(cfg, "report")
    saved = cfg.runs.prediction("id-b", "test", plan.figure_ids[0])
    before = io.read_hdr(saved)
    data["methods"][1]["options"] = {"gamma": 2.0}
    cfg = parse_config(data, tmp_path / "bench.toml")
    from hdrbench.report.plots import saved_prediction

    with pytest.raises(HDRBenchError, match="was made by other weights, options or inputs"):
        saved_prediction(build_plan(cfg, "report"), "id-b", "test", plan.figure_ids[0])
    evaluate(cfg, progress=False)
    assert not np.array_equal(io.read_hdr(saved), before)
    assert saved_prediction(build_plan(cfg, "report"), "id-b", "test", plan.figure_ids[0]) == saved
