"""What the literature presets share: a :class:`Protocol` whose preparation is its own rule, and the affine maps
those rules are made of.

Every tensor here is ``(N, 3, H, W)`` linear HDR (relative, or cd/m² where said); maps work per image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from hdrbench.errors import HDRBenchError
from hdrbench.metrics.protocol import Protocol

#: HDR-VDP-2 as SingleHDR's authors call it (``hdrvdp(test, ref, 'rgb-bt.709', 30)``, SingleHDR #4); ExpandNet's and
#: HDRCNN's sources state no settings, so their presets use the same.
VDP_BT709_30PPD = {"hdrvdp2": {"color_encoding": "rgb-bt.709", "ppd": 30.0, "scale": 1.0}}


@dataclass(frozen=True)
class LiteratureProtocol(Protocol):
    """A protocol transcribed from a paper's code or its authors' words.

    ``source``: where the rule is stated (repository, path, commit, or issue thread). Subclasses override
    :meth:`prepare` and :meth:`rule` (the fields that determine the prepared values: they feed the scores' digest
    through :meth:`preparation`) and :meth:`preparation_words` (the preparation in a caption's words).
    """

    source: str = ""

    def rule(self) -> dict[str, Any]:
        """The values that determine :meth:`prepare`'s output, beyond the base protocol's."""
        return {}

    def preparation(self) -> dict[str, Any]:
        return {**super().preparation(), **self.rule()}

    def preparation_words(self) -> str:
        """The preparation in words for a caption (the base wording would say "values as given")."""
        return self.summary.split(":", 1)[0]

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "preparation": self.preparation(), "source": self.source}

    def with_options(self, **options: Any) -> Protocol:
        """Refused: a literature preset fixes its own scaling and clipping as its source does (a declared white or
        clip would be silently ignored, or would change what the source computes)."""
        if not options:
            return self
        raise HDRBenchError(f"protocol '{self.name}' fixes its own preparation ({self.preparation_words()}) as its "
                            f"source does; option(s) {', '.join(options)} do not apply to it")


def affine(x: torch.Tensor, src_lo: torch.Tensor, src_hi: torch.Tensor, dst_lo: torch.Tensor | float,
           dst_hi: torch.Tensor | float, eps: float = 0.0) -> torch.Tensor:
    """``(x - src_lo)·(dst_hi - dst_lo)/(src_hi - src_lo + eps) + dst_lo`` per image, evaluated in float64 in that
    order (as the MATLAB/numpy sources write it), returned in ``x``'s dtype. ``src_*``, ``dst_*``: ``(N,)`` or
    scalars."""
    n = x.shape[0]

    def col(v: torch.Tensor | float) -> torch.Tensor:
        return torch.as_tensor(v, dtype=torch.float64, device=x.device).reshape(-1, 1, 1, 1).expand(n, 1, 1, 1)

    lo, hi, a, b = col(src_lo), col(src_hi), col(dst_lo), col(dst_hi)
    return ((x.double() - lo) * (b - a) / (hi - lo + eps) + a).to(x.dtype)


def per_image(x: torch.Tensor) -> torch.Tensor:
    """``x`` ``(N, ...)`` as ``(N, numel)``, float64."""
    return x.reshape(x.shape[0], -1).double()
