"""Protocols (parameters recorded as JSON), pair validation, and the cvvdp wrapper."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hdrbench.errors import HDRBenchError
from hdrbench.metrics import create_metric
from hdrbench.metrics.protocols import PROTOCOLS, get_protocol
from hdrbench.metrics.scoring import Scorer
from hdrbench.metrics.validate import check_pair
from hdrbench.registry import METRICS


def test_protocols_describe_as_json_and_build_their_metrics():
    for name, proto in PROTOCOLS.items():
        d = json.loads(json.dumps(proto.describe()))
        assert d["name"] == name and d["metrics"]
        for metric in proto.metrics:
            if metric in METRICS:  # hdrvdp2 is registered by its own package
                m = proto.create(metric)
                for k, v in proto.params.get(metric, {}).items():
                    assert k not in m.default_params or m.params[k] == v
    dcdr = get_protocol("dcdr")
    assert dcdr.metrics == ("psnr-l", "psnr-mu", "ssim", "lpips", "hdrvdp2")
    assert dcdr.params["psnr-mu"]["mu"] == 10.0 and dcdr.params["hdrvdp2"]["ppd"] == 24.0
    assert get_protocol("ntire2021").params["psnr-mu"] == {"mu": 5000.0, "norm": "gt-p99", "tanh": True}
    with pytest.raises(HDRBenchError, match="unknown protocol"):
        get_protocol("ntire2022")


def test_dcdr_hdrvdp2_parameters_reach_the_metric():
    if "hdrvdp2" not in METRICS:
        pytest.skip("hdrvdp2 not registered")
    p = get_protocol("dcdr").create("hdrvdp2").params
    assert (p["pixels_per_degree"], p["input_scale"], p["color_encoding"]) == (24.0, 1.0, "rgb-native")
    assert get_protocol("dcdr").create("hdrvdp2", ppd=60).params["pixels_per_degree"] == 60


def test_scorer_records_protocol_and_params():
    s = Scorer("ntire2021", ["psnr-mu", "ssim"])
    d = json.loads(json.dumps(s.describe()))
    assert d["protocol"]["name"] == "ntire2021"
    assert d["metrics"]["psnr-mu"]["params"] == {"mu": 5000.0, "norm": "gt-p99", "tanh": True}
    assert d["metrics"]["ssim"]["params"]["norm"] == "gt-max"
    s2 = Scorer("dcdr", ["ssim"], overrides={"ssim": {"domain": "mu-law"}})
    assert s2.metrics["ssim"].params["domain"] == "mu-law" and s2.metrics["ssim"].domain == "mu-law"


def test_check_pair_errors_name_the_file():
    gt = np.full((8, 8, 3), 0.5, np.float32)
    with pytest.raises(HDRBenchError, match=r"^p\.exr: .*shape"):
        check_pair(np.zeros((8, 9, 3)), gt, "p.exr", "g.exr")
    bad = gt.copy()
    bad[0, 0, 0] = np.nan
    bad[1, 1, 1] = -2
    with pytest.raises(HDRBenchError, match=r"^p\.exr: prediction has 1 NaN/inf and 1 negative .*--clamp"):
        check_pair(bad, gt, "p.exr", "g.exr")
    with pytest.raises(HDRBenchError, match=r"^g\.exr: ground truth is all zeros"):
        check_pair(gt, np.zeros_like(gt), "p.exr", "g.exr")
    with pytest.raises(HDRBenchError, match=r"^g\.exr: ground truth has 1 NaN"):
        check_pair(gt, bad.clip(0, None), "p.exr", "g.exr")
    with pytest.raises(HDRBenchError, match=r"^g\.exr: ground truth has 1 negative"):
        check_pair(gt, np.where(np.isnan(bad), 0.5, bad), "p.exr", "g.exr")


def test_check_pair_clamp_policy():
    gt = np.full((4, 4, 3), 0.5, np.float32)
    gt[0, 0] = 2.0
    pred = gt.copy()
    pred[1, 1] = [np.nan, np.inf, -np.inf]
    pred[2, 2, 0] = -0.3
    p, g = check_pair(pred, gt, clamp=True)
    assert p[1, 1].tolist() == [0.0, 2.0, 0.0] and float(p[2, 2, 0]) == 0.0
    assert torch.equal(g, torch.from_numpy(gt))


def test_metric_rejects_shape_mismatch_and_bad_choices():
    with pytest.raises(HDRBenchError, match=r"\(N, 3, H, W\)"):
        create_metric("psnr-l")(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 9))
    with pytest.raises(HDRBenchError, match="norm='p50'"):
        create_metric("psnr-mu", norm="p50")
    with pytest.raises(HDRBenchError, match="all-black"):
        create_metric("psnr-l", norm="gt-max")(torch.rand(1, 3, 4, 4), torch.zeros(1, 3, 4, 4))


def test_cvvdp_jod():
    pytest.importorskip("pycvvdp")
    g = torch.Generator().manual_seed(0)
    gt = torch.rand(1, 3, 64, 80, generator=g) * 0.9 + 0.05
    noisy = (gt + 0.05 * torch.randn(gt.shape, generator=g)).clamp_min(0)
    m = create_metric("cvvdp")
    same, worse = float(m(gt, gt)[0]), float(m(noisy, gt)[0])
    assert same == pytest.approx(10.0, abs=1e-3)  # JOD 10 = identical
    assert worse < same - 0.05
    with pytest.raises(HDRBenchError, match="display"):
        create_metric("cvvdp", display="no_such_display")(gt, gt)
