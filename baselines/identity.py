"""``identity``: the reference row that does nothing — the LDR input linearised and put at the HDR scale.

``hdr = scale · response⁻¹(ldr)``: the camera response undone, the LDR's saturation point placed where the
ground truth puts it. No parameters, no training. Every table should show it: a method is worth what it adds
to this row (a network that scores below it has learnt less than the camera's own curve).

Where the benchmark's dataset declares its LDR camera (:meth:`hdrbench.datasets.base.PairedDataset.ldr_camera`:
the ``demo`` set, every virtual-camera dataset) the response and saturation level are the dataset's; for the
others (Cityscapes, folders of real pairs) the options ``gamma`` (default 2.2) and ``scale`` (default 1) say
them. An option given explicitly wins over the dataset's declaration.

On an exposure sweep (dataset option ``exposures``: test sets ``test@+kEV``, the LDR ``k`` stops brighter, the same
ground truth) the saturation level is the test set's, ``saturation / 2**k``: bind the method per test set
(``bind_dataset(dataset, test_set)``, then :meth:`Identity.build_network`). Bound without a test set to a dataset
whose cameras differ by test set, it uses the unswept camera (``+0EV``) and warns: its rows at ``+k`` are then
``2**k`` too bright.

Input ``(N, 3, H, W)`` display-referred ``[0, 1]``; output ``(N, 3, H, W)`` linear HDR in ``[0, scale]``.
"""

from __future__ import annotations

import inspect
import math
import warnings
from typing import Any

import torch
from torch import nn

from hdrbench.datasets.base import PairedDataset
from hdrbench.datasets.camera import CameraResponse
from hdrbench.errors import HDRBenchError, HDRBenchWarning
from hdrbench.method import Method, Recipe

DEFAULT_GAMMA = 2.2
DEFAULT_SCALE = 1.0


class InverseResponse(nn.Module):
    """``scale · response.inverse(ldr)`` (the response's own inverse, evaluated in float64 on the CPU)."""

    def __init__(self, response: CameraResponse, scale: float):
        super().__init__()
        self.response = response
        self.scale = float(scale)

    def forward(self, ldr: torch.Tensor) -> torch.Tensor:
        linear = self.response.inverse(ldr.detach().double().cpu().numpy())
        return (torch.from_numpy(linear) * self.scale).to(device=ldr.device, dtype=ldr.dtype)

    def extra_repr(self) -> str:
        return f"response={self.response.kind}, gamma={self.response.gamma}, scale={self.scale!r}"


class Identity(Method):
    """The LDR linearised with the dataset's declared camera (or ``gamma``) and placed at ``scale``."""

    citation = "No method: the input, linearised (reference row)"
    summary = "does nothing: scale · response⁻¹(LDR), the dataset's camera when it declares one"
    default_options: dict[str, Any] = {"gamma": None, "scale": None}
    recipe = Recipe(iterations=0, source="nothing to train")
    trainable = False
    receptive_margin = 0
    output_convention = "linear HDR RGB in [0, scale] (the ground truth's units when the dataset declares its camera)"

    def __post_init__(self) -> None:
        super().__post_init__()
        for key in ("gamma", "scale"):
            value = self.options[key]
            if value is not None and not (isinstance(value, int | float) and not isinstance(value, bool)
                                          and math.isfinite(value) and value > 0):
                raise HDRBenchError(f"method '{self.name}': option {key}={value!r} must be a number > 0 (or unset)")
        self.declared: tuple[CameraResponse, float] | None = None

    def bind_dataset(self, dataset: PairedDataset, test_set: str | None = None) -> None:
        """Use ``dataset``'s declared LDR camera of ``test_set`` (``None``: the dataset's own) for the options left
        unset; warns when bound without a test set to a dataset whose test sets' cameras differ (a sweep)."""
        per_set = "test_set" in inspect.signature(dataset.ldr_camera).parameters  # (older readers take none)
        camera = dataset.ldr_camera(test_set) if test_set is not None and per_set else dataset.ldr_camera()
        self.declared = (camera.response, camera.saturation) if camera is not None else None
        if test_set is None and per_set and camera is not None and self.options["scale"] is None:
            levels = {ts: dataset.ldr_camera(ts) for ts in dataset.test_sets}
            differ = sorted(ts for ts, c in levels.items() if c is not None and c.saturation != camera.saturation)
            if differ:
                warnings.warn(f"hdrbench: {self.name} bound to dataset '{dataset.name}' without a test set, but the "
                              f"LDR of {', '.join(differ)} saturates elsewhere (an exposure sweep): it linearises "
                              "every test set at the unswept level; bind it per test set "
                              "(bind_dataset(dataset, test_set))",
                              HDRBenchWarning, stacklevel=2)

    def response_and_scale(self) -> tuple[CameraResponse, float]:
        """The camera response and saturation level in use (options, else the dataset's, else 2.2 and 1)."""
        response, scale = self.declared or (CameraResponse("gamma", DEFAULT_GAMMA), DEFAULT_SCALE)
        if self.options["gamma"] is not None:
            response = CameraResponse("gamma", float(self.options["gamma"]))
        if self.options["scale"] is not None:
            scale = float(self.options["scale"])
        return response, scale

    def build_network(self) -> nn.Module:
        return InverseResponse(*self.response_and_scale())

    def build_loss(self) -> nn.Module:
        raise HDRBenchError(f"method '{self.name}' has nothing to train (it is the input, linearised)")

