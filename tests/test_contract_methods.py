"""The method contract, run over every registered method and over a throwaway plugin method that is added
only through an entry point (a temporary ``dist-info`` on ``sys.path``), as timm's ``tests/test_models.py``.

Each method is built with its ``tiny_options`` (same structure, small widths) except for the parameter
count, which uses the default configuration and is compared with the official figure the method class
declares (``official_params``, derived from the official code's layer shapes, not from our modules).
Method-specific checks stay in ``test_baselines_a.py``, ``test_baselines_b.py`` and ``test_dcdr_model.py``.
"""

from __future__ import annotations

import math
import sys
import textwrap

import numpy as np
import pytest
import torch

from hdrbench.checkpoint import load_weights, save_weights
from hdrbench.inference import tiled_predict
from hdrbench.method import Method, create_method
from hdrbench.registry import METHODS

PLUGIN = "contract-plugin"
PLUGIN_SRC = '''
    """A throwaway third-party method: two 3x3 convs around the input, L1 loss."""
    import torch
    from torch import nn

    from hdrbench.method import Method, Recipe


    class TinyPlugin(Method):
        citation = "A. Nonymous. A plugin. 2026"
        summary = "residual two-conv net (contract-test plugin)"
        recipe = Recipe(lr=1e-3, source="contract test")
        official_params = 3 * 16 * 9 + 16 + 16 * 3 * 9 + 3  # two 3x3 convs with bias
        receptive_margin = 4  # two 3x3 convs: radius 2
        clip_negative = True

        def build_network(self):
            return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 3, 3, padding=1))

        def forward(self, net, ldr):
            return ldr ** 2 + net(ldr)

        def build_loss(self):
            return lambda pred, hdr, ldr: (pred - hdr).abs().mean()
'''


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory):
    """A distribution that declares ``contract-plugin`` in the ``hdrbench.methods`` group and nothing else."""
    root = tmp_path_factory.mktemp("plugin")
    (root / "tp_contract.py").write_text(textwrap.dedent(PLUGIN_SRC))
    dist = root / "tp_contract-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tp-contract\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[hdrbench.methods]\n{PLUGIN} = tp_contract:TinyPlugin\n")
    return root


@pytest.fixture
def name(request, plugin_dir, monkeypatch) -> str:
    """The method under test; for the plugin, its distribution is put on ``sys.path`` and rediscovered."""
    if request.param == PLUGIN:
        monkeypatch.setattr(sys, "path", [str(plugin_dir), *sys.path])
        monkeypatch.setattr(METHODS, "_entry_points", None)
        monkeypatch.setattr(METHODS, "_items", dict(METHODS._items))
        assert PLUGIN in METHODS.names()  # found through its entry point alone
    return request.param


NAMES = [*sorted(METHODS.entry_points()), PLUGIN]  # declared components (not ad-hoc test registrations)
each_method = pytest.mark.parametrize("name", NAMES, indirect=True)


def _trainable(name: str) -> None:
    if not METHODS.get(name).trainable:
        pytest.skip(f"{name} has nothing to train (Method.trainable is false)")


def _tiny(name: str, seed: int = 0) -> tuple[Method, torch.nn.Module]:
    torch.manual_seed(seed)
    method = create_method(name, **METHODS.get(name).tiny_options)
    return method, method.build_network().eval()


