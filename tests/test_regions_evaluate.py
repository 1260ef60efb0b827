"""``[evaluate] regions = true``: per-image region scores stored under their own digest, recomputed only when what
they depend on changes, and reported as regions.csv/md/tex and figure_regions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hdrbench.config import parse_config
from hdrbench.evaluate import ResultStore, evaluate
from hdrbench.metrics.protocols import get_protocol
from hdrbench.metrics.regions import RegionSpec, find_regions, region_scores
from hdrbench.plan import build_plan
from hdrbench.report.regions import write_region_outputs


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("demo_cache")


def bench(tmp: Path, cache: Path, **evaluate_changes) -> dict:
    return {"benchmark": {"name": "r", "output": str(tmp / "out"), "device": "cpu"},
            "dataset": {"name": "demo", "max_images": 2, "options": {"cache_dir": str(cache)}},
            "evaluate": {"protocol": "dcdr", "metrics": ["psnr-l", "psnr-mu"], "regions": True, **evaluate_changes},
            "report": {"bootstrap": 50}, "plot": {"images": 1, "formats": ["png"]},
            "methods": [{"name": "ext", "external": str(tmp / "ext")}, {"name": "identity", "train": True}]}


def write_external(cfg) -> None:
    """Predictions made elsewhere: the ground truth, slightly off."""
    from hdrbench import io

    plan = build_plan(cfg, "report")
    for pair in plan.pairs["test"]:
        _, hdr = plan.dataset.load_pair(pair)
        io.write_exr(Path(cfg.method("ext").external) / f"{pair.id}.exr", hdr * 0.8)


def test_region_scores_are_stored_reported_and_recomputed_only_on_change(tmp_path, cache):
    (tmp_path / "ext").mkdir()
    cfg = parse_config(bench(tmp_path, cache), tmp_path / "bench.toml")
    write_external(cfg)
    first = evaluate(cfg, progress=False)
    assert first.region_images == 4 and first.added == 2 * 2 * 2
    again = evaluate(cfg, progress=False)
    assert again.added == 0 and again.region_images == 0  # nothing changed: nothing recomputed
    changed = parse_config(bench(tmp_path, cache, distance_edges=[1, 8]), tmp_path / "bench.toml")
    summary = evaluate(changed, progress=False)
    assert summary.added == 0 and summary.region_images == 4  # the whole-image scores stand; the regions are new

    plan = build_plan(changed, "report")
    paths = write_region_outputs(plan)
    assert {p.name for p in paths} == {"regions.csv", "regions.md", "regions.tex", "figure_regions.png"}
    cells = pd.read_csv(changed.output / "regions.csv")
    assert list(dict.fromkeys(cells.method)) == ["identity", "ext"]  # the identity row first
    assert set(cells[cells.stratum == "by_distance"].bin) == {"1–8 px", "≥8 px"}  # only the current bins

    # one cell against a direct computation from the data: identity's in-region PSNR-μ, mean over the images
    p = get_protocol("dcdr")
    metrics = {n: p.create(n) for n in ("psnr-l", "psnr-mu")}
    spec = RegionSpec(distance_edges=(1.0, 8.0))
    values = []
    for pair in plan.pairs["test"]:
        ldr, hdr = plan.dataset.load_pair(pair)
        import torch

        pred = torch.from_numpy(np.ascontiguousarray(ldr.astype(np.float64) ** 2.2 / 64)).permute(2, 0, 1)[None]
        gt = torch.from_numpy(np.ascontiguousarray(hdr.astype(np.float64))).permute(2, 0, 1)[None]
        pr, g = p.prepare(pred.float(), gt.float())
        bins = [m for _, m in spec.strata(find_regions(ldr))["by_distance"]]
        rec = region_scores(pr, g, bins, metrics)[1]
        if rec["pixels"]:
            values.append(rec["psnr-mu"])
    cell = cells[(cells.method == "identity") & (cells.bin == "≥8 px") & (cells.quantity == "psnr-mu")].iloc[0]
    assert cell.n_images == len(values) and cell["mean"] == pytest.approx(np.mean(values), abs=1e-3)
    with ResultStore(changed.runs.results) as s:
        assert len(set(s.regions().digest)) == 2 * 2 * 2  # both specs' rows side by side (2 methods x 2 images)


def test_run_writes_the_region_report_and_a_bad_region_setting_fails_first(tmp_path, cache, run_main):
    (tmp_path / "ext").mkdir()
    path = tmp_path / "bench.toml"
    write_external(parse_config(bench(tmp_path, cache), path))
    path.write_text(_toml(bench(tmp_path, cache, region_rule="luma")))
    code, _, err = run_main("run", path)
    assert code == 2 and "overexposure rule 'luma' is not one of gray, channel" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "out" / "results.sqlite").exists()
    path.write_text(_toml(bench(tmp_path, cache)))
    code, out, err = run_main("run", path)
    assert code == 0, err
    assert "region scores of 4 images" in out
    assert (tmp_path / "out" / "figure_regions.png").is_file() and (tmp_path / "out" / "regions.md").is_file()


def _toml(data: dict) -> str:
    lines = []
    for section, table in data.items():
        if section == "methods":
            continue
        lines.append(f"[{section}]")
        for k, v in table.items():
            lines.append(f"{k} = {_value(v)}")
    for m in data["methods"]:
        lines.append("[[methods]]")
        lines += [f"{k} = {_value(v)}" for k, v in m.items()]
    return "\n".join(lines) + "\n"


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return str(v)


def test_score_regions_json_equals_the_api_and_the_evaluation(tmp_path, cache, run_main):
    """``hdrbench score --ldr --regions --json`` prints what ``hdrbench.score(..., regions=True)`` returns, with one
    object per bin holding ``bin``, ``pixels``, ``images`` and a key per quantity (``null`` where undefined)."""
    import json

    import hdrbench
    from hdrbench import io
    from hdrbench.datasets.base import create_dataset

    ds = create_dataset("demo", cache_dir=str(cache))
    pair = ds.pairs("test")[0]
    ldr, hdr = ds.load_pair(pair)
    io.write_exr(tmp_path / "gt.exr", hdr)
    io.write_exr(tmp_path / "pred.exr", (ldr.astype(np.float32) ** 2.2 / 64).astype(np.float32))
    io.write_ldr(tmp_path / "in.png", ldr)
    code, out, err = run_main("score", tmp_path / "pred.exr", tmp_path / "gt.exr", "--ldr", tmp_path / "in.png",
                              "--regions", "--metric", "psnr-mu", "--json")
    assert code == 0, err
    record = json.loads(out)
    api = hdrbench.score(tmp_path / "pred.exr", tmp_path / "gt.exr", metrics=["psnr-mu"], ldr=tmp_path / "in.png",
                         regions=True)
    assert record["regions"] == json.loads(json.dumps(api["regions"]))
    far = record["regions"]["by_distance"][-1]
    assert set(far) == {"bin", "pixels", "images", "psnr-l", "psnr-mu", "log2-error", "energy-ratio", "hdrvdp2-pdet"}
    assert far["bin"] == "≥64 px" and far["pixels"] == 0 and far["images"] == 0 and far["psnr-mu"] is None
    near = record["regions"]["by_distance"][0]
    assert near["pixels"] > 0 and near["images"] == 1 and near["hdrvdp2-pdet"] is None  # no HDR-VDP-2 asked for
    code, _, err = run_main("score", tmp_path / "pred.exr", tmp_path / "gt.exr", "--regions")
    assert code == 2 and "add --ldr" in err
