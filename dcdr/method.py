"""DCDR-UNet and its ablations as registered hdrbench methods.

``dcdr`` is the full model; ``dcdr-no-dcrb``, ``dcdr-no-tone`` and ``dcdr-no-cond`` are Table 2's columns,
``dcdr-no-vgg`` and ``dcdr-no-dcrb-no-vgg`` complete Table 3 (trained with ``Tanh_L1`` only). ``dcdr-eq4`` and
``dcdr-no-dcrb-eq4`` are the full model and Table 2's column (a) with eq. (4)'s block as written (no ReLU). Every one
accepts the same options (``hdrbench predict --option KEY=VALUE``); the ablations only change defaults.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from dcdr.loss import DCDRLoss
from dcdr.network import DCDRConfig, DCDRUNet
from hdrbench.method import Method, Recipe, Stage

_NET_KEYS = ("nf", "blocks", "cond_nf", "cond_out", "sft_hidden", "tone_nf", "dcrb", "tone", "cond", "relu_between",
            "init", "tone_init", "residual_scale", "zero_offsets")


#: Training ground truth above this is not the paper's [0, 1] HDR: the VGG term is then out of its range.
HDR_PEAK_HINT = 4.0


class DCDR(Method):
    """DCDR-UNet (eqs. 1–8). Network options: see :class:`dcdr.network.DCDRConfig`; loss options:
    ``vgg_weight`` (``w_vgg``, 0 = no VGG term), ``vgg_weights`` (a torchvision-layout VGG19/VGG16 state
    dict file, else the offline cache), ``vgg_after_relu``, ``vgg_feature_scale`` (``"auto"``: per the VGG
    weights' input convention), ``vgg_weighting`` (``balanced``, ``srgan``, ``unscaled``, ``torchvision``) and
    ``vgg_input`` (``raw``, ``tanh``): the readings of eqs. (7)–(8) the text allows, see :mod:`dcdr.loss`."""

    citation = ("J. Kim, Z. Zhu, T. Bau, C. Liu (Samsung Research America). DCDR-UNet: Deformable Convolution "
                "Based Detail Restoration via U-shape Network for Single Image HDR Reconstruction. CVPR Workshops "
                "(NTIRE) 2024.")
    summary = ("U-Net with deformable-conv residual blocks (DCRB), SFT conditioning and a tone net; "
               "Tanh_L1 + 0.1 VGG loss; 1.52 M params")
    default_options: dict[str, Any] = {
        "nf": 64, "blocks": (2, 4, 2), "cond_nf": 32, "cond_out": 32, "sft_hidden": 8, "tone_nf": 64,
        "dcrb": True, "tone": True, "cond": True, "relu_between": True,
        "init": "kaiming_normal", "tone_init": "neutral", "residual_scale": 0.1, "zero_offsets": True,
        "vgg_weight": 0.1, "vgg_weights": None, "vgg_after_relu": True, "vgg_feature_scale": "auto",
        "vgg_weighting": "balanced", "vgg_input": "tanh",
    }
    option_types = {"vgg_feature_scale": float | str}  # a number, or "auto"
    recipe = Recipe(optimizer="adam", lr=2e-4, betas=(0.9, 0.99), scheduler="constant", batch_size=16,
                    patch_size=512, iterations=200_000, crop="grid", augment=("hflip",),
                    source=("DCDR-UNet paper §4.1.3 (Adam, batch 16, 2e5 iterations, 512x512 patches); lr and "
                            "betas from HDRUNet's train_HDRUNet.yml, whose first lr step (200k) is never reached"))
    # Hand arithmetic from the paper's architecture (§3, Fig. 2; derived in tests/test_dcdr_model.py).
    official_params = 1_524_278
    tiny_options = {"nf": 8, "blocks": [1, 1, 1], "cond_nf": 8, "cond_out": 4, "sft_hidden": 4, "tone_nf": 8}
    pad_multiple = 4
    clip_negative = True
    receptive_margin = 128
    output_convention = ("linear HDR RGB in the units of the training ground truth, (N,3,H,W); unbounded while "
                         "training, negatives clipped to 0 by predict")

    def config(self) -> DCDRConfig:
        """The network configuration for ``self.options``."""
        kw = {k: self.options[k] for k in _NET_KEYS}
        kw["blocks"] = tuple(int(b) for b in kw["blocks"])
        return DCDRConfig(**kw)

    def build_network(self) -> nn.Module:
        return DCDRUNet(self.config())

    def build_loss(self) -> DCDRLoss:
        return DCDRLoss(vgg_weight=float(self.options["vgg_weight"]), vgg_weights=self.options["vgg_weights"],
                        after_relu=bool(self.options["vgg_after_relu"]),
                        feature_scale=self.options["vgg_feature_scale"],
                        weighting=str(self.options["vgg_weighting"]), vgg_input=str(self.options["vgg_input"]))

    def training_loss(self, net: nn.Module, loss: nn.Module, ldr: torch.Tensor, hdr: torch.Tensor,
                      stage: Stage) -> tuple[torch.Tensor, dict[str, float]]:
        """Eq. (8) on one batch; logs both terms next to the total."""
        pred = self.forward(net, ldr)
        if not isinstance(loss, DCDRLoss):
            return super().training_loss(net, loss, ldr, hdr, stage)
        if loss.vgg_weight and not getattr(self, "_scale_checked", False):
            self._scale_checked = True  # once per training: one reduction, one line
            peak = float(hdr.max())
            if peak > HDR_PEAK_HINT:
                from hdrbench.weights import warn_once

                warn_once(f"hdrbench: dcdr: the training ground truth reaches {peak:.3g}, but DCDR's loss assumes "
                          "[0, 1] HDR (the paper's 16-bit data): its VGG term grows with the scale (hundreds on "
                          "unbounded data); train on [0, 1] data (e.g. 'hdrbench data synth -o hdr_headroom=K'), "
                          "or without the VGG term: 'hdrbench train --method dcdr-no-vgg', or bench.toml [[methods]] "
                          "options vgg_weight=0")
        terms = loss.components(pred, hdr)
        value = terms["tanh_l1"] + loss.vgg_weight * terms["vgg"]
        return value, {"loss": value.detach(), **{k: v.detach() for k, v in terms.items()}}


#: The paper's "no DCRB" (§4.2): "a normal residual block, which is defined in [1]: the offset estimation is removed
#: and the deformable convolutions are replaced with normal convolutions in DCRB". With the default DCRB (HDRUNet's
#: block plus offsets, ``relu_between=True``) that is HDRUNet's block, ``z + conv(SFT(relu(conv(SFT(z, y)))))``:
#: ``dcdr`` and ``dcdr-no-dcrb`` differ only in the deformable convolution.
_NO_DCRB: dict[str, Any] = {"dcrb": False}
#: Eq. (4) as written has no activation in the block. ``dcdr-eq4`` is that DCRB and ``dcdr-no-dcrb-eq4`` its
#: no-DCRB twin (plain convs, no ReLU: a block, and a trunk, affine in its input since SFT is affine in the
#: features): Table 2's column (a) under the other reading.
_EQ4: dict[str, Any] = {"relu_between": False}

#: The ablations of Tables 2–3: name → (summary, options changed from ``dcdr``'s defaults).
ABLATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "dcdr-no-dcrb": ("DCDR-UNet ablation (Table 2 a): each DCRB replaced by HDRUNet's residual block (offsets "
                     "removed, deformable convs -> 3x3 convs, the ReLU between them kept)", _NO_DCRB),
    "dcdr-no-tone": ("DCDR-UNet ablation (Table 2): no tone net, I_hdr = Net_R(I, Net_C(I))", {"tone": False}),
    "dcdr-no-cond": ("DCDR-UNet ablation (Table 2): no condition net, every SFT layer replaced by a 3x3 conv",
                     {"cond": False}),
    "dcdr-no-vgg": ("DCDR-UNet trained with Tanh_L1 only (Table 3 b)", {"vgg_weight": 0.0}),
    "dcdr-no-dcrb-no-vgg": ("DCDR-UNet with HDRUNet's residual blocks, trained with Tanh_L1 only (Table 3 a)",
                            {**_NO_DCRB, "vgg_weight": 0.0}),
    "dcdr-eq4": ("DCDR-UNet with eq. (4)'s DCRB as written: no ReLU between the two deformable convs", _EQ4),
    "dcdr-no-dcrb-eq4": ("DCDR-UNet ablation (Table 2 a, eq. (4) reading): dcdr-eq4's blocks with plain 3x3 convs "
                         "and no offsets (no activation in the block)", {**_EQ4, **_NO_DCRB}),
}


def _ablation(name: str) -> type[DCDR]:
    """A :class:`DCDR` subclass whose only difference is its default options (``ABLATIONS[name]``)."""
    summary, changes = ABLATIONS[name]
    return type(name.title().replace("-", ""), (DCDR,), {
        "__doc__": summary, "name": name, "summary": summary, "official_params": None,  # hand counts: tests
        "default_options": {**DCDR.default_options, **changes}, "__module__": __name__})


# Registered in pyproject.toml ([project.entry-points."hdrbench.methods"]) under their ABLATIONS names.
DcdrNoDcrb = _ablation("dcdr-no-dcrb")
DcdrNoTone = _ablation("dcdr-no-tone")
DcdrNoCond = _ablation("dcdr-no-cond")
DcdrNoVgg = _ablation("dcdr-no-vgg")
DcdrNoDcrbNoVgg = _ablation("dcdr-no-dcrb-no-vgg")
DcdrEq4 = _ablation("dcdr-eq4")
DcdrNoDcrbEq4 = _ablation("dcdr-no-dcrb-eq4")
