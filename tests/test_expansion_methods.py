"""The expansion operators as registered methods (``baselines/expansion/method.py``): impossible option values are
one-line errors naming the method, ``hdrbench list`` names the parameter count once, and the evaluation and
``predict`` say what is by design (the units rule, once per method) and which image a warning is about. The
operators' numbers against HDR Toolbox are ``tests/test_expansion_operators.py``'s."""

from __future__ import annotations

import pytest
from test_expansion_operators import METHODS, _demo_view

from baselines.expansion import core
from hdrbench.errors import HDRBenchError


@pytest.mark.parametrize("name, options, message", [
    ("akyuz", {"scale": 0}, "method 'akyuz': option scale=0 must be a number > 0"),
    ("landis", {"threshold": 1.0}, "method 'landis': option threshold=1.0 must lie in [0, 1)"),
    ("landis", {"threshold": -0.1}, "method 'landis': option threshold=-0.1 must be a finite number >= 0"),
    ("kovaleski-oliveira", {"display_min": 1200.0}, "display_min=1200.0 must be below display_max=1200.0"),
    ("kovaleski-oliveira", {"display_max": -5.0}, "option display_max=-5.0 must be a finite number > 0"),
    ("kovaleski-oliveira", {"display_max": 1e6}, "display_max=1e+06 cd/m² is above 100000 cd/m²"),
    ("akyuz", {"max_output": float("inf")}, "max_output=inf must be a finite number"),
    ("huo", {"max_output": float("nan")}, "max_output=nan must be a finite number"),
    ("masia", {"max_output": 2e5}, "method 'masia': option max_output=200000 cd/m² is above 100000 cd/m²"),
    ("masia", {"max_output": 0}, "method 'masia': option max_output=0 must be a finite number > 0"),
    ("masia", {"noise": 1}, "method 'masia': option noise=1 must be true or false"),
])
def test_impossible_option_values_are_one_line_errors_naming_the_method(name, options, message):
    from hdrbench.method import create_method

    with pytest.raises(HDRBenchError) as exc:
        create_method(name, **options)
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_edge_values_that_are_possible_are_kept():
    from hdrbench.method import create_method

    assert create_method("landis", threshold=0).options["threshold"] == 0  # every pixel expanded
    assert create_method("masia", max_output=1e5).options["max_output"] == 1e5


def test_list_names_the_parameter_count_once(run_main):
    code, out, _ = run_main("list")
    assert code == 0
    lines = [ln for ln in out.splitlines() if ln.split()[:1] and ln.split()[0] in (*METHODS, "identity")]
    assert len(lines) == len(METHODS) + 1
    assert all(ln.count("params") == 1 for ln in lines), lines


def test_evaluation_says_the_units_rule_once_per_operator_and_names_the_image_of_a_warning(tmp_path, caplog,
                                                                                          monkeypatch):
    """The operators' output is brighter than the ground truth by their declared display model: the units warning
    is one note per method, not one per image; a warning the operator gives about an image names the image."""
    import logging

    import test_train_fakes  # noqa: F401  (registers the dataset fake-data)

    from hdrbench.config import parse_config
    from hdrbench.errors import HDRBenchWarning
    from hdrbench.evaluate import evaluate

    monkeypatch.setattr(core, "masia_gamma", lambda lum_, multi_regression=False: -0.5)  # a dark key everywhere
    cfg = parse_config({"benchmark": {"name": "t", "output": str(tmp_path / "out"), "device": "cpu"},
                        "dataset": {"name": "fake-data"},
                        "methods": [{"name": "akyuz", "train": True}, {"name": "masia", "train": True}],
                        "evaluate": {"metrics": ["fake-mae"], "protocol": "ntire2021"}}, tmp_path / "b.toml")
    with caplog.at_level(logging.WARNING), pytest.warns(HDRBenchWarning) as warned:
        evaluate(cfg, progress=False)
    units = [r.getMessage() for r in caplog.records if "the ground truth's scale" in r.getMessage()]
    assert len(units) == 2 and all("declared display model" in m for m in units), units
    assert sorted(m.split(": ")[2] for m in units) == ["akyuz", "masia"]
    masia = [str(w.message) for w in warned if "exponent" in str(w.message)]
    assert len(masia) == 6 and all(m.startswith("masia: image '") for m in masia), masia


def test_predict_names_the_file_in_masias_warning(tmp_path, run_main):
    from hdrbench import io

    src = tmp_path / "view.png"
    io.write_ldr(src, _demo_view() / 255.0)  # key 0.597: γ <= 0
    code, _, err = run_main("predict", "--method", "masia", src, tmp_path / "o.exr")  # main() prints warnings
    assert code == 0, err
    warned = [ln for ln in err.splitlines() if ln.startswith("hdrbench: warning:")]
    assert len(warned) == 1 and warned[0].startswith(f"hdrbench: warning: {src}: masia: exponent γ = "), err
    assert "<= 0 for this image" in warned[0]
