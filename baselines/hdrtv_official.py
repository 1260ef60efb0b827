"""HDRTVNet's official *test-time* pipeline (``chxy95/HDRTVNet``), for the authors' released weights.

The official scripts run the three stages one after the other through files: the condition image is
MATLAB-style bicubic ×1/4 (``imresize_np``), each stage's output is written and read back as a 16-bit PNG, and
HG's input and mask are resized (bilinear, OpenCV) to multiples of 32. :func:`official_cascade` reproduces that
chain; :class:`baselines.hdrtv.HDRTV` runs it with ``pipeline="official"``. Also the key renames from the
official state dicts to this re-implementation's names.

Tensors: ``(N, 3, H, W)`` display-referred RGB in [0, 1] in, each stage's raw output out.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import torch

from hdrbench.errors import HDRBenchError
from hdrbench.nn.masks import highlight_mask

if TYPE_CHECKING:
    from baselines.hdrtv_network import HDRTVNet

#: Where the official pipeline's HG mask comes from: the SDR (``generate_mask.py``) or HG's input (``test_HG.yml``).
OFFICIAL_MASKS = ("sdr", "le")
#: The official condition image is the input shrunk by this factor (``cond_scale: 4``).
OFFICIAL_COND_SCALE = 4
#: The official condition branch fails (InstanceNorm of a 1×1 map) on condition images under this side.
OFFICIAL_MIN_COND = 17

#: Official (``chxy95/HDRTVNet``) key prefixes → ours, per stage.
OFFICIAL_RENAMES: dict[str, dict[str, str]] = {
    "agcm": {"classifier.model.": "agcm.condition.body.", "conv_first.": "agcm.convs.0.", "HRconv.": "agcm.convs.1.",
             "conv_last.": "agcm.convs.2.", "cond_scale_first.": "agcm.scales.0.", "cond_scale_HR.": "agcm.scales.1.",
             "cond_scale_last.": "agcm.scales.2.", "cond_shift_first.": "agcm.shifts.0.",
             "cond_shift_HR.": "agcm.shifts.1.", "cond_shift_last.": "agcm.shifts.2."},
    "le": {"conv_first.": "le.conv_first.", "recon_trunk.": "le.trunk.", "upconv.": "le.upconv.",
           "HRconv.": "le.hr_conv.", "conv_last.": "le.conv_last."},
    "hg": {"conv_code1.": "hg.code1.", "conv_code2.": "hg.code2.", "conv6.": "hg.fuse1.", "conv7.": "hg.fuse2.",
           "conv8.": "hg.fuse3.", "conv9.": "hg.fuse4.", "conv10.": "hg.fuse5.", "conv_last.": "hg.conv_last.",
           **{f"Up_conv{i}.": f"hg.up{i}." for i in range(1, 6)},
           **{f"conv{n}.": f"hg.conv{n}." for n in ("1", "2", "3_1", "3_2", "4_1", "4_2", "5_1", "5_2")}},
}



def png16(x: torch.Tensor) -> torch.Tensor:
    """The official 16-bit PNG round trip between stages: clip to [0, 1], ``round(x·65535)``, ``/65535``."""
    return torch.round(x.clamp(0, 1) * 65535.0) / 65535.0


def cv2_resize(x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    """``cv2.resize(img, (W, H))`` (bilinear) of each image of ``x`` ``(N, C, h, w)``, as the official scripts."""
    from hdrbench.io import opencv

    out = [opencv().resize(np.ascontiguousarray(img.permute(1, 2, 0).cpu().numpy()), (hw[1], hw[0]))
           for img in x.float()]
    return torch.from_numpy(np.stack(out)).reshape(x.shape[0], hw[0], hw[1], -1).permute(0, 3, 1, 2).to(x.device)


def official_cascade(net: HDRTVNet, ldr: torch.Tensor, upto: str = "hg", mask_from: str = "sdr"
                     ) -> dict[str, torch.Tensor]:
    """Raw outputs of the official test-time cascade, stage by stage up to ``upto``.

    ``ldr`` ``(N, 3, H, W)`` in [0, 1], any size with sides ≥ 65 (the official condition branch's limit).
    AGCM: ``(ldr, imresize_np(ldr, 1/4))`` → ``(N, 3, H, W)``. LE: the AGCM output through the 16-bit PNG →
    ``(N, 3, 2⌈H/2⌉, 2⌈W/2⌉)`` (not cropped, as the official code). HG: the LE output through the 16-bit PNG,
    resized to multiples of 32, with a highlight mask → that size. ``mask_from="sdr"``: the mask of the LDR
    resized likewise (``scripts/generate_mask.py``, the masks a ``dataroot_mask`` folder holds); ``"le"``: the
    mask of HG's own input, what ``test_HG.yml`` as shipped (no ``dataroot_mask``) computes. Values unclipped
    (the official scripts clip when they write each PNG).
    """
    from hdrbench.metrics.hdrvdp2.resize import imresize_by_scale

    h, w = ldr.shape[-2:]
    if min(math.ceil(h / OFFICIAL_COND_SCALE), math.ceil(w / OFFICIAL_COND_SCALE)) < OFFICIAL_MIN_COND:
        raise HDRBenchError(f"HDRTV's official pipeline needs sides of at least {OFFICIAL_COND_SCALE * 16 + 1} px "
                            f"(its condition branch fails below), got {h}x{w}; use pipeline=project")
    outs = {"agcm": net.agcm(ldr, imresize_by_scale(ldr, 1 / OFFICIAL_COND_SCALE))}
    if upto != "agcm":
        outs["le"] = net.le(png16(outs["agcm"]))
    if upto == "hg":
        size = (math.ceil(h / 32) * 32, math.ceil(w / 32) * 32)
        x = png16(outs["le"])
        x = x if tuple(x.shape[-2:]) == size else cv2_resize(x, size)
        if mask_from not in OFFICIAL_MASKS:
            raise HDRBenchError(f"HDRTV official mask source '{mask_from}' is not one of {', '.join(OFFICIAL_MASKS)}")
        source = x if mask_from == "le" else ldr if (h, w) == size else cv2_resize(ldr, size)
        outs["hg"] = net.hg(x, highlight_mask(source, net.mask_threshold))
    return outs
