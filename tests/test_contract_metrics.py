"""The metric contract, run over every registered metric (as pyiqa's ``tests/test_metric_general.py``):
one calling convention, one value per image, batch-independent, finite, and ordered by distortion in the
direction the metric declares (``lower_better``)."""

from __future__ import annotations

import pytest
import torch

from hdrbench.errors import HDRBenchError
from hdrbench.metrics import create_metric
from hdrbench.registry import METRICS


def _scene(n: int = 2, size: int = 64) -> torch.Tensor:
    """Smooth positive linear HDR ``(n, 3, size, size)`` with highlights up to ~8 (relative units)."""
    g = torch.Generator().manual_seed(0)
    coarse = torch.rand(n, 3, size // 8, size // 8, generator=g)
    smooth = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
    return 0.02 + smooth ** 3 * 8.0


def _distorted(gt: torch.Tensor, amount: float) -> torch.Tensor:
    """``gt`` with multiplicative noise of relative size ``amount`` (still positive)."""
    g = torch.Generator().manual_seed(1)
    return gt * torch.exp(amount * torch.randn(gt.shape, generator=g))


@pytest.mark.filterwarnings("error::hdrbench.errors.HDRBenchWarning")
@pytest.mark.parametrize("name", sorted(METRICS.entry_points()))  # declared by a distribution
def test_metric_contract(name):
    metric = create_metric(name)
    info = metric.describe()
    assert info["name"] == name and isinstance(info["lower_better"], bool) and info["domain"]
    assert isinstance(metric.label, str) and (metric.decimals is None or metric.decimals >= 0)
    gt = _scene()
    peak = metric.input_peak()
    if peak is not None:  # a metric declaring an input range gets data in it (else it warns: raw metric)
        gt = gt * (peak / float(gt.max()))
    mild, strong = _distorted(gt, 0.05), _distorted(gt, 0.4)
    s_mild, s_strong = metric(mild, gt), metric(strong, gt)
    assert s_mild.shape == (2,) and s_mild.dtype == torch.float64
    assert torch.isfinite(s_mild).all() and torch.isfinite(s_strong).all()
    better = (s_mild < s_strong) if metric.lower_better else (s_mild > s_strong)
    assert better.all(), (s_mild, s_strong)
    # each image's score does not depend on the others in the batch
    torch.testing.assert_close(metric(mild[1:], gt[1:]), s_mild[1:], rtol=1e-5, atol=1e-8)
    with pytest.raises(HDRBenchError, match="must both be"):
        metric(mild[:, :, :32], gt)
