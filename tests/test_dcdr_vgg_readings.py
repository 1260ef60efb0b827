"""DCDR-UNet's VGG term under each reading the paper's text allows (options ``vgg_weighting`` and ``vgg_input``),
each against a direct computation: the scaled term is s² × the unscaled one (s = SRGAN's 1/12.75, 1, or the
balanced scale), and ``vgg_input = "tanh"`` is the raw term of tanh-encoded images."""

from __future__ import annotations

import pytest
import torch

from dcdr.loss import AUTO_FEATURE_SCALE, DCDRLoss
from hdrbench.errors import HDRBenchError
from hdrbench.method import create_method


@pytest.fixture(scope="module")
def pair():
    g = torch.Generator().manual_seed(0)
    gt = torch.rand(1, 3, 32, 32, generator=g) * 0.9
    pred = (gt + 0.05 * torch.randn(1, 3, 32, 32, generator=g)).clamp_min(0)
    return pred, gt


@pytest.fixture(scope="module")
def unscaled():
    return DCDRLoss(weighting="unscaled", vgg_input="raw")


def test_each_weighting_scales_the_unscaled_term(pair, unscaled):
    base = float(unscaled.vgg_loss(*pair))
    assert base > 0
    srgan = DCDRLoss(weighting="srgan", vgg_input="raw")
    assert float(srgan.vgg_loss(*pair)) == pytest.approx(base / 12.75**2, rel=1e-5)
    balanced = DCDRLoss(weighting="balanced", vgg_input="raw")
    s = AUTO_FEATURE_SCALE[balanced.vgg.convention]
    assert float(balanced.vgg_loss(*pair)) == pytest.approx(base * s**2, rel=1e-5)
    assert float(DCDRLoss(feature_scale=0.5, vgg_input="raw").vgg_loss(*pair)) == pytest.approx(base * 0.25, rel=1e-5)


def test_tanh_input_is_the_term_of_tanh_encoded_images(pair, unscaled):
    pred, gt = pair
    tanh = DCDRLoss(weighting="unscaled", vgg_input="tanh")
    assert float(tanh.vgg_loss(pred, gt)) == pytest.approx(float(unscaled.vgg_loss(torch.tanh(pred), torch.tanh(gt))),
                                                         rel=1e-6)
    assert float(tanh.vgg_loss(pred, gt)) != pytest.approx(float(unscaled.vgg_loss(pred, gt)), rel=1e-3)


def test_dcdr_default_feeds_the_vgg_tanh_encoded_images(pair, unscaled):
    """The default reading (§3: the losses are for tanh-encoded HDR) is the raw-input term of tanh(pred), tanh(gt)."""
    loss = create_method("dcdr").build_loss()
    assert loss.vgg_input == "tanh"
    pred, gt = pair
    raw = DCDRLoss(vgg_input="raw")
    assert float(loss.vgg_loss(pred, gt)) == pytest.approx(float(raw.vgg_loss(torch.tanh(pred), torch.tanh(gt))),
                                                         rel=1e-6)


def test_the_options_reach_the_loss_and_bad_readings_are_one_line(pair):
    loss = create_method("dcdr", vgg_weighting="srgan", vgg_input="tanh").build_loss()
    assert (loss.weighting, loss.vgg_input, loss.feature_scale) == ("srgan", "tanh", pytest.approx(1 / 12.75))
    assert loss.describe()["vgg_weighting"] == "srgan" and loss.describe()["vgg_input"] == "tanh"
    with pytest.raises(HDRBenchError, match="vgg_weighting 'big' is not one of balanced, srgan"):
        create_method("dcdr", vgg_weighting="big").build_loss()
    with pytest.raises(HDRBenchError, match="fixes the feature scale"):
        create_method("dcdr", vgg_weighting="srgan", vgg_feature_scale=0.1).build_loss()
    if DCDRLoss().vgg.convention == "caffe":
        with pytest.raises(HDRBenchError, match="reads torchvision-convention VGG19 features"):
            DCDRLoss(weighting="torchvision")
