"""SingleHDR (Liu et al., CVPR 2020): ``pre_hdr_p3`` and HDR-VDP-2 with ``'rgb-bt.709'`` at 30 pixels per degree.

Source: the authors' MATLAB snippet in alex04072000/SingleHDR issue #4 (author's comment of 2020-04-20, "the
normalization step we mention in the paper to roughly align two HDR images"), repeated verbatim by a user who
matched the paper's HDR-Eye numbers with it in issue #23::

    test_hdr = pre_hdr_p3(test_hdr);  ref_hdr = pre_hdr_p3(ref_hdr);
    res = hdrvdp(test_hdr, ref_hdr, "rgb-bt.709", 30);

    function hdr = pre_hdr_p3(hdr)
        eps = 1e-8;  s = size(hdr(:), 1);  k = int64(s*1e-3);
        a = mink(hdr(:), k);  a = a(end);  b = maxk(hdr(:), k);  b = b(end);
        c = 1.0;  d = 999.0;
        hdr = (hdr - a).*(d - c)./(b - a + eps) + c;
        hdr(hdr < 0) = 0;
    end

The repository (commit ce89648bc95ba1615b5eb9d8a1c4456a7872a92c, 2021-12-11) holds no evaluation code at all:
``test_real.py`` only writes predictions. PSNR and SSIM of the paper are computed on tone-mapped images (issue
#23: Photomatix "Balanced" and MATLAB ``psnr``/``ssim``, by the user; issue #27: the authors' figures use
Photomatix 6.0's "Vibrant" preset). Photomatix is closed, its operators are unpublished and which preset the
paper's PSNR/SSIM used is not stated, so those two numbers cannot be reproduced; this preset scores HDR-VDP-2 only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from hdrbench.metrics.literature.base import VDP_BT709_30PPD, LiteratureProtocol, affine, per_image

SOURCE = ("alex04072000/SingleHDR issue #4 (author's pre_hdr_p3 snippet and hdrvdp call), issue #23; "
          "repository at ce89648bc95ba1615b5eb9d8a1c4456a7872a92c has no evaluation code")


def pre_hdr_p3(x: torch.Tensor, fraction: float = 1e-3, low: float = 1.0, high: float = 999.0,
               eps: float = 1e-8) -> torch.Tensor:
    """SingleHDR's ``pre_hdr_p3`` per image of ``x`` ``(N, C, H, W)``: its k-th smallest value → ``low``, its k-th
    largest → ``high`` (k = MATLAB ``int64(numel·fraction)``, i.e. rounded half away from zero, at least 1),
    linearly, then values below 0 set to 0. Computed in float64 (the authors read images with ``hdrimread``, which
    returns double), returned in ``x``'s dtype."""
    flat = per_image(x)
    s = flat.shape[1]
    k = max(1, math.floor(s * fraction + 0.5))
    a = flat.kthvalue(k, dim=1).values  # mink(hdr(:), k)(end)
    b = flat.kthvalue(s - k + 1, dim=1).values  # maxk(hdr(:), k)(end)
    return affine(x, a, b, low, high, eps).clamp_min(0.0)


@dataclass(frozen=True)
class SingleHDRProtocol(LiteratureProtocol):
    """Both images through :func:`pre_hdr_p3`, each with its own order statistics (0.1 % from either end →
    1 and 999, read as cd/m²), then HDR-VDP-2 (``'rgb-bt.709'``, 30 pixels per degree, test first).

    Ambiguity: MATLAB ``mink``/``maxk`` on ``hdr(:)`` count every channel value, so the statistics are over all
    values, not luminance; ``int64`` rounds. Both are read so here. NaN handling (``hdr < 0`` is false for NaN) does
    not arise: pairs are validated before any protocol sees them.
    """

    fraction: float = 1e-3
    low: float = 1.0
    high: float = 999.0
    eps: float = 1e-8

    def prepare(self, pred: torch.Tensor, gt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``pre_hdr_p3`` of each image of ``pred`` and ``gt`` ``(N, 3, H, W)``; the result is cd/m² (1 … 999)."""
        return (pre_hdr_p3(pred, self.fraction, self.low, self.high, self.eps),
                pre_hdr_p3(gt, self.fraction, self.low, self.high, self.eps))

    def rule(self) -> dict[str, Any]:
        return {"rule": "pre_hdr_p3", "fraction": self.fraction, "low": self.low, "high": self.high, "eps": self.eps}

    def preparation_words(self) -> str:
        return (f"each image's {100 * self.fraction:g} % order statistics → {self.low:g} and {self.high:g} cd/m² "
                "(SingleHDR pre_hdr_p3)")


PROTOCOLS: dict[str, SingleHDRProtocol] = {
    "singlehdr": SingleHDRProtocol(
        name="singlehdr",
        summary="SingleHDR (Liu et al. 2020): pre_hdr_p3 on each image (0.1 %/99.9 % order statistics → 1/999 "
                "cd/m²), HDR-VDP-2 rgb-bt.709, 30 ppd; PSNR/SSIM (after Photomatix) not reproducible",
        metrics=("hdrvdp2",),
        params=dict(VDP_BT709_30PPD),
        assumes="linear HDR of any scale (each image is mapped to 1-999 cd/m² by its own order statistics)",
        source=SOURCE,
    ),
}
