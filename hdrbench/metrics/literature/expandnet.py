"""ExpandNet (Marnerides et al., Eurographics 2018): display-referred (1000 cd/m²) and scene-referred scaling.

Source: the first author's answers in dmarnerides/hdr-expandnet issue #9 (2019-11-18): "for display-referred
the factor is 1000 (corresponding to 1000 nits) [...] For scene referred it's the original image maximum", and
"The scaling is done to match the 0.1 and 99.9 percentiles of the predictions with the corresponding percentiles
of the HDR test images [...] for display referred, instead of matching 0 -> 0 and 1 -> 1000 you match
perc(prediction, 0.1) -> 1 and perc(prediction, 99.9) -> 999"; issue #10 (2020-03-16): "The images are scaled in
the same way for all methods, including ExpandNet". The repository (commit
2b47572a88f247e0f44eb14065b0ed4fc9618e0d, 2021-01-20) has no evaluation script; its ``util.py`` takes
percentiles with ``np.percentile`` over the whole array (all channels), which is how they are read here.

Readings (the thread is cut before its scene-referred sentence ends):

* ``expandnet-display``: every image, prediction and ground truth alike, is mapped linearly so that its own
  0.1st and 99.9th percentiles become 1 and 999 cd/m², i.e. 0.1 % and 99.9 % of the display's [0, 1000] range.
* ``expandnet-scene``: the same with the display's 1000 replaced by "the original image maximum": the
  prediction's 0.1st/99.9th percentiles → 0.001 and 0.999 × max(ground truth); the ground truth is kept as it is.
* ``expandnet-scene-percentiles``: the paper's sentence read literally: the prediction's 0.1st/99.9th
  percentiles → the ground truth's 0.1st/99.9th percentiles; the ground truth is kept.

Nothing is clipped (the thread states a linear scaling only; values below the low percentile may map below 0,
which HDR-VDP-2 floors at 1e-5 cd/m² after its optics). HDR-VDP-2's settings are not stated by any source: the
presets use ``'rgb-bt.709'`` at 30 pixels per degree, SingleHDR's, whose paper compares against ExpandNet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from hdrbench.errors import HDRBenchError
from hdrbench.metrics.literature.base import VDP_BT709_30PPD, LiteratureProtocol, affine, per_image
from hdrbench.metrics.transforms import percentile

SOURCE = ("dmarnerides/hdr-expandnet issues #9 (author, 2019-11-18) and #10 (author, 2020-03-16); repository at "
          "2b47572a88f247e0f44eb14065b0ed4fc9618e0d has no evaluation code")
#: How the ground truth's side of the map is taken: a display range, a multiple of the ground truth's maximum, or
#: the ground truth's own percentiles.
TARGETS = ("display", "gt-max", "gt-percentiles")


def percentiles(x: torch.Tensor, low_q: float, high_q: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``np.percentile(x_i, (low_q, high_q))`` of every image ``x_i`` (all channels, linear interpolation), float64
    ``(N,)`` each."""
    flat = per_image(x)
    return percentile(flat, low_q), percentile(flat, high_q)


@dataclass(frozen=True)
class ExpandNetProtocol(LiteratureProtocol):
    """The prediction's ``low_q``/``high_q`` percentiles mapped linearly onto a target pair (see :data:`TARGETS`);
    with ``target='display'`` the ground truth is mapped the same way, otherwise it is kept.

    ``display``: targets ``low_q/100 × display_nits`` and ``high_q/100 × display_nits`` (1 and 999 cd/m²);
    ``gt-max``: the same fractions of max(gt); ``gt-percentiles``: the ground truth's own percentiles.
    """

    target: str = "display"
    low_q: float = 0.1
    high_q: float = 99.9
    display_nits: float = 1000.0

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise HDRBenchError(f"protocol '{self.name}': target '{self.target}' is not one of {', '.join(TARGETS)}")

    def _map(self, x: torch.Tensor, lo: torch.Tensor | float, hi: torch.Tensor | float) -> torch.Tensor:
        p_lo, p_hi = percentiles(x, self.low_q, self.high_q)
        return affine(x, p_lo, p_hi, lo, hi)

    def prepare(self, pred: torch.Tensor, gt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(pred, gt)`` ``(N, 3, H, W)`` in cd/m² (``display``) or in the ground truth's units (scene targets)."""
        if self.target == "display":
            lo, hi = self.low_q / 100 * self.display_nits, self.high_q / 100 * self.display_nits
            return self._map(pred, lo, hi), self._map(gt, lo, hi)
        if self.target == "gt-max":
            top = per_image(gt).amax(dim=1)
            return self._map(pred, self.low_q / 100 * top, self.high_q / 100 * top), gt
        g_lo, g_hi = percentiles(gt, self.low_q, self.high_q)
        return self._map(pred, g_lo, g_hi), gt

    def rule(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": "expandnet-percentile-map", "target": self.target, "low_q": self.low_q,
                               "high_q": self.high_q}
        if self.target == "display":
            out["display_nits"] = self.display_nits
        return out

    def preparation_words(self) -> str:
        q = f"{self.low_q:g}/{self.high_q:g} percentiles"
        if self.target == "display":
            lo, hi = self.low_q / 100 * self.display_nits, self.high_q / 100 * self.display_nits
            return f"each image's {q} → {lo:g}/{hi:g} cd/m² ({self.display_nits:g} cd/m² display, ExpandNet)"
        if self.target == "gt-max":
            return f"prediction's {q} → {self.low_q / 100:g}/{self.high_q / 100:g} × max gt (ExpandNet scene-referred)"
        return f"prediction's {q} → the ground truth's (ExpandNet scene-referred, paper's sentence)"


PROTOCOLS: dict[str, ExpandNetProtocol] = {
    "expandnet-display": ExpandNetProtocol(
        name="expandnet-display",
        summary="ExpandNet display-referred: each image's 0.1/99.9 percentiles → 1/999 cd/m² (1000 cd/m² display); "
                "HDR-VDP-2 rgb-bt.709, 30 ppd (settings not stated by the source)",
        metrics=("hdrvdp2",), params=dict(VDP_BT709_30PPD), target="display",
        assumes="linear HDR of any scale (each image is mapped onto a 1000 cd/m² display by its percentiles)",
        source=SOURCE,
    ),
    "expandnet-scene": ExpandNetProtocol(
        name="expandnet-scene",
        summary="ExpandNet scene-referred: prediction's 0.1/99.9 percentiles → 0.001/0.999 × max gt, gt as given; "
                "HDR-VDP-2 rgb-bt.709, 30 ppd on the ground truth's units",
        metrics=("hdrvdp2",), params=dict(VDP_BT709_30PPD), target="gt-max",
        assumes="scene-referred linear HDR whose values are meaningful as cd/m² for HDR-VDP-2",
        source=SOURCE,
    ),
    "expandnet-scene-percentiles": ExpandNetProtocol(
        name="expandnet-scene-percentiles",
        summary="ExpandNet scene-referred (paper's sentence): prediction's 0.1/99.9 percentiles → the ground "
                "truth's, gt as given; HDR-VDP-2 rgb-bt.709, 30 ppd",
        metrics=("hdrvdp2",), params=dict(VDP_BT709_30PPD), target="gt-percentiles",
        assumes="scene-referred linear HDR whose values are meaningful as cd/m² for HDR-VDP-2",
        source=SOURCE,
    ),
}
