"""Bad numbers are refused at once, in one line with exit code 2: every numeric command-line option (click
ranges, checked while parsing), every Recipe field (type from its annotation, range from RECIPE_RANGES), method,
dataset and metric options (the type their default implies) and the virtual camera's fields. Good values of the
same kind still pass, so each refusal is the check's doing, not a blanket failure."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import test_train_fakes  # noqa: F401  (registers the fakes)
import torch
from test_train_fakes import FakeMethod, FakeStagedMethod

from hdrbench import io
from hdrbench.datasets import create_dataset
from hdrbench.errors import HDRBenchError
from hdrbench.method import Recipe, create_method
from hdrbench.metrics.base import create_metric
from hdrbench.train.loop import stage_plan


def assert_one_line(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("hdrbench: error:") and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err


# -- Recipe --------------------------------------------------------------------------------------------------
BAD_RECIPES = [
    ({"lr": "fast"}, "recipe lr='fast' must be a finite number"),
    ({"lr": 0}, "recipe lr=0 must be > 0"),
    ({"lr": float("nan")}, "recipe lr=nan must be a finite number"),
    ({"batch_size": 0}, "recipe batch_size=0 must be >= 1"),
    ({"batch_size": True}, "recipe batch_size=True must be an integer"),
    ({"batch_size": 8.0}, "recipe batch_size=8.0 must be an integer"),
    ({"patch_size": 3}, "recipe patch_size=3 must be >= 8"),
    ({"iterations": -1}, "recipe iterations=-1 must be >= 1"),
    ({"betas": (0.9, 1.0)}, "must be two numbers in [0, 1)"),
    ({"betas": [0.9]}, "must be a list of 2 finite numbers (default (0.9, 0.999))"),
    ({"milestones": [100, 1.5]}, "must be a list of integers"),
    ({"milestones": [0]}, "iteration numbers >= 1"),
    ({"gamma": 0}, "recipe gamma=0 must be > 0"),
    ({"weight_decay": -1e-4}, "recipe weight_decay=-0.0001 must be >= 0"),
    ({"step_every": 0}, "recipe step_every=0 must be >= 1"),
    ({"grad_clip": 0}, "recipe grad_clip=0 must be > 0"),
    ({"grad_clip": "yes"}, "recipe grad_clip='yes' must be a finite number or null"),
    ({"optimizer": "adamax"}, "recipe optimizer='adamax' must be one of adam"),
    ({"scheduler": "cosin"}, "recipe scheduler='cosin' must be one of constant"),
    ({"augment": ("hflip", 3)}, "must be a list of strings"),
    ({"source": 3}, "recipe source=3 must be a string"),
    ({"accumulate": 0}, "recipe accumulate=0 must be >= 1"),
    ({"accumulate": 3}, "recipe accumulate=3 must divide batch_size=16"),
]


@pytest.mark.parametrize(("changes", "message"), BAD_RECIPES, ids=[str(c) for c, _ in BAD_RECIPES])
def test_recipe_fields_are_type_and_range_checked(changes, message):
    with pytest.raises(HDRBenchError) as made:
        Recipe(**changes)
    assert message in str(made.value)
    with pytest.raises(HDRBenchError) as replaced:  # bench.toml recipe overrides and --iterations etc. go here
        Recipe().replace(**changes)
    assert message in str(replaced.value)


def test_good_recipe_values_pass_and_are_normalised():
    r = Recipe(lr=1, betas=[0, 0.5], milestones=[10, 20], grad_clip=2, gamma=1, augment=["vflip"])
    assert r.lr == 1.0 and isinstance(r.lr, float) and isinstance(r.grad_clip, float)
    assert r.betas == (0.0, 0.5) and all(isinstance(b, float) for b in r.betas)
    assert r.milestones == (10, 20) and r.augment == ("vflip",)
    assert Recipe(optimizer="AdamW", scheduler="Cosine").optimizer == "AdamW"  # train.optim lower-cases


def test_iterations_zero_is_nothing_to_train_never_an_override():
    """``identity``'s recipe keeps 0 iterations (nothing to train); asking for 0 is refused, not rounded to 1."""
    assert create_method("identity").recipe.iterations == 0
    with pytest.raises(HDRBenchError, match=r"recipe iterations=0 must be >= 1"):
        Recipe().replace(iterations=0)
    with pytest.raises(HDRBenchError, match=r"recipe iterations=0 must be >= 1"):
        stage_plan(FakeMethod(), None, {"iterations": 0})
    with pytest.raises(HDRBenchError, match=r"iterations=1 is fewer than one per training stage .*\(2 stages\)"):
        stage_plan(FakeStagedMethod(), None, {"iterations": 1})
    assert [s.recipe.iterations for s in stage_plan(FakeStagedMethod(), None, {"iterations": 2})] == [1, 1]


def test_patch_size_must_suit_the_network():
    """DCDR-UNet halves its input twice: a 10 px patch would fail inside the network, after the run started."""
    dcdr = create_method("dcdr")
    with pytest.raises(HDRBenchError, match=r"patch_size=10 must be a multiple of 4 for method 'dcdr'.*8 or 12"):
        stage_plan(dcdr, None, {"patch_size": 12 - 2})
    assert stage_plan(dcdr, None, {"patch_size": 12})[0].recipe.patch_size == 12


