"""``hdrbench explain``: effective receptive fields against their theory, DCDR-UNet's deformable sampling locations
against the regular grid built by hand, the default pixel, and the command on a tiny benchmark."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from hdrbench import io
from hdrbench.checkpoint import save_weights
from hdrbench.method import create_method
from hdrbench.report.receptive import probe, probe_method, reach, region_centre

TINY = {"nf": 8, "blocks": [1, 1, 1], "cond_nf": 8, "cond_out": 4, "sft_hidden": 4, "tone_nf": 8}


def conv_stack(k: int, channels: int = 3) -> nn.Sequential:
    """``k`` 3×3 convolutions (zero padding), positive weights: no cancellation inside the receptive field."""
    torch.manual_seed(0)
    layers = [nn.Conv2d(3 if i == 0 else channels, channels, 3, padding=1) for i in range(k)]
    for conv in layers:
        nn.init.uniform_(conv.weight, 0.1, 1.0)
    return nn.Sequential(*layers)


@pytest.mark.parametrize("k", [1, 2, 4])
def test_erf_of_k_convs_is_the_2k_plus_1_square(k):
    ldr = np.random.default_rng(0).random((32, 40, 3), dtype=np.float32)
    y, x = 15, 21
    erf = probe(conv_stack(k), ldr, (y, x)).erf
    expected = np.zeros((32, 40), bool)
    expected[y - k:y + k + 1, x - k:x + k + 1] = True  # (2k+1)×(2k+1) centred on the pixel
    assert erf.shape == (32, 40)
    np.testing.assert_array_equal(erf != 0, expected)


def test_erf_values_are_the_trinomial_coefficients():
    """1 channel, all-ones 3×3 kernels: ∂out/∂in is the k-fold box convolution, the coefficients of
    (1 + z + z²)^k in each direction: k = 3 gives 1 3 6 7 6 3 1."""
    net = nn.Sequential(*[nn.Conv2d(1, 1, 3, padding=1, bias=False) for _ in range(3)])
    for conv in net:
        nn.init.ones_(conv.weight)
    erf = probe(net, torch.rand(1, 1, 20, 20), (10, 9)).erf
    t = np.array([1, 3, 6, 7, 6, 3, 1], float)
    np.testing.assert_allclose(erf[7:14, 6:13], np.outer(t, t), rtol=1e-6)
    assert erf.sum() == pytest.approx(27.0**2)  # 3^k per direction


def test_erf_sums_absolute_values_over_channel_pairs():
    """A 1×1 conv with weights W (out, in): the ERF at the pixel is Σ|W_oi| (not |Σ W_oi|) and 0 elsewhere."""
    conv = nn.Conv2d(3, 2, 1, bias=False)
    w = torch.tensor([[1.0, -2.0, 0.5], [-3.0, 0.25, 4.0]])
    conv.weight.data.copy_(w[..., None, None])
    erf = probe(conv, torch.rand(1, 3, 8, 8), (3, 5)).erf
    assert erf[3, 5] == pytest.approx(1 + 2 + 0.5 + 3 + 0.25 + 4)
    assert np.count_nonzero(erf) == 1


def test_reach_by_hand():
    erf = np.zeros((11, 11))
    erf[5, 5] = 1.0
    erf[5, 8] = 9.0  # 90 % of the mass 3 px away
    assert reach(erf, (5, 5), 0.9) == 3.0
    assert reach(erf, (5, 5), 0.05) == 0.0


def test_default_pixel_is_the_centre_of_the_largest_overexposed_region():
    ldr = np.full((40, 50, 3), 0.3, np.float32)
    ldr[2:5, 2:5] = 1.0  # a 3×3 region, centre (3, 3): deepest pixel, but the smaller region
    ldr[20:27, 30:37] = 1.0  # a 7×7 region: its centre (23, 33) is 4 px from well-exposed content
    assert region_centre(ldr) == (23, 33)
    assert region_centre(np.full((8, 8, 3), 0.5, np.float32)) is None


def tiny_dcdr():
    method = create_method("dcdr", **TINY)
    torch.manual_seed(0)
    return method, method.build_network().eval()


def offset_convs(net: nn.Module) -> list[nn.Conv2d]:
    return [m.offset for m in net.modules() if isinstance(getattr(m, "offset", None), nn.Conv2d)]


# Hand-built: pixel (13, 22) lies on feature (6, 11) at ×0.5 and (3, 5) at ×0.25; the 3×3 taps row by row.
GRID_HALF = [(2 * (6 + dy), 2 * (11 + dx)) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
GRID_QUARTER = [(4 * (3 + dy), 4 * (5 + dx)) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]


def test_zero_offsets_sample_the_regular_grid_at_each_block_scale():
    method, net = tiny_dcdr()
    with torch.no_grad():
        for conv in offset_convs(net):
            conv.weight.zero_()
            conv.bias.zero_()
    ldr = np.random.default_rng(1).random((32, 32, 3), dtype=np.float32)
    found = probe_method(method, net, ldr, (13, 22))
    assert found.erf is not None and found.erf.shape == (32, 32)
    names = [s.name for s in found.sampling]  # one per DCRB (its two deformable convs share the offsets)
    assert names == ["restoration.trunk_enc.0", "restoration.trunk_mid.0", "restoration.trunk_dec.0"]
    assert [s.scale for s in found.sampling] == [0.5, 0.25, 0.5]
    for s, grid in zip(found.sampling, [GRID_HALF, GRID_QUARTER, GRID_HALF]):
        np.testing.assert_array_equal(s.points, np.array(grid, float))


def test_offsets_move_the_samples_by_offset_over_scale():
    """Offset conv weights 0, bias dy = +0.5, dx = -1 on every tap: each sample moves by (0.5, -1) feature pixels,
    (1, -2) input pixels at ×0.5 and (2, -4) at ×0.25."""
    method, net = tiny_dcdr()
    with torch.no_grad():
        for conv in offset_convs(net):
            conv.weight.zero_()
            conv.bias[0::2] = 0.5
            conv.bias[1::2] = -1.0
    found = probe_method(method, net, np.full((32, 32, 3), 0.5, np.float32), (13, 22))
    half = np.array(GRID_HALF, float) + [1.0, -2.0]
    quarter = np.array(GRID_QUARTER, float) + [2.0, -4.0]
    for s, grid in zip(found.sampling, [half, quarter, half]):
        np.testing.assert_allclose(s.points, grid, atol=1e-6)


def test_torchvision_deform_conv_is_found_and_its_dilation_used():
    """Generic detection (any module whose forward takes ``offset``): torchvision's DeformConv2d with dilation 2
    and zero offsets samples (y + 2·dy, x + 2·dx) at full resolution."""
    from torchvision.ops import DeformConv2d

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.offset = nn.Conv2d(3, 18, 3, padding=1)
            self.dcn = DeformConv2d(3, 4, 3, padding=2, dilation=2)
            nn.init.zeros_(self.offset.weight)
            nn.init.zeros_(self.offset.bias)

        def forward(self, x):
            return self.dcn(x, self.offset(x))

    found = probe(Net(), torch.rand(1, 3, 16, 16), (7, 9))
    assert [s.name for s in found.sampling] == ["dcn"] and found.sampling[0].scale == 1.0
    np.testing.assert_array_equal(found.sampling[0].points,
                                  [(7 + 2 * dy, 9 + 2 * dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)])


def test_a_network_without_parameters_has_no_erf():
    method = create_method("identity")
    found = probe_method(method, method.build_network(), np.full((8, 8, 3), 0.5, np.float32), (4, 4))
    assert found.erf is None and "no parameters" in found.note
    assert probe(lambda x: x.detach() * 2, torch.rand(1, 3, 8, 8), (4, 4)).erf is None  # leaves autograd


BENCH = """
[benchmark]
name = "x"
output = "{out}"
device = "cpu"
[dataset]
name = "demo"
max_images = 1
options = {{ size = 32, cache_dir = "{cache}" }}
[plot]
images = 1
[[methods]]
name = "identity"
train = true
[[methods]]
name = "dcdr"
label = "DCDR tiny"
checkpoint = "{weights}"
options = {{ nf = 8, blocks = [1, 1, 1], cond_nf = 8, cond_out = 4, sft_hidden = 4, tone_nf = 8 }}
"""


def test_explain_command_writes_the_figure(tmp_path, run_main):
    method, net = tiny_dcdr()
    save_weights(net, tmp_path / "dcdr.safetensors", method="dcdr")
    bench = tmp_path / "bench.toml"
    bench.write_text(BENCH.format(out=tmp_path / "out", cache=tmp_path / "cache",
                                  weights=tmp_path / "dcdr.safetensors"))
    code, out, err = run_main("explain", bench)
    assert code == 0, err
    assert "identity on" in out and "no parameters" in out and "3 deformable blocks" in out
    png = io.read_image(tmp_path / "out" / "receptive_field.png")
    assert png.ndim == 3 and png.shape[1] > png.shape[0] * 0.9  # one row, two columns and a colour bar
    assert (tmp_path / "out" / "receptive_field.pdf").read_bytes()[:4] == b"%PDF"
    records = json.loads((tmp_path / "out" / "receptive_field.json").read_text())
    assert [r["method"] for r in records] == ["identity", "dcdr"]
    y, x = records[1]["pixel"]
    from hdrbench.datasets.base import create_dataset

    ldr = create_dataset("demo", size=32, cache_dir=tmp_path / "cache").load_pair(
        create_dataset("demo", size=32, cache_dir=tmp_path / "cache").pairs("test")[0])[0]
    rgb8 = np.rint(ldr[y, x] * 255)
    assert 0.299 * rgb8[0] + 0.587 * rgb8[1] + 0.114 * rgb8[2] > 240  # the default pixel is overexposed
    assert [len(s["points_yx"]) for s in records[1]["sampling"].values()] == [9, 9, 9]

    code, out, err = run_main("explain", bench, "--method", "dcdr", "--pixels", "4,5", "--out", tmp_path / "o")
    assert code == 0, err
    assert json.loads((tmp_path / "o" / "receptive_field.json").read_text())[0]["pixel"] == [4, 5]


@pytest.mark.parametrize("value,words", [("3x4", "give a pixel as y,x"), ("40,4", "outside figure image")])
def test_a_bad_pixel_is_one_line_exit_2(tmp_path, run_main, value, words):
    bench = tmp_path / "bench.toml"
    bench.write_text(BENCH.format(out=tmp_path / "out", cache=tmp_path / "cache", weights=tmp_path / "none")
                     .split("[[methods]]\nname = \"dcdr\"")[0])
    code, out, err = run_main("explain", bench, "--pixels", value)
    assert code == 2
    assert words in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "receptive_field.png").exists()
