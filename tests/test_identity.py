"""The ``identity`` reference row: hand-computed values, the datasets' declared cameras, no training, evaluation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_train_fakes import FakeDataset

from hdrbench.config import parse_config
from hdrbench.datasets.base import create_dataset
from hdrbench.errors import HDRBenchError
from hdrbench.evaluate import ResultStore, evaluate
from hdrbench.method import create_method
from hdrbench.train import TrainJob, train


def _predict(method, ldr: torch.Tensor) -> torch.Tensor:
    return method.predict(method.build_network(), ldr)


def test_hand_computed_gamma_and_scale():
    m = create_method("identity", gamma=2.2, scale=1 / 64)
    ldr = torch.tensor([0.0, 0.5, 1.0, 0.25]).reshape(1, 1, 2, 2).expand(1, 3, 2, 2)
    out = _predict(m, ldr)
    want = torch.tensor([0.0, 0.5**2.2 / 64, 1 / 64, 0.25**2.2 / 64]).reshape(1, 1, 2, 2).expand(1, 3, 2, 2)
    assert out.dtype == torch.float32 and out.shape == ldr.shape
    torch.testing.assert_close(out, want, rtol=1e-6, atol=0)
    assert m.parameter_count() == 0 and not m.trainable


def test_defaults_without_a_declared_camera_are_gamma_2_2_at_scale_1():
    m = create_method("identity")
    m.bind_dataset(FakeDataset(None))  # declares nothing
    out = _predict(m, torch.full((1, 3, 4, 4), 0.5))
    assert float(out[0, 0, 0, 0]) == pytest.approx(0.5**2.2, rel=1e-6)


def test_demo_dataset_declares_its_camera_and_identity_uses_it():
    demo = create_dataset("demo")
    cam = demo.ldr_camera()
    assert (cam.response.kind, cam.response.gamma, cam.saturation) == ("gamma", 2.2, 1 / 64)
    m = create_method("identity")
    m.bind_dataset(demo)
    assert float(_predict(m, torch.full((1, 3, 4, 4), 0.5))[0, 0, 0, 0]) == pytest.approx(0.5**2.2 / 64, rel=1e-6)
    m = create_method("identity", scale=2.0)  # an explicit option wins over the declaration
    m.bind_dataset(demo)
    assert float(_predict(m, torch.full((1, 3, 4, 4), 0.5))[0, 0, 0, 0]) == pytest.approx(0.5**2.2 * 2, rel=1e-6)


def test_srgb_camera_of_a_synthesized_dataset_is_inverted_exactly():
    ds = create_dataset("hdr_folder", "/nonexistent", response="srgb", hdr_headroom=16.0)
    m = create_method("identity")
    m.bind_dataset(ds)
    out = float(_predict(m, torch.full((1, 3, 2, 2), 0.5))[0, 0, 0, 0])
    assert out == pytest.approx(((0.5 + 0.055) / 1.055) ** 2.4 / 16, rel=1e-6)  # IEC 61966-2-1 by hand


def test_declared_demo_camera_matches_the_demo_data():
    """Independent of the declaration: on a real demo test view, the unclipped LDR pixels linearised by identity
    must equal the stored 16-bit ground truth to within the two quantisations (8-bit LDR, 16-bit HDR)."""
    demo = create_dataset("demo")
    pair = demo.pairs("test")[0]
    ldr, hdr = demo.load_pair(pair)
    m = create_method("identity")
    m.bind_dataset(demo)
    pred = _predict(m, torch.from_numpy(ldr).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
    ok = (ldr > 0.1) & (ldr < 0.98)
    v = ldr[ok].astype(np.float64)
    bound = 2.2 * (v + 0.5 / 255) ** 1.2 / 64 * (0.5 / 255) + 0.5 / 65535  # slope × half an 8-bit step + 16-bit
    err = np.abs(pred[ok] - hdr[ok])
    assert ok.sum() > 10_000 and np.all(err <= bound * 1.001 + 1e-8), float((err / bound).max())
    assert np.median(err / hdr[ok]) < 0.01


def test_training_is_skipped_and_nothing_is_written(tmp_path):
    job = TrainJob(create_method("identity"), FakeDataset(None), tmp_path / "run", tensorboard=False, progress=False)
    result = train(job)
    assert result.untrainable and result.skipped and result.steps == 0
    assert not (tmp_path / "run").exists()
    with pytest.raises(HDRBenchError, match="nothing to train"):
        create_method("identity").build_loss()
    with pytest.raises(HDRBenchError, match="scale=-1"):
        create_method("identity", scale=-1)


def test_evaluated_without_weights_and_scored_like_numpy(tmp_path):
    """``train = true`` in bench.toml, no weights file: evaluation builds it; the fake set's LDR is
    ``clip(hdr, 0, 1) ** (1 / 2.2)``, so identity predicts ``clip(hdr, 0, 1)`` and MAE = mean(max(hdr - 1, 0))."""
    cfg = parse_config({"benchmark": {"name": "t", "output": str(tmp_path / "out"), "device": "cpu"},
                        "dataset": {"name": "fake-data"}, "methods": [{"name": "identity", "train": True}],
                        "evaluate": {"metrics": ["fake-mae"], "protocol": "ntire2021"}}, tmp_path / "b.toml")
    evaluate(cfg, progress=False)
    with ResultStore(cfg.runs.results) as s:
        df, methods = s.scores(), s.methods()
    ds = FakeDataset(None)
    assert len(df) == 6
    for _, r in df.iterrows():
        _, hdr = ds.load_pair(next(p for p in ds.pairs(r.test_set) if p.id == r.image))
        assert r.value == pytest.approx(np.maximum(hdr - 1, 0).mean(), rel=1e-4, abs=1e-6)
    assert df.checkpoint.iloc[0].startswith("untrained:") and int(methods.params.iloc[0]) == 0


@pytest.mark.parametrize("name", ["bench.toml", "bench-gpu.toml"])
def test_identity_row_heads_every_table_of_the_shipped_benchmarks(name):
    from pathlib import Path

    from hdrbench.config import load_config
    from hdrbench.registry import METHODS

    cfg = load_config(Path(__file__).parents[1] / name)
    assert cfg.methods[0].name == "identity"
    assert all(t.methods[0] == "identity" for t in cfg.tables)
    if name == "bench-gpu.toml":  # every registered method, one equal budget
        builtin = {n for n, cls in METHODS.items() if cls.__module__.split(".")[0] in ("dcdr", "baselines")}
        assert {m.name for m in cfg.methods} == builtin and len(builtin) == 20
        assert all(not m.recipe for m in cfg.methods) and cfg.train.precision == "fp32"