# -- method, dataset, metric and camera options ----------------------------------------------------------------
BAD_OPTIONS = [
    ("dcdr", {"nf": "abc"}, "method 'dcdr': option nf='abc' must be an integer (default 64)"),
    ("dcdr", {"nf": 32.0}, "option nf=32.0 must be an integer"),
    ("dcdr", {"dcrb": 1}, "option dcrb=1 must be true or false"),
    ("dcdr", {"blocks": [2, "a", 2]}, "option blocks=[2, 'a', 2] must be a list of integers"),
    ("dcdr", {"init": 3}, "option init=3 must be a string"),
    ("dcdr", {"residual_scale": "big"}, "option residual_scale='big' must be a finite number"),
    ("dcdr", {"vgg_feature_scale": True}, "option vgg_feature_scale=True must be a finite number or a string"),
    ("hdrunet", {"nf": True}, "method 'hdrunet': option nf=True must be an integer"),
    ("fhdr", {"checkpoint": 1.5}, "option checkpoint=1.5 must be true or false or a string"),
]


@pytest.mark.parametrize(("name", "options", "message"), BAD_OPTIONS, ids=[f"{n}-{o}" for n, o, _ in BAD_OPTIONS])
def test_method_options_take_their_defaults_type(name, options, message):
    with pytest.raises(HDRBenchError) as exc:
        create_method(name, **options)
    assert message in str(exc.value)


def test_method_options_of_the_right_kind_pass():
    assert create_method("dcdr", residual_scale=1, blocks=[1, 1, 1], vgg_feature_scale=0.5).options["nf"] == 64
    assert create_method("dcdr", vgg_feature_scale="auto").options["vgg_feature_scale"] == "auto"
    assert create_method("fhdr", checkpoint=True).options["checkpoint"] is True
    assert create_method("hdrtv", hg_nf=32).options["hg_nf"] == 32  # a None default takes anything


def test_dataset_camera_and_metric_options_are_checked(tmp_path):
    hdr_dir = tmp_path / "hdr"
    io.write_exr(hdr_dir / "x.exr", np.full((8, 8, 3), 0.5, np.float32))
    for options, message in [({"seed": "abc"}, "dataset 'hdr_folder': option seed='abc' must be an integer"),
                             ({"seed": -1}, "camera seed=-1 must be >= 0"),
                             ({"hdr_headroom": "abc"}, "option hdr_headroom='abc' must be a finite number or null"),
                             ({"hdr_headroom": 0}, "option hdr_headroom=0: must be a number >= 1"),
                             ({"jpeg_quality": "abc"}, "option jpeg_quality='abc' must be an integer or null"),
                             ({"clip_fraction": "5%"}, "option clip_fraction='5%' must be a finite number")]:
        with pytest.raises(HDRBenchError) as exc:
            create_dataset("hdr_folder", hdr_dir, **options)
        assert message in str(exc.value), options
    ok = create_dataset("hdr_folder", hdr_dir, seed=3, hdr_headroom=4, cache_dir=tmp_path / "c")
    assert ok.camera.seed == 3
    with pytest.raises(HDRBenchError, match=r"metric 'ssim': parameter mu='abc' must be a finite number"):
        create_metric("ssim", mu="abc")
    assert create_metric("ssim", mu=5).params["mu"] == 5


def test_negative_tile_overlap_is_refused_by_the_library():
    from hdrbench.inference import tiled_predict

    method = FakeMethod()
    with pytest.raises(HDRBenchError, match=r"overlap=-5 must be >= 0"):
        tiled_predict(method, method.build_network(), torch.rand(1, 3, 40, 40), tile=16, overlap=-5)


# -- the command line ------------------------------------------------------------------------------------------
@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    """An LDR image, a folder with one HDR image, and a bench.toml factory's folder."""
    ldr = io.write_ldr(tmp_path / "in.png", np.linspace(0, 1, 20 * 24 * 3, dtype=np.float32).reshape(20, 24, 3))
    hdr = io.write_exr(tmp_path / "hdr" / "x.exr", np.full((8, 8, 3), 0.5, np.float32))
    return {"ldr": ldr, "hdr_dir": hdr.parent, "hdr": hdr, "out": tmp_path / "out"}


TINY = ["--option", "nf=8", "--option", "blocks=[1,1,1]", "--option", "cond_nf=8", "--option", "cond_out=4",
        "--option", "sft_hidden=4", "--option", "tone_nf=8"]

