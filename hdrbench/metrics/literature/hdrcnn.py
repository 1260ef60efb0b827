"""HDRCNN (Eilertsen et al., SIGGRAPH Asia 2017): the display mapping before HDR-VDP-2.

Sources: gabrieleilertsen/hdrcnn issue #46 (first author, 2021-03-05): "For the preparation of the images for HDR,
as described in the paper we fixed the luminance of the 90th percentile pixel value to 180 cd/m2. This can be
achieved by performing a linear scaling of the reconstructed HDR images"; issue #47 (same day): "scale an image to
have a certain percentile scaled to the peak luminance of the display. So if 1 is mapped to the peak luminance, you
could do I/percentile(I,95) to have the 5% brightest pixels clipped at the peak luminance"; issue #35
(2019-11-20): "HDR-VDP expects calibrated pixels as input, so the images need to be scaled to approximately
correspond to absolute luminance values". The repository (commit 67f5a94b4c9c13ef53fceef3595de09f996a7fd3,
2022-10-28) holds no evaluation code.

Readings:

* ``hdrcnn`` (chosen: #46 says it is what the paper did): each image, prediction and ground truth, scaled so that
  the 90th percentile of its luminance (BT.709 weights 0.2126, 0.7152, 0.0722, ``np.percentile`` with linear
  interpolation) is 180 cd/m²; no clipping (none is stated).
* ``hdrcnn-p95`` (#47, a suggestion for showing one image on an HDR display): each image ÷ its 95th percentile
  (over all values, as ``percentile(I, 95)`` reads) × the display peak, clipped at the peak. The thread names no
  peak; 1000 cd/m² here (field ``nits``), ExpandNet's display.

HDR-VDP-2's settings are not stated by any source: ``'rgb-bt.709'`` at 30 pixels per degree, the call in #35 that
the author answered without correcting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from hdrbench.errors import HDRBenchError
from hdrbench.metrics.literature.base import VDP_BT709_30PPD, LiteratureProtocol, per_image
from hdrbench.metrics.transforms import percentile

SOURCE = ("gabrieleilertsen/hdrcnn issues #46, #47 (author, 2021-03-05) and #35; repository at "
          "67f5a94b4c9c13ef53fceef3595de09f996a7fd3 has no evaluation code")
#: BT.709 luminance weights as HDR-VDP's FAQ writes them.
BT709 = (0.2126, 0.7152, 0.0722)
RULES = ("luminance-percentile", "value-percentile-peak")


def scale_to_percentile(x: torch.Tensor, q: float, nits: float, luminance: bool) -> torch.Tensor:
    """Each image of ``x`` ``(N, 3, H, W)`` × ``nits / percentile_q`` of its luminance (``luminance=True``) or of all
    its values; float64 arithmetic, ``x``'s dtype out."""
    xd = x.double()
    if luminance:
        w = torch.tensor(BT709, dtype=torch.float64, device=x.device).view(1, 3, 1, 1)
        ref = (xd * w).sum(dim=1)
    else:
        ref = xd
    p = percentile(per_image(ref), q)
    if not bool((p > 0).all()):
        raise HDRBenchError(f"the {q:g}th percentile of an image is 0: it cannot be scaled to {nits:g} cd/m²")
    return (xd * (nits / p).view(-1, 1, 1, 1)).to(x.dtype)


@dataclass(frozen=True)
class HDRCNNProtocol(LiteratureProtocol):
    """Each image scaled by its own percentile (see the module docstring): ``luminance-percentile`` (the
    ``q``-th percentile of luminance → ``nits``) or ``value-percentile-peak`` (of all values → ``nits``, then
    clipped at ``nits``)."""

    rule_name: str = "luminance-percentile"
    q: float = 90.0
    nits: float = 180.0

    def __post_init__(self) -> None:
        if self.rule_name not in RULES:
            raise HDRBenchError(f"protocol '{self.name}': rule '{self.rule_name}' is not one of {', '.join(RULES)}")

    def _one(self, x: torch.Tensor) -> torch.Tensor:
        if self.rule_name == "luminance-percentile":
            return scale_to_percentile(x, self.q, self.nits, luminance=True)
        return scale_to_percentile(x, self.q, self.nits, luminance=False).clamp_max(self.nits)

    def prepare(self, pred: torch.Tensor, gt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(pred, gt)`` ``(N, 3, H, W)`` in cd/m², each scaled by its own percentile."""
        return self._one(pred), self._one(gt)

    def rule(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule_name, "q": self.q, "nits": self.nits}
        if self.rule_name == "luminance-percentile":
            out["weights"] = list(BT709)
        return out

    def preparation_words(self) -> str:
        if self.rule_name == "luminance-percentile":
            return f"each image × {self.nits:g} cd/m² ÷ its luminance's {self.q:g}th percentile (HDRCNN #46)"
        return f"each image ÷ its {self.q:g}th percentile × {self.nits:g} cd/m², clipped there (HDRCNN #47)"


PROTOCOLS: dict[str, HDRCNNProtocol] = {
    "hdrcnn": HDRCNNProtocol(
        name="hdrcnn",
        summary="HDRCNN (Eilertsen et al. 2017): each image's luminance 90th percentile → 180 cd/m² (#46); "
                "HDR-VDP-2 rgb-bt.709, 30 ppd (settings not stated by the source)",
        metrics=("hdrvdp2",), params=dict(VDP_BT709_30PPD), rule_name="luminance-percentile", q=90.0, nits=180.0,
        assumes="linear HDR of any scale (each image is scaled by its own 90th percentile)",
        source=SOURCE,
    ),
    "hdrcnn-p95": HDRCNNProtocol(
        name="hdrcnn-p95",
        summary="HDRCNN display mapping of #47: I / percentile(I, 95) × 1000 cd/m², clipped at 1000; "
                "HDR-VDP-2 rgb-bt.709, 30 ppd",
        metrics=("hdrvdp2",), params=dict(VDP_BT709_30PPD), rule_name="value-percentile-peak", q=95.0, nits=1000.0,
        assumes="linear HDR of any scale (each image is scaled by its own 95th percentile)",
        source=SOURCE,
    ),
}
