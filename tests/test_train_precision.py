"""Training precision: fp32 by default (no autocast anywhere), bf16/fp16 autocast only when asked, fp16 with a
gradient scaler whose state is checkpointed; the config key and its errors."""

from __future__ import annotations

import pytest
import torch
from test_train_fakes import FakeDataset, FakeMethod

from hdrbench.config import TrainSettings, parse_config
from hdrbench.errors import HDRBenchError
from hdrbench.train import TrainJob, job_for, train


class RecordingMethod(FakeMethod):
    """Records the autocast state and the dtype of a conv output at every training step."""

    seen: list[tuple[bool, torch.dtype]] = []

    def training_loss(self, net, loss, ldr, hdr, stage):
        value, logs = super().training_loss(net, loss, ldr, hdr, stage)
        RecordingMethod.seen.append((torch.is_autocast_enabled(ldr.device.type), net.body[0](ldr).dtype))
        return value, logs


def _train(tmp_path, **kw):
    RecordingMethod.seen = []
    job = TrainJob(RecordingMethod(), FakeDataset(None), tmp_path / "run", tensorboard=False, progress=False,
                   checkpoint_every=4, overrides={"iterations": 4}, **kw)
    train(job)
    return RecordingMethod.seen


def test_fp32_is_the_default_everywhere(tmp_path):
    assert TrainJob(FakeMethod(), FakeDataset(None), tmp_path).precision == "fp32"
    assert TrainSettings().precision == "fp32"
    cfg = parse_config({"dataset": {"name": "fake-data"}, "methods": [{"name": "fake-net", "train": True}]},
                       tmp_path / "b.toml")
    assert job_for(cfg, cfg.methods[0]).precision == "fp32"
    seen = _train(tmp_path)
    assert len(seen) == 4 and all(not on and dtype == torch.float32 for on, dtype in seen)


def test_bf16_autocast_only_when_asked(tmp_path):
    seen = _train(tmp_path, precision="bf16")
    assert len(seen) == 4 and all(on and dtype == torch.bfloat16 for on, dtype in seen)


def test_fp16_uses_a_grad_scaler_whose_state_is_checkpointed(tmp_path):
    seen = _train(tmp_path, precision="fp16")
    assert all(on and dtype == torch.float16 for on, dtype in seen)
    state = torch.load(tmp_path / "run" / "step_00000004.state.pt", weights_only=False)
    assert state["scaler"] is not None and state["scaler"]["scale"] > 0


def test_precision_config_errors(tmp_path):
    base = {"dataset": {"name": "fake-data"}, "methods": [{"name": "fake-net", "train": True}]}
    with pytest.raises(HDRBenchError, match="'train.precision' must be one of fp32, bf16, fp16"):
        parse_config({**base, "train": {"precision": "fp8"}}, tmp_path / "b.toml")
    with pytest.raises(HDRBenchError, match="'train.amp' was replaced by 'train.precision'"):
        parse_config({**base, "train": {"amp": True}}, tmp_path / "b.toml")
    with pytest.raises(HDRBenchError, match="unknown training precision 'half'"):
        train(TrainJob(FakeMethod(), FakeDataset(None), tmp_path / "r", precision="half", progress=False))