BAD_COMMANDS = [
    (["predict", "--method", "dcdr", "--random-init", "--tile", "3", "{ldr}", "{out}/o.exr"], "'--tile'", ">= 64"),
    (["predict", "--method", "dcdr", "--random-init", "--tile", "-1", "{ldr}", "{out}/o.exr"], "'--tile'", "0"),
    (["predict", "--method", "dcdr", "--random-init", "--overlap", "-5", "{ldr}", "{out}/o.exr"], "'--overlap'",
     "x>=0"),
    (["predict", "--method", "dcdr", "--random-init", "--seed", "-1", "{ldr}", "{out}/o.exr"], "'--seed'", "0<="),
    (["predict", "--method", "dcdr", "--random-init", "--option", "nf=abc", "{ldr}", "{out}/o.exr"],
     "option nf='abc' must be an integer", ""),
    (["train", "--method", "fake-net", "--dataset", "fake-data", "--iterations", "0", "--out", "{out}"],
     "'--iterations'", "x>=1"),
    (["train", "--method", "fake-net", "--dataset", "fake-data", "--batch-size", "0", "--out", "{out}"],
     "'--batch-size'", "x>=1"),
    (["train", "--method", "fake-net", "--dataset", "fake-data", "--patch-size", "3", "--out", "{out}"],
     "'--patch-size'", "x>=8"),
    (["train", "--method", "fake-net", "--dataset", "fake-data", "--checkpoint-every", "0", "--out", "{out}"],
     "'--checkpoint-every'", "x>=1"),
    (["train", "--method", "fake-net", "--dataset", "fake-data", "--seed", "-3", "--out", "{out}"], "'--seed'", ""),
    (["train", "--method", "fake-staged", "--dataset", "fake-data", "--iterations", "1", "--out", "{out}"],
     "fewer than one per training stage", ""),
    (["data", "synth", "--hdr-dir", "{hdr_dir}", "--out", "{out}", "-o", "seed=abc"],
     "option seed='abc' must be an integer", ""),
    (["data", "synth", "--hdr-dir", "{hdr_dir}", "--out", "{out}", "-o", "ev=high"],
     "option ev='high' must be a finite number", ""),
    (["data", "info", "--dataset", "demo", "--check", "-2"], "'--check'", "x>=-1"),
    (["data", "testsets", "--out", "{out}", "--t-bright", "300"], "'--t-bright'", "0<=x<=254"),
    (["data", "testsets", "--out", "{out}", "--lambda", "1.5"], "'--lambda'", "0.0<=x<1.0"),
    (["data", "testsets", "--out", "{out}", "--lambda", "nan"], "'--lambda'", "not a finite number"),
    (["score", "--ppd", "0", "{hdr}", "{hdr}"], "'--ppd'", "x>0"),
    (["score", "--scale", "inf", "{hdr}", "{hdr}"], "'--scale'", "not a finite number"),
    (["score", "--white", "inf", "{hdr}", "{hdr}"], "'--white'", "finite number > 0"),
    (["score", "--white", "-1", "{hdr}", "{hdr}"], "'--white'", "finite number > 0"),
    (["score", "--param", "ssim.mu=abc", "{hdr}", "{hdr}"], "parameter mu='abc' must be a finite number", ""),
]


@pytest.mark.parametrize(("argv", "needle", "rule"), BAD_COMMANDS, ids=[" ".join(a[:2] + a[-3:-1]) for a, _, _ in
                                                                        BAD_COMMANDS])
def test_bad_numbers_on_the_command_line_are_one_line_errors(files, run_main, argv, needle, rule):
    start = time.perf_counter()
    code, out, err = run_main(*[a.format(**files) for a in argv])
    assert_one_line(code, err, needle, rule)
    assert time.perf_counter() - start < 60  # refused, not worked on (--tile 3 once ran for 648 s)
    assert not (files["out"] / "o.exr").exists()


def test_the_smallest_tile_and_zero_overlap_still_run(files, run_main):
    code, _, err = run_main("predict", "--method", "dcdr", "--random-init", *TINY, "--tile", "64", "--overlap", "0",
                            "--device", "cpu", files["ldr"], files["out"] / "o.exr")
    assert code == 0, err
    assert io.read_hdr(files["out"] / "o.exr").shape == (20, 24, 3)


def test_a_wrongly_typed_recipe_in_bench_toml_is_refused_before_work(tmp_path, run_main):
    path = tmp_path / "bench.toml"
    path.write_text(f'[benchmark]\nname = "t"\noutput = "{tmp_path / "out"}"\ndevice = "cpu"\n'
                    '[dataset]\nname = "fake-data"\n[train]\ntensorboard = false\n'
                    '[evaluate]\nprotocol = "ntire2021"\nmetrics = ["fake-mae"]\n'
                    '[[methods]]\nname = "fake-net"\ntrain = true\nrecipe = { lr = "fast" }\n')
    code, _, err = run_main("run", path)
    assert_one_line(code, err, str(path), "recipe lr='fast' must be a finite number")
    assert not (tmp_path / "out").exists()


def test_click_usage_errors_are_one_line(run_main):
    code, _, err = run_main("score", "--no-such-option")
    assert_one_line(code, err, "No such option '--no-such-option'", "(see 'hdrbench score --help')")
    code, _, err = run_main("data", "info")
    assert_one_line(code, err, "hdrbench data info:", "'--dataset'")
    code, _, err = run_main("train", "--method", "fake-net", "--recipes")  # click gives this one no context
    assert_one_line(code, err, "hdrbench train: Option '--recipes' requires an argument", "'hdrbench train --help'")
