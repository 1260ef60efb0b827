"""The expansion operators as registered, untrained methods: one :class:`ExpansionOperator` subclass per operator.

Each binds to the dataset's LDR camera as ``identity`` does (:class:`baselines.identity.Identity`, whose options
``gamma`` and ``scale`` and whose ``bind_dataset`` they inherit) and puts the operator's cd/m² output in the
ground truth's units: ``hdr = scale · EO_nits / REFERENCE_WHITE_NITS`` (see :mod:`baselines.expansion`).
Input ``(N, 3, H, W)`` display-referred ``[0, 1]``; output ``(N, 3, H, W)`` linear HDR, float32, >= 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from baselines.expansion import core
from baselines.identity import Identity
from hdrbench.datasets.camera import CameraResponse
from hdrbench.defaults import REFERENCE_WHITE_NITS
from hdrbench.errors import HDRBenchError
from hdrbench.method import Recipe

TOOLBOX = "HDR Toolbox 5375d05"
#: The largest ``max_output`` (``display_max``) accepted, cd/m²: ten times PQ's ceiling (SMPTE ST 2084, 10000 cd/m²).
MAX_OUTPUT_LIMIT = 1e5


class Expand(nn.Module):
    """``scale / REFERENCE_WHITE_NITS ·`` a numpy expansion operator, image by image in float64 on the CPU."""

    def __init__(self, name: str, operator: Callable[..., np.ndarray], params: Mapping[str, Any],
                 response: CameraResponse, scale: float):
        super().__init__()
        self.operator_name, self.operator, self.params = name, operator, dict(params)
        self.response, self.scale = response, float(scale)

    def forward(self, ldr: torch.Tensor) -> torch.Tensor:
        """``ldr`` ``(N, 3, H, W)`` in [0, 1] → ``(N, 3, H, W)`` linear HDR in the ground truth's units."""
        images = core.exact_codes(ldr.detach().double().cpu().permute(0, 2, 3, 1).numpy())
        nits = np.stack([self.operator(im, response=self.response, **self.params) for im in images])
        out = torch.from_numpy(nits * (self.scale / REFERENCE_WHITE_NITS)).permute(0, 3, 1, 2)
        return out.to(device=ldr.device, dtype=ldr.dtype)

    def extra_repr(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return (f"{self.operator_name}({params}), response={self.response.kind}, gamma={self.response.gamma}, "
                f"scale={self.scale!r}, reference_white={REFERENCE_WHITE_NITS!r}")


class ExpansionOperator(Identity):
    """An HDR Toolbox expansion operator bound to the dataset's camera; subclasses name the operator and its
    defaults (``operator_options``, the toolbox's), merged after identity's ``gamma`` and ``scale``."""

    operator: ClassVar[str] = ""
    operator_options: ClassVar[Mapping[str, Any]] = {}
    #: Numeric options that may be 0 (the others must be > 0).
    may_be_zero: ClassVar[tuple[str, ...]] = ()
    #: Options in cd/m² that set the output's peak (at most :data:`MAX_OUTPUT_LIMIT`).
    peak_options: ClassVar[tuple[str, ...]] = ("max_output",)
    recipe = Recipe(iterations=0, source=f"nothing to train: {TOOLBOX} defaults")
    trainable = False
    receptive_margin = 0
    global_context = True  # min/max/mean/key of the whole image, bilateral grids anchored at its corner
    tileable = False  # so tiled inference runs it whole (tiles would each get their own statistics)
    output_convention = ("linear HDR RGB, >= 0: scale · EO cd/m² / REFERENCE_WHITE_NITS (the ground truth's units "
                         "when the dataset declares its camera)")
    #: Why its output is brighter than the ground truth by design (the evaluation says it once per method).
    units_note = ("hdr = scale · EO cd/m² / 203: the LDR's white at 203 cd/m², the operator's output up to its "
                  "max_output, 5000 cd/m² by default, 24.6x that white; its scores measure this brightening too, "
                  "docs/methods.md")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.default_options = {**Identity.default_options, **cls.operator_options}

    def __post_init__(self) -> None:
        super().__post_init__()
        for key, default in self.operator_options.items():
            value = self.options[key]
            if isinstance(default, bool) and not isinstance(value, bool):
                raise HDRBenchError(f"method '{self.name}': option {key}={value!r} must be true or false")
            if not isinstance(default, float):
                continue
            number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            if not number or not (value > 0 or (key in self.may_be_zero and value == 0)):
                rule = ">= 0" if key in self.may_be_zero else "> 0"
                raise HDRBenchError(f"method '{self.name}': option {key}={value!r} must be a finite number {rule}")
            if key in self.peak_options and value > MAX_OUTPUT_LIMIT:
                raise HDRBenchError(f"method '{self.name}': option {key}={value:g} cd/m² is above "
                                    f"{MAX_OUTPUT_LIMIT:g} cd/m² (10x PQ's 10000 cd/m² ceiling: no display shows it); "
                                    f"give a display peak, e.g. {key}={core.MAX_OUTPUT:g}")
        self.check_options()

    def check_options(self) -> None:
        """Relations between the operator's options (one-line errors); each operator adds its own."""

    def operator_params(self) -> dict[str, Any]:
        """The operator's own options (everything but ``gamma`` and ``scale``), as floats where numeric."""
        return {k: float(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
                for k, v in self.options.items() if k in self.operator_options}

    def build_network(self) -> nn.Module:
        return Expand(self.name, core.OPERATORS[self.operator], self.operator_params(), *self.response_and_scale())

    def build_loss(self) -> nn.Module:
        raise HDRBenchError(f"method '{self.name}' has nothing to train (a fixed expansion operator)")


class Akyuz(ExpansionOperator):
    """Akyüz et al. 2007: the luminance stretched linearly (``a_gamma`` 1) to ``max_output``."""

    operator = "akyuz"
    citation = ("A. O. Akyüz, R. Fleming, B. E. Riecke, E. Reinhard, H. H. Bülthoff. Do HDR displays support LDR "
                "content? A psychophysical evaluation. ACM Transactions on Graphics (SIGGRAPH) 26(3), 2007")
    summary = f"expansion operator: L stretched to [0, max_output]^a_gamma (AkyuzEO.m, {TOOLBOX})"
    operator_options = {"max_output": core.MAX_OUTPUT, "a_gamma": 1.0}


class Landis(ExpansionOperator):
    """Landis 2002: a power-law boost of the pixels above a luminance threshold."""

    operator = "landis"
    citation = "H. Landis. Production-ready global illumination. SIGGRAPH 2002 Course Notes 16, 2002"
    summary = f"expansion operator: L >= threshold blended to max_output·L by a power (LandisEO.m, {TOOLBOX})"
    operator_options = {"alpha": 2.0, "threshold": 0.5, "max_output": core.MAX_OUTPUT}
    may_be_zero = ("threshold",)

    def check_options(self) -> None:
        if not self.options["threshold"] < 1:
            raise HDRBenchError(f"method '{self.name}': option threshold={self.options['threshold']!r} must lie in "
                                "[0, 1) (a linear luminance of the LDR, whose white is 1; at 1 nothing is expanded)")


class Masia(ExpansionOperator):
    """Masia et al. 2009 (regression of 2017 with ``multi_regression``): a gamma from the image's key."""

    operator = "masia"
    citation = ("B. Masia, S. Agustin, R. W. Fleming, O. Sorkine, D. Gutierrez. Evaluation of reverse tone mapping "
                "through varying exposure conditions. ACM Transactions on Graphics (SIGGRAPH Asia) 28(5), 2009; "
                "B. Masia, A. Serrano, D. Gutierrez. Dynamic range expansion based on image statistics. "
                "Multimedia Tools and Applications 76(1), 2017")
    summary = f"expansion operator: max_output·L^γ(key), bilateral base/detail (MasiaEO.m, {TOOLBOX})"
    operator_options = {"max_output": core.MAX_OUTPUT, "noise": True, "multi_regression": False}


class Huo(ExpansionOperator):
    """Huo et al. 2014: a retina-response (Naka-Rushton-like) expansion with a bilateral local adaptation."""

    operator = "huo"
    citation = ("Y. Huo, F. Yang, L. Dong, V. Brost. Physiological inverse tone mapping based on retina response. "
                "The Visual Computer 30(5), 2014")
    summary = f"expansion operator: (L/Lmax)·(L_s^n + σ^n)^(1/n) (HuoPhysEO.m, {TOOLBOX})"
    operator_options = {"max_output": core.MAX_OUTPUT, "n": 0.86}


class KovaleskiOliveira(ExpansionOperator):
    """Kovaleski & Oliveira 2014: a linear stretch to the display, boosted by a bilateral-filtered saturation map."""

    operator = "kovaleski-oliveira"
    citation = ("R. P. Kovaleski, M. M. Oliveira. High-quality reverse tone mapping for a wide range of exposures. "
                "27th SIBGRAPI Conference on Graphics, Patterns and Images, 2014")
    summary = f"expansion operator: display stretch × (3·BF(saturated) + 1)/4 (KovaleskiOliveiraEO.m, {TOOLBOX})"
    operator_options = {"content": "image", "sigma_s": 150.0, "sigma_r": 25 / 255, "display_min": 0.3,
                        "display_max": 1200.0}
    may_be_zero = ("display_min",)
    peak_options = ("display_max",)

    def check_options(self) -> None:
        if self.options["content"] not in core.KO_THRESHOLDS:
            raise HDRBenchError(f"method '{self.name}': option content={self.options['content']!r} must be "
                                f"one of {', '.join(core.KO_THRESHOLDS)}")
        low, high = self.options["display_min"], self.options["display_max"]
        if not low < high:
            raise HDRBenchError(f"method '{self.name}': option display_min={low!r} must be below display_max={high!r} "
                                "(cd/m² of the display's black and white)")