def _toy_batch(size: int = 32, n: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Smooth linear HDR with highlights up to 1.6 and its γ=2 8-bit LDR (display-referred [0, 1])."""
    g = torch.Generator().manual_seed(1)
    coarse = torch.rand(n, 3, size // 8, size // 8, generator=g)
    hdr = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False) * 1.6
    ldr = torch.round(hdr.clamp(0, 1).sqrt() * 255) / 255
    return ldr, hdr


@each_method
def test_declares_its_contract(name):
    cls = METHODS.get(name)
    method = create_method(name)
    assert cls.name == name and method.citation and method.summary
    stages = method.stages()
    assert stages and all(s.recipe.source for s in stages)
    assert method.pad_multiple >= 1 and method.receptive_margin % method.pad_multiple == 0


@each_method
def test_parameter_count_matches_official(name):
    official = METHODS.get(name).official_params
    if official is None:
        pytest.skip(f"{name} declares no official parameter count (its own tests check it)")
    method = create_method(name)
    assert method.parameter_count() == official
    assert method.describe()["params"] == official


@each_method
def test_predict_any_size_keeps_size_finite_and_non_negative(name):
    method, net = _tiny(name)
    ldr = torch.rand(1, 3, 37, 53, generator=torch.Generator().manual_seed(1))
    out = method.predict(net, ldr)
    assert out.shape == ldr.shape and out.dtype == torch.float32
    assert torch.isfinite(out).all() and (out >= 0).all()


@each_method
def test_loss_decreases_over_40_steps(name):
    """Every stage's loss falls on a fixed batch, the last stage's (the prediction's) by over 20%;
    ``training_loss`` is called as the trainer calls it. (40 steps: with PyTorch's default initialisation the
    8-wide DCDR variants start slowly on this toy batch; at their real widths they learn faster, see
    ``dcdr/README.md``.)"""
    _trainable(name)
    method, net = _tiny(name)
    net.train()
    loss_fn = method.build_loss()
    ldr, hdr = _toy_batch()
    stages = method.stages()
    for stage in stages:
        opt = torch.optim.Adam(stage.parameters(net), lr=5e-4)
        losses = []
        for _ in range(40):
            value, logs = method.training_loss(net, loss_fn, ldr, hdr, stage)
            opt.zero_grad()
            value.backward()
            opt.step()
            losses.append(float(value.detach()))
            assert math.isfinite(losses[-1]) and "loss" in logs
        drop = 0.8 if stage is stages[-1] else 1.0
        assert np.mean(losses[-3:]) < drop * losses[0], (stage.name, losses)


@each_method
def test_state_dict_round_trip(name, tmp_path):
    _trainable(name)
    method, net = _tiny(name, seed=1)
    _, other = _tiny(name, seed=2)
    ldr = torch.rand(1, 3, 40, 48, generator=torch.Generator().manual_seed(3))
    path = save_weights(net, tmp_path / "w.safetensors", method=name, options=method.options)
    assert not torch.equal(method.predict(other, ldr), method.predict(net, ldr))
    assert load_weights(other, path, method=name)["method"] == name
    assert torch.equal(method.predict(other, ldr), method.predict(net, ldr))


@each_method
def test_fixed_seed_is_deterministic(name):
    _trainable(name)
    ldr = torch.rand(1, 3, 40, 48, generator=torch.Generator().manual_seed(3))
    method, a = _tiny(name, seed=7)
    _, b = _tiny(name, seed=7)
    _, c = _tiny(name, seed=8)
    ya = method.predict(a, ldr)
    assert torch.equal(ya, method.predict(b, ldr)) and torch.equal(ya, method.predict(a, ldr))
    assert not torch.equal(ya, method.predict(c, ldr))


@each_method
def test_tiling_within_receptive_margin_equals_whole_image(name):
    """Tiles with ``receptive_margin`` of context reproduce the whole-image output (local methods)."""
    method, net = _tiny(name)
    if method.global_context:
        pytest.skip(f"{name} conditions on whole-image statistics; tiling approximates it")
    m = method.pad_multiple
    tile = max(m, 32 // m * m)
    ldr = torch.rand(1, 3, tile, tile + 2 * method.receptive_margin + 2 * tile,
                     generator=torch.Generator().manual_seed(4))
    whole = method.predict(net, ldr)
    tiled = tiled_predict(method, net, ldr, tile=tile)
    assert float((tiled - whole).abs().max()) <= 1e-4 * max(1.0, float(whole.abs().max()))
