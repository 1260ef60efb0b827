"""matlabPyrTools-exact steerable-pyramid reconstruction against pyrtools (Python port of the same C code)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hdrbench.metrics.hdrvdp2.pyramid import build_steerable_pyramid, max_pyramid_height
from hdrbench.metrics.hdrvdp2.recon import reconstruct_steerable_pyramid_matlab, up_conv_matlab

pyrtools = pytest.importorskip("pyrtools")
from pyrtools.pyramids.c.wrapper import upConv  # noqa: E402

SIZES = [(71, 53), (64, 64), (256, 256), (37, 100), (34, 40), (17, 17)]


def _pyrtools_recon(pyr, bands: list[np.ndarray]) -> np.ndarray:
    """Load our band layout (one image, finest first) into a pyrtools pyramid and reconstruct it."""
    pyr.pyr_coeffs["residual_highpass"] = bands[0][0]
    for lev, level in enumerate(bands[1:-1]):
        for b in range(level.shape[0]):
            pyr.pyr_coeffs[(lev, b)] = level[b]
    pyr.pyr_coeffs["residual_lowpass"] = bands[-1][0]
    return pyr.recon_pyr()


def _random_bands(h: int, w: int, n: int, rng: np.random.Generator) -> tuple[object, list[torch.Tensor]]:
    """A pyrtools pyramid of an (h, w) image and random bands with its coefficient shapes, batch ``n``."""
    pyr = pyrtools.pyramids.SteerablePyramidSpace(rng.standard_normal((h, w)), height="auto", order=3)
    assert pyr.num_scales == max_pyramid_height(h, w)
    shapes = [(1, *pyr.pyr_size["residual_highpass"])]
    shapes += [(4, *pyr.pyr_size[(lev, 0)]) for lev in range(pyr.num_scales)]
    shapes += [(1, *pyr.pyr_size["residual_lowpass"])]
    return pyr, [torch.from_numpy(rng.standard_normal((n, *s))) for s in shapes]


@pytest.mark.parametrize("hw", SIZES)
def test_recon_matches_pyrtools(hw: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(hw))
    pyr, bands = _random_bands(*hw, n=2, rng=rng)
    got = reconstruct_steerable_pyramid_matlab(bands, compute_dtype=None)
    assert got.shape == (2, 1, *hw) and got.dtype == torch.float64
    for i in range(2):
        ref = _pyrtools_recon(pyr, [b[i].numpy() for b in bands])
        assert np.abs(got[i, 0].numpy() - ref).max() <= 1e-6 * max(1.0, np.abs(ref).max())


def test_recon_of_decomposition_matches_pyrtools() -> None:
    """Our decomposition followed by this reconstruction reproduces pyrtools' build + recon of an image."""
    img = np.random.default_rng(3).random((45, 66))
    pyr = pyrtools.pyramids.SteerablePyramidSpace(img, height="auto", order=3)
    ref = pyr.recon_pyr()
    got = reconstruct_steerable_pyramid_matlab(build_steerable_pyramid(torch.from_numpy(img)[None, None]))
    assert np.abs(got[0, 0].numpy() - ref).max() <= 1e-5  # our build correlates in float32


def test_float32_close_to_float64() -> None:
    """float32 convolutions (the default) on float64 or float32 bands stay within 1e-5 (relative) of float64."""
    _, bands = _random_bands(71, 53, n=1, rng=np.random.default_rng(1))
    ref = reconstruct_steerable_pyramid_matlab(bands, compute_dtype=torch.float64)
    got64 = reconstruct_steerable_pyramid_matlab(bands)
    got32 = reconstruct_steerable_pyramid_matlab([b.float() for b in bands])
    assert got64.dtype == torch.float64 and got32.dtype == torch.float32
    for got in (got64, got32):
        assert (got.double() - ref).abs().max() <= 1e-5 * ref.abs().max()


@pytest.mark.parametrize("k", [9, 15, 17])
@pytest.mark.parametrize("step", [1, 2])
def test_up_conv_deltas_match_pyrtools(k: int, step: int) -> None:
    """Every delta input (all edge positions included) with a non-symmetric filter; output sizes n == k, k + 1, .."""
    rng = np.random.default_rng(k * step)
    f = rng.standard_normal((k, k))
    for h, w in [(k, k + 1), (k + 1, k + 2), (k + 6, k + 3)]:
        hi, wi = -(-h // step), -(-w // step)
        x = torch.eye(hi * wi, dtype=torch.float64).reshape(hi * wi, 1, hi, wi)
        got = up_conv_matlab(x, torch.from_numpy(f)[None, None], (h, w), step, compute_dtype=None)
        for j in range(hi * wi):
            ref = upConv(x[j, 0].numpy(), f, "reflect1", step=(step, step), start=(0, 0), stop=(h, w))
            assert np.abs(got[j, 0].numpy() - ref).max() <= 1e-12
