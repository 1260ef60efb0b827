"""bench.toml loading: the checked-in demo is valid; unknown keys name the closest valid one; errors are one line."""

from __future__ import annotations

from pathlib import Path

import pytest
import test_train_fakes  # noqa: F401  (registers the fakes)

from hdrbench.config import load_config, parse_config
from hdrbench.errors import HDRBenchError

ROOT = Path(__file__).resolve().parents[1]
GOOD = """
[benchmark]
name = "t"
[dataset]
name = "fake-data"
[train]
recipe = { iterations = 5 }
[evaluate]
protocol = "ntire2021"
metrics = ["fake-mae"]
[[methods]]
name = "fake-net"
train = true
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "bench.toml"
    p.write_text(text)
    return p


def test_checked_in_demo_benchmark_is_valid():
    cfg = load_config(ROOT / "bench.toml")
    assert cfg.name == "demo" and cfg.dataset.name == "demo" and cfg.output == ROOT / "results" / "demo"
    assert {"dcdr", "dcdr-no-dcrb", "dcdr-no-tone", "dcdr-no-cond", "hdrunet"} <= {m.id for m in cfg.methods}
    assert all(m.train for m in cfg.methods)
    assert [t.name for t in cfg.tables] == ["table1", "table2", "table3"]
    assert cfg.scored_metrics == ["psnr-l", "psnr-mu", "ssim", "lpips", "hdrvdp2"]


def test_good_config_and_defaults(tmp_path):
    cfg = load_config(write(tmp_path, GOOD))
    assert cfg.output == tmp_path / "results" / "t" and cfg.train.checkpoint_every == 500
    assert cfg.methods[0].id == cfg.methods[0].label == "fake-net"
    assert cfg.tables[0].name == "table1" and cfg.tables[0].params
    assert cfg.runs.checkpoint_dir("fake-net") == tmp_path / "results" / "t" / "checkpoints" / "fake-net"


@pytest.mark.parametrize("edit, message", [
    (("[train]", "[trian]"), "unknown key 'trian'; did you mean 'train'?"),
    (("recipe = {", "recipie = {"), "unknown key 'train.recipie'; did you mean 'train.recipe'?"),
    (("train = true", "train = true\nchekpoint = 'x'"),
     "unknown key 'methods[0].chekpoint'; did you mean 'methods[0].checkpoint'?"),
    (("iterations = 5", "iteration = 5"), "unknown recipe key 'iteration' (did you mean 'iterations'?)"),
    (('name = "fake-net"', 'name = "fake-nett"'), "unknown method 'fake-nett'; did you mean 'fake-net'?"),
    (('metrics = ["fake-mae"]', 'metrics = ["fake-mea"]'), "unknown metric 'fake-mea'"),
    (('protocol = "ntire2021"', 'protocol = "ntire"'), "unknown protocol 'ntire'"),
    (("train = true", "train = true\ncheckpoint = 'w.safetensors'"), "needs exactly one of train = true"),
    (("[train]", "[train]\ncheckpoint_every = 0"), "'train.checkpoint_every' must be a positive"),
    (('name = "t"', "name = 3"), "key 'benchmark.name' must be str, not int"),
    (("[[methods]]", "[report]\ntest = 'anova'\n[[methods]]"), "'report.test' must be one of wilcoxon, ttest"),
])
def test_config_errors_name_the_key_and_the_fix(tmp_path, edit, message):
    old, new = edit
    assert old in GOOD
    with pytest.raises(HDRBenchError) as info:
        load_config(write(tmp_path, GOOD.replace(old, new, 1)))
    assert message in str(info.value) and "\n" not in str(info.value)
    assert str(info.value).startswith(str(tmp_path / "bench.toml"))


def test_structural_errors(tmp_path):
    with pytest.raises(HDRBenchError, match="not valid TOML"):
        load_config(write(tmp_path, "[benchmark\n"))
    with pytest.raises(HDRBenchError, match="benchmark file not found"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(HDRBenchError, match=r"at least one \[\[methods\]\]"):
        parse_config({"dataset": {"name": "fake-data"}})
    two = {"dataset": {"name": "fake-data"}, "methods": [{"name": "fake-net", "train": True}] * 2}
    with pytest.raises(HDRBenchError, match="appears twice"):
        parse_config(two)
    bad_table = {"dataset": {"name": "fake-data"}, "methods": [{"name": "fake-net", "train": True}],
                 "report": {"tables": {"table2": {"methods": ["fake-nt"]}}}}
    with pytest.raises(HDRBenchError, match="did you mean 'fake-net'"):
        parse_config(bad_table)


def test_cli_prints_one_line_and_exits_2(tmp_path, cli):
    bad = write(tmp_path, GOOD.replace("[train]", "[trian]"))
    proc = cli("report", str(bad))
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0
    assert "unknown key 'trian'; did you mean 'train'?" in proc.stderr


def test_training_switch_is_recipes_and_the_old_spelling_still_reads(tmp_path):
    """`[train] recipes` is the training switch; `protocol` there (and `dcdr` for `paper`) is read with a
    one-line deprecation message, so "protocol" means scoring only."""
    from hdrbench.config import parse_config

    base = {"dataset": {"name": "demo"}, "methods": [{"name": "hdrunet", "train": True}]}
    assert parse_config(base, tmp_path / "b.toml").train.recipes == "official"
    cfg = parse_config({**base, "train": {"recipes": "paper"}}, tmp_path / "b.toml")
    assert cfg.train.recipes == "paper"
    with pytest.warns(FutureWarning, match=r"'train.protocol' is deprecated; write train.recipes = \"paper\""):
        cfg = parse_config({**base, "train": {"protocol": "dcdr"}}, tmp_path / "b.toml")
    assert cfg.train.recipes == "paper"
    with pytest.warns(FutureWarning, match="methods\\[0\\].protocol"):
        cfg = parse_config({**base, "methods": [{"name": "hdrunet", "train": True, "protocol": "paper"}]},
                           tmp_path / "b.toml")
    assert cfg.methods[0].recipes == "paper"


def test_unknown_recipes_fail_before_work(tmp_path):
    from hdrbench.config import parse_config
    from hdrbench.preflight import validate_names

    cfg = parse_config({"dataset": {"name": "demo"}, "methods": [{"name": "hdrunet", "train": True}],
                        "train": {"recipes": "papr"}}, tmp_path / "b.toml")
    with pytest.raises(HDRBenchError, match="unknown recipes 'papr' \\(known: official, paper, paper-patches\\)"):
        validate_names(cfg)


def test_validation_does_not_change_the_config(tmp_path):
    from hdrbench.config import parse_config
    from hdrbench.preflight import validate_names

    cfg = parse_config({"dataset": {"name": "demo"}, "methods": [{"name": "hdrunet", "train": True}]},
                       tmp_path / "b.toml")
    validate_names(cfg)
    assert cfg.evaluate.metrics == [] and cfg.scored_metrics == ["psnr-l", "psnr-mu", "ssim", "lpips", "hdrvdp2"]


@pytest.mark.parametrize(("text", "value"), [("3", 3), ("0.5", 0.5), ("null", None), ("None", None), ("true", True),
                                             ("True", True), ("[2, 8, 2]", [2, 8, 2]), ("(2, 8)", (2, 8)),
                                             ("mu-law", "mu-law"), ('"3"', "3")])
def test_one_key_value_parser(text, value):
    from hdrbench.keyvalue import parse_key_values

    assert parse_key_values([f"k={text}"], "-o", "k=1") == {"k": value}
    with pytest.raises(HDRBenchError, match="'-o' |-o 'k' must be KEY=VALUE"):
        parse_key_values(["k"], "-o", "k=1")


def test_readme_reference_names_every_key():
    """The README's bench.toml reference lists every key the section dataclasses declare (schema = fields)."""
    from hdrbench.config import SECTIONS, MethodEntry, schema

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("| `[")]
    for section, cls in [*SECTIONS.items(), ("[methods]", MethodEntry)]:
        text = " ".join(r.split("|")[1] for r in rows if r.startswith(f"| `[{section}]`"))
        missing = [k for k in schema(cls) if k != "tables" and f"`{k}`" not in text]
        assert not missing, (section, missing)
