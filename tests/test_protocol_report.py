"""``hdrbench report --protocols``: the same predictions under several protocols, ranks per protocol and metric,
and Kendall's τ between the rankings (checked by hand on three methods)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hdrbench import io
from hdrbench.config import parse_config
from hdrbench.plan import build_plan


def _toml(tmp: Path, cache: Path) -> str:
    return f"""
[benchmark]
output = "{tmp / 'out'}"
device = "cpu"
[dataset]
name = "demo"
max_images = 3
options = {{ cache_dir = "{cache}" }}
[evaluate]
protocol = "dcdr"
metrics = ["psnr-l", "ssim"]
[report]
bootstrap = 20
[report.tables.table2]
metrics = ["ssim"]                   # not a metric of ntire2021: the protocols report must not mind
[[methods]]
name = "identity"
train = true
[[methods]]
name = "dark"
external = "{tmp / 'dark'}"
[[methods]]
name = "bright"
external = "{tmp / 'bright'}"
"""


def test_protocol_report_ranks_and_kendall_tau(tmp_path, run_main):
    path = tmp_path / "bench.toml"
    path.write_text(_toml(tmp_path, tmp_path / "cache"))
    (tmp_path / "dark").mkdir()
    (tmp_path / "bright").mkdir()
    plan = build_plan(parse_config(__import__("tomllib").loads(path.read_text()), path), "report")
    for pair in plan.pairs["test"]:  # two predictions made elsewhere: the ground truth 0.8x and 1.3x
        _, hdr = plan.dataset.load_pair(pair)
        io.write_exr(tmp_path / "dark" / f"{pair.id}.exr", hdr * 0.8)
        io.write_exr(tmp_path / "bright" / f"{pair.id}.exr", hdr * 1.3)
    code, out, err = run_main("report", path, "--quiet", "--protocols", "ntire2021,dcdr-hdrunet")
    assert code == 2 and "no result store yet" in err  # the benchmark's own scores come first
    assert run_main("evaluate", path)[0] == 0
    code, out, err = run_main("report", path, "--quiet", "--protocols", "ntire2021,dcdr-hdrunet")
    assert code == 0, err
    cells = pd.read_csv(tmp_path / "out" / "protocols.csv")
    assert set(cells.protocol) == {"ntire2021", "dcdr-hdrunet"}
    assert set(cells.metric) == {"psnr-l", "psnr-mu", "ssim", "lpips", "hdrvdp2"}
    for (_, metric), sub in cells.groupby(["protocol", "metric"]):  # ranks by hand, direction-aware
        lower = bool(sub.lower_better.iloc[0])
        order = sub.sort_values("mean", ascending=lower).method.tolist()
        assert sub.set_index("method")["rank"].to_dict() == {m: i + 1 for i, m in enumerate(order)}, metric
    md = (tmp_path / "out" / "protocols.md").read_text()
    assert "Kendall's τ between the rankings" in md

    from hdrbench.report.protocols import kendall_taus

    taus = kendall_taus(cells, "test")
    a = cells[(cells.protocol == "ntire2021") & (cells.metric == "psnr-l")].set_index("method")["rank"]
    b = cells[(cells.protocol == "dcdr-hdrunet") & (cells.metric == "hdrvdp2")].set_index("method")["rank"]
    pairs = [("identity", "dark"), ("identity", "bright"), ("dark", "bright")]
    sign = [((a[x] - a[y]) * (b[x] - b[y])) for x, y in pairs]  # no ties among three distinct predictions
    by_hand = (sum(s > 0 for s in sign) - sum(s < 0 for s in sign)) / 3
    assert taus.loc["ntire2021/psnr-l", "dcdr-hdrunet/hdrvdp2"] == pytest.approx(by_hand)
    assert taus.loc["ntire2021/psnr-l", "ntire2021/psnr-l"] == pytest.approx(1.0)
    code, _, err = run_main("report", path, "--protocols", "ntire2021,nope")
    assert code == 2 and "report.protocols: unknown protocol 'nope'" in err
