"""Tiled inference (hdrbench.inference.tiled_predict) against whole-image inference, the reference."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import hdrbench
from hdrbench.inference import tiled_predict
from hdrbench.method import Method

#: DCDR-UNet with its full depth (blocks, scales: the receptive field) but narrow layers, so tests are fast.
#: The Kaiming-normal init gives O(1) outputs, on which seams (or their absence) show at the tolerances below.
SMALL_DCDR = {"nf": 4, "cond_nf": 4, "cond_out": 4, "sft_hidden": 2, "tone_nf": 4, "init": "kaiming_normal",
              "tone_init": "kaiming"}



def _dcdr(seed: int = 0, offset_std: float = 0.1):
    """A randomly initialised narrow DCDR-UNet whose offset convs give non-zero, off-grid offsets."""
    torch.manual_seed(seed)
    method = hdrbench.create_method("dcdr", **SMALL_DCDR)
    net = method.build_network().eval()
    for name, module in net.named_modules():
        if name.endswith(".offset") and isinstance(module, nn.Conv2d):
            nn.init.normal_(module.weight, std=offset_std)
            nn.init.normal_(module.bias, std=0.5)
    return method, net


def _offset_magnitudes(method: Method, net: nn.Module, ldr: torch.Tensor) -> list[float]:
    found: list[float] = []
    hooks = [m.register_forward_hook(lambda _m, _i, o: found.append(float(o.abs().max())))
             for name, m in net.named_modules() if name.endswith(".offset")]
    method.predict(net, ldr)
    for h in hooks:
        h.remove()
    return found


def test_dcdr_tiled_equals_whole_image():
    method, net = _dcdr()
    ldr = torch.rand(1, 3, 72, 400, generator=torch.Generator().manual_seed(1))
    offsets = _offset_magnitudes(method, net, ldr)
    assert len(offsets) == 8 and min(offsets) > 0.5  # the deformable convs really sample off-grid
    tile = 64
    assert ldr.shape[-1] > tile + 2 * method.receptive_margin  # inner tiles do not see the whole width
    whole = method.predict(net, ldr)
    tiled = tiled_predict(method, net, ldr, tile=tile)
    assert tiled.shape == whole.shape
    assert float((tiled - whole).abs().max()) <= 1e-4


def test_too_small_overlap_shows_seams():
    """The comparison above can fail: with 8 px of context the tile borders change the output."""
    method, net = _dcdr()
    ldr = torch.rand(1, 3, 64, 192, generator=torch.Generator().manual_seed(1))
    whole = method.predict(net, ldr)
    tiled = tiled_predict(method, net, ldr, tile=64, overlap=8)
    assert float((tiled - whole).abs().max()) > 1e-3


def _receptive_radius(method: Method, net: nn.Module, size: int = 288) -> int:
    """Largest distance at which an impulse in the image centre changes the output."""
    ldr = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(2))
    poked = ldr.clone()
    poked[..., size // 2, size // 2] += 0.5
    changed = (method.predict(net, ldr) - method.predict(net, poked)).abs().amax(1)[0] > 0
    ys, xs = torch.nonzero(changed, as_tuple=True)
    return int(max((ys - size // 2).abs().max(), (xs - size // 2).abs().max()))


def test_dcdr_receptive_margin_covers_the_measured_receptive_field():
    """Zero offsets: the architecture's reach (83 px at nf=16); offsets of ~1 px add to it (up to 48 px per pixel of
    offset: 4 deformable convs at x0.5 and 8 at x0.25 in the encoder/middle, 4 at x0.5 in the decoder);
    the declared margin covers both."""
    method, net = _dcdr(offset_std=0.0)
    for module in net.modules():
        if isinstance(module, nn.Conv2d) and module.out_channels == 18:
            nn.init.zeros_(module.bias)
    plain = _receptive_radius(method, net)
    method, net = _dcdr()
    deformed = _receptive_radius(method, net)
    assert 40 < plain < deformed <= method.receptive_margin


class _BlockMean(Method):
    """A network that is exact under tiling only when tiles start on its 4-pixel grid."""

    name = "block-mean-test"
    pad_multiple = 4
    receptive_margin = 0

    def build_network(self) -> nn.Module:
        class Net(nn.Module):
            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return F.interpolate(F.avg_pool2d(x, 4), scale_factor=4, mode="nearest")

        return Net()


@pytest.mark.parametrize("tile", [30, 32, 45])
def test_tile_origins_follow_the_pad_multiple(tile):
    method = _BlockMean()
    net = method.build_network()
    ldr = torch.rand(1, 3, 70, 101, generator=torch.Generator().manual_seed(3))
    whole = method.predict(net, ldr)
    assert torch.equal(tiled_predict(method, net, ldr, tile=tile), whole)


def test_tile_zero_runs_whole_image():
    method = _BlockMean()
    net = method.build_network()
    ldr = torch.rand(1, 3, 20, 24)
    assert torch.equal(tiled_predict(method, net, ldr, tile=0), method.predict(net, ldr))
