"""The Python API agrees with the CLI: ``hdrbench.score`` returns what ``hdrbench score --json`` prints;
``create_metric`` is the raw metric and says so when fed values outside its declared range."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio

import hdrbench
from hdrbench import io
from hdrbench.errors import HDRBenchWarning


@pytest.fixture
def pair(tmp_path, rng):
    gt = (rng.random((40, 56, 3)) * 3.0).astype(np.float32)  # brighter than [0, 1]: dcdr scales by the max
    pred = np.clip(gt + rng.normal(0, 0.05, gt.shape), 0, None).astype(np.float32)
    io.write_exr(tmp_path / "gt.exr", gt)
    io.write_exr(tmp_path / "pred.exr", pred)
    return tmp_path / "pred.exr", tmp_path / "gt.exr"


def test_api_and_cli_agree_on_the_same_files(pair, cli):
    pred, gt = pair
    metrics = ["psnr-l", "psnr-mu", "ssim"]
    proc = cli("score", pred, gt, "--json", *[a for m in metrics for a in ("--metric", m)], "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    cli_record = json.loads(proc.stdout)
    api_record = hdrbench.score(str(pred), str(gt), protocol="dcdr", metrics=metrics)
    assert api_record == cli_record
    # arrays and tensors give the same numbers as paths
    p, g = io.read_hdr(pred), io.read_hdr(gt)
    assert hdrbench.score(p, g, metrics=metrics)["metrics"] == cli_record["metrics"]
    assert hdrbench.score(torch.from_numpy(p), torch.from_numpy(g), metrics=metrics)["metrics"] == cli_record["metrics"]
    # and they are the protocol's numbers (dcdr: ÷ max(1, max gt), prediction clipped to [0, 1]), by scikit-image
    f = g.max()
    expected = peak_signal_noise_ratio(g / f, np.clip(p / f, 0, 1), data_range=1.0)
    assert cli_record["metrics"]["psnr-l"] == pytest.approx(expected, abs=1e-3)


def test_create_metric_is_the_raw_metric_and_warns_outside_its_domain(pair):
    pred, gt = (torch.from_numpy(io.read_hdr(p)).permute(2, 0, 1)[None] for p in pair)
    m = hdrbench.create_metric("psnr-l")
    with pytest.warns(HDRBenchWarning, match=r"raw metric.*\[0, 1\].*hdrbench.score"):
        raw = float(m(pred, gt)[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", HDRBenchWarning)
        m(pred, gt)  # once per metric instance
        hdrbench.create_metric("psnr-l", norm="gt-max")(pred, gt)  # normalising parameters: in its domain
        hdrbench.create_metric("pu21-psnr")(pred, gt)  # anchors itself: any scale
    protocol = hdrbench.score(pair[0], pair[1], metrics=["psnr-l"])["metrics"]["psnr-l"]
    assert abs(raw - protocol) > 3  # the two differ, which is why the raw one warns
    assert "raw" in hdrbench.create_metric.__doc__ and "score" in hdrbench.create_metric.__doc__
