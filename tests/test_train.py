"""Training: exact resume after a crash, stage handling, schedules, NaN guard, skip when done."""

from __future__ import annotations

import csv

import pytest
import torch
from test_train_fakes import FakeDataset, FakeMethod, FakeStagedMethod
from torch import nn

from hdrbench.checkpoint import read_weights
from hdrbench.errors import HDRBenchError
from hdrbench.method import Recipe
from hdrbench.train import TrainJob, stage_plan, train
from hdrbench.train.optim import build_optimizer, build_scheduler, scale_schedule


def _job(run_dir, method=None, **kw) -> TrainJob:
    return TrainJob(method=method or FakeMethod(), dataset=FakeDataset(None), run_dir=run_dir, checkpoint_every=4,
                    log_every=1, tensorboard=False, progress=False, seed=3, **kw)


def _losses(run_dir) -> list[tuple[int, str]]:
    with open(run_dir / "train_log.csv", newline="") as f:
        return [(int(r["step"]), r["loss"]) for r in csv.DictReader(f)]


class Crash(RuntimeError):
    pass


def _crash_at(n: int):
    def hook(step: int) -> None:
        if step == n:
            raise Crash(step)
    return hook


def test_resume_after_crash_equals_uninterrupted_run(tmp_path):
    full = train(_job(tmp_path / "full"))
    assert full.steps == 12 and full.resumed_from == 0
    with pytest.raises(Crash):
        train(_job(tmp_path / "crashed"), on_step=_crash_at(10))  # last checkpoint: step 8
    assert len(_losses(tmp_path / "crashed")) == 10
    resumed = train(_job(tmp_path / "crashed"))
    assert resumed.resumed_from == 8
    assert _losses(tmp_path / "crashed") == _losses(tmp_path / "full")  # exact strings, steps 1..12
    assert len(_losses(tmp_path / "full")) == 12
    a, _ = read_weights(tmp_path / "full" / "final.safetensors")
    b, _ = read_weights(tmp_path / "crashed" / "final.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    # Without restoring the RNG (dropout) and data position the curve would differ: a different seed does.
    other = train(TrainJob(method=FakeMethod(), dataset=FakeDataset(None), run_dir=tmp_path / "other", seed=4,
                           log_every=1, tensorboard=False, progress=False))
    assert other.steps == 12 and _losses(tmp_path / "other") != _losses(tmp_path / "full")


def test_finished_run_is_skipped_and_changed_recipe_refused(tmp_path):
    train(_job(tmp_path / "r"))
    again = train(_job(tmp_path / "r"))
    assert again.skipped and again.net is None
    with pytest.raises(Crash):
        train(_job(tmp_path / "s"), on_step=_crash_at(5))
    with pytest.raises(HDRBenchError, match=r"other settings \(plan\[0\]\.iterations: 12 -> 20"):
        train(_job(tmp_path / "s", overrides={"iterations": 20}))
    fresh = train(_job(tmp_path / "s", overrides={"iterations": 20}), fresh=True)
    assert fresh.steps == 20 and fresh.resumed_from == 0


def test_tensorboard_and_checkpoint_files(tmp_path):
    job = _job(tmp_path / "tb")
    job.tensorboard = True
    train(job)
    names = {p.name for p in (tmp_path / "tb").iterdir()}
    assert {"final.safetensors", "latest.json", "train_log.csv", "tb"} <= names
    assert sorted(n for n in names if n.endswith(".state.pt")) == ["step_00000008.state.pt", "step_00000012.state.pt"]
    assert any((tmp_path / "tb" / "tb").glob("events.out.tfevents.*"))


def test_stages_run_in_order_with_their_parameters(tmp_path):
    FakeStagedMethod.seen.clear()
    method = FakeStagedMethod()
    plan = stage_plan(method, None, {"iterations": 6, "batch_size": 1})
    assert [(s.name, s.recipe.iterations, s.recipe.lr, s.recipe.batch_size) for s in plan] == [
        ("first", 2, 1e-3, 1), ("all", 4, 1e-4, 1)]
    result = train(_job(tmp_path / "st", method=method, overrides={"iterations": 6}))
    n_all = len(list(method.build_network().parameters()))
    assert FakeStagedMethod.seen == [("first", 2)] * 2 + [("all", n_all)] * 4  # first: body.0's weight and bias
    rows = list(csv.DictReader(open(tmp_path / "st" / "train_log.csv")))
    assert [r["stage"] for r in rows] == ["first"] * 2 + ["all"] * 4
    assert float(rows[-1]["lr"]) == pytest.approx(1e-4)
    assert result.steps == 6


def _lr_trace(recipe: Recipe, steps: int) -> list[float]:
    """Learning rate seen by each of ``steps`` optimizer steps under ``recipe``'s scheduler."""
    opt = build_optimizer(torch.nn.Linear(1, 1).parameters(), recipe)
    sched = build_scheduler(opt, recipe)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


def test_schedules_match_hand_derived_learning_rates():
    r = Recipe(lr=1.0, scheduler="multistep", milestones=(100, 150), gamma=0.5, iterations=200)
    r = scale_schedule(r, 20)  # milestones scale to 10 and 15
    assert r.milestones == (10, 15)
    assert _lr_trace(r, 20) == [1.0] * 10 + [0.5] * 5 + [0.25] * 5
    cos = Recipe(lr=2.0, scheduler="cosine", iterations=4, eta_min=0.0)
    seen = _lr_trace(cos, 5)[1:]  # after each of 4 steps
    assert seen == pytest.approx([1 + 1 / 2**0.5, 1.0, 1 - 1 / 2**0.5, 0.0])  # (1+cos(pi k/4)) * 2 / 2
    lin = Recipe(lr=1.0, scheduler="linear_decay", decay_start=2, iterations=6)
    assert _lr_trace(lin, 6) == pytest.approx([1, 1, 1, 0.75, 0.5, 0.25])
    with pytest.raises(HDRBenchError, match="recipe optimizer='adamax' must be one of adam"):
        Recipe(optimizer="adamax")  # refused when the recipe is made, before any training


def test_nan_loss_is_a_one_line_error_and_keeps_checkpoints(tmp_path):
    with pytest.raises(HDRBenchError, match="became nan at step 1"):
        train(_job(tmp_path / "nan", method=FakeMethod(options={"nan": True})))


def test_patch_larger_than_image_is_an_error(tmp_path):
    with pytest.raises(HDRBenchError, match="smaller than the 64x64 training patch"):
        train(_job(tmp_path / "big", overrides={"patch_size": 64}))


class _PooledBatchNormNet(nn.Module):
    """x + BatchNorm(global average of x): BatchNorm sees one value per channel when the batch is 1."""

    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm2d(3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bn(x.mean(dim=(2, 3), keepdim=True))


class _BatchNormMethod(FakeMethod):
    recipe = Recipe(lr=1e-3, batch_size=1, patch_size=16, iterations=2)

    def build_network(self) -> nn.Module:
        return _PooledBatchNormNet()


def test_batchnorm_on_a_single_value_is_a_one_line_error(tmp_path):
    """torch's raw ValueError (HDRCNN's BatchNorm at batch 1, tiny patches) becomes the one error type."""
    with pytest.raises(ValueError, match="more than 1 value per channel"):  # what torch itself raises
        _PooledBatchNormNet().train()(torch.rand(1, 3, 4, 4))
    with pytest.raises(HDRBenchError, match="raise recipe.batch_size") as err:
        train(_job(tmp_path / "bn", method=_BatchNormMethod()))
    assert "\n" not in str(err.value)
