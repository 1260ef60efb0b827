"""ColorVideoVDP (Mantiuk et al. 2024) through the ``cvvdp`` package (PyPI ``cvvdp``, runs offline).

Result: JOD per image (10 = identical, lower = worse). The display model ``display`` (from cvvdp's
``display_models.json``) fixes the viewing geometry (its pixels per degree) and the peak luminance; the
default ``standard_hdr_linear`` (30" 4K HDR monitor, 1500 cd/m², BT.709 linear input) takes absolute
cd/m², so the relative linear inputs are anchored as for PU21: ground-truth maximum → ``peak_luminance``.
"""

from __future__ import annotations

import contextlib
import io
import logging
from typing import Any, ClassVar

import torch

from hdrbench.errors import HDRBenchError
from hdrbench.metrics.base import Metric
from hdrbench.metrics.transforms import ANCHORS, absolute_from_params


class ColorVideoVDP(Metric):
    """ColorVideoVDP JOD (``cvvdp`` package) on images anchored to absolute luminance; higher is better."""

    lower_better: ClassVar[bool] = False
    domain: ClassVar[str] = "absolute"
    default_params: ClassVar[dict[str, Any]] = {"display": "standard_hdr_linear", "anchor": "gt-max",
                                                "peak_luminance": 1500.0, "scale": 1.0}

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.check_choice("anchor", ANCHORS)
        self._model: Any = None
        self._device: torch.device | None = None

    def _load(self, device: torch.device) -> Any:
        if self._model is None or self._device != device:
            try:
                logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
                import pycvvdp
            except ImportError:
                raise HDRBenchError("metric 'cvvdp' needs the cvvdp package: pip install cvvdp") from None
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    self._model = pycvvdp.cvvdp(display_name=self.params["display"], device=device, quiet=True)
            except Exception as exc:  # cvvdp raises plain exceptions for unknown displays
                raise HDRBenchError(f"metric 'cvvdp': cannot create display '{self.params['display']}' ({exc}); "
                                    "see cvvdp's display_models.json for the names") from None
            self._device = device
        return self._model

    def compute(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        model = self._load(pred.device)
        pred, gt = absolute_from_params(pred, gt, self.params)
        # a display shows at most its peak: brighter values (a prediction far above the ground truth's range) are
        # shown at the peak, as they would be, instead of overflowing cvvdp's masking model (NaN/inf)
        peak = float(self.params["peak_luminance"])
        pred, gt = pred.float().clamp(0, peak), gt.float().clamp(0, peak)  # cvvdp takes float32
        out = []
        with contextlib.redirect_stdout(io.StringIO()):
            for t, r in zip(pred, gt):
                jod, _ = model.predict(t, r, dim_order="CHW")
                out.append(float(jod))
        return torch.tensor(out, dtype=torch.float64)
