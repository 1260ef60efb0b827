"""The display model: how relative linear HDR becomes absolute luminance (cd/m²) on an HDR display.

One named choice, used by every HDR display file hdrbench writes (:mod:`hdrbench.display.formats`) and recorded
in each of them. Its anchors are the scoring protocols' display model
(:func:`hdrbench.metrics.transforms.to_absolute`, anchors ``gt-max`` and ``absolute``, used by the ``pq-*`` and
PU21 metrics) and its defaults are :data:`hdrbench.defaults.REFERENCE_WHITE_NITS` (203 cd/m², ITU-R BT.2408's HDR
reference white) and :data:`hdrbench.defaults.DISPLAY_PEAK_NITS` (1000 cd/m², BT.2408's HDR10 mastering peak).

``anchor``:

* ``white`` (default): ``white``, the relative value of the LDR's white (the dataset's saturation level where the
  dataset declares its camera, else given; default 1), is shown at ``reference_white`` cd/m²:
  factor = reference_white / white (``to_absolute``'s ``absolute`` anchor with that scale). A method that keeps the
  LDR's scale shows diffuse white as BT.2408 puts it and its reconstructed highlights above it.
* ``max``: the image's maximum (the ground truth's when a reference is given, so that a prediction and its ground
  truth share one factor) is shown at the display peak: factor = peak / max (``to_absolute``'s ``gt-max``).
* ``absolute``: the values times ``scale`` are cd/m² already: factor = scale.

Above the display peak nothing is rolled off: values are clipped to ``peak`` (and negative values to 0), and the
fraction of clipped pixels is recorded with the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from hdrbench.defaults import DISPLAY_PEAK_NITS, REFERENCE_WHITE_NITS
from hdrbench.errors import HDRBenchError, check_known

#: The anchors of :class:`DisplayModel` (see the module docstring).
ANCHORS = ("white", "max", "absolute")
#: The keys of a display model given as options (``--display KEY=VALUE``, ``[plot] hdr_display``).
KEYS = ("anchor", "white", "scale", "reference_white", "peak")
#: The keys only one anchor reads (the others read ``reference_white`` and ``peak``, which every anchor uses).
ANCHOR_KEYS = {"white": "white", "scale": "absolute"}
#: SMPTE ST 2084's ceiling: no display peak above it can be signalled in PQ.
PQ_CEILING_NITS = 10000.0
#: What happens to values above the display peak (recorded in every file).
ABOVE_PEAK = "clipped to the peak (no roll-off)"


@dataclass(frozen=True)
class DisplayModel:
    """Relative linear HDR → absolute luminance: ``nits = clip(value · factor, 0, peak)`` (module docstring)."""

    anchor: str = "white"
    white: float = 1.0
    scale: float = 1.0
    reference_white: float = REFERENCE_WHITE_NITS
    peak: float = DISPLAY_PEAK_NITS

    def __post_init__(self) -> None:
        if self.anchor not in ANCHORS:
            check_known([self.anchor], ANCHORS, "display model: anchor")
        for key in ("white", "scale", "reference_white", "peak"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise HDRBenchError(f"display model: {key}={value!r} must be a finite number > 0")
        if self.peak > PQ_CEILING_NITS:
            raise HDRBenchError(f"display model: peak={self.peak:g} cd/m² exceeds PQ's {PQ_CEILING_NITS:g}; give "
                                "peak <= 10000")
        if self.reference_white > self.peak:
            raise HDRBenchError(f"display model: reference_white={self.reference_white:g} cd/m² lies above the "
                                f"peak {self.peak:g}; give a peak >= the reference white (e.g. peak=1000)")

    @classmethod
    def from_options(cls, options: dict[str, Any], where: str = "display model",
                     white: float | None = None) -> DisplayModel:
        """A model from ``{key: value}`` (:data:`KEYS`; unknown keys, keys the anchor does not read
        (:data:`ANCHOR_KEYS`) and bad values: one-line errors naming ``where``); ``white`` is the default LDR white
        (the dataset's saturation), an explicit ``white`` wins."""
        check_known(options, KEYS, f"{where}: key")
        anchor = options.get("anchor", cls.anchor)
        for key, owner in ANCHOR_KEYS.items():
            if key in options and anchor in ANCHORS and anchor != owner:
                raise HDRBenchError(f"{where}: {key}={options[key]!r} applies to anchor '{owner}' only, not to anchor "
                                    f"'{anchor}'; drop it or give anchor={owner}")
        values: dict[str, Any] = {} if white is None else {"white": float(white)}
        values.update(options)
        try:
            return cls(**values)
        except HDRBenchError as exc:
            raise HDRBenchError(f"{where}: {exc.message.removeprefix('display model: ')}") from None

    def factor(self, hdr: np.ndarray, reference: np.ndarray | None = None) -> float:
        """cd/m² per relative unit for ``hdr`` (H, W, 3), shown beside ``reference`` (its ground truth, which sets
        the ``max`` anchor; default: ``hdr`` itself), through :func:`~hdrbench.metrics.transforms.to_absolute`."""
        import torch

        from hdrbench.metrics.transforms import to_absolute

        ref = np.asarray(hdr if reference is None else reference, dtype=np.float64)
        if not np.isfinite(ref).all():
            raise HDRBenchError("display model: the image has NaN/inf values; no display factor can be taken")
        unit = torch.ones((1, 1, 1, 1), dtype=torch.float64)
        gt = torch.from_numpy(ref.reshape(1, 1, -1, 1))
        if self.anchor == "max":
            if not float(ref.max(initial=0.0)) > 0:
                raise HDRBenchError("display model: anchor 'max' needs an image brighter than 0 (it is all black)")
            f, _ = to_absolute(unit, gt, "gt-max", self.peak, 1.0)
        else:
            scale = self.scale if self.anchor == "absolute" else self.reference_white / self.white
            f, _ = to_absolute(unit, gt, "absolute", self.peak, scale)
        return float(f)

    def to_nits(self, hdr: np.ndarray, reference: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """``(nits, record)``: ``hdr`` (H, W, 3) relative linear → float64 cd/m² in ``[0, peak]`` (same primaries),
        and :meth:`record` with the factor applied and the fraction of pixels clipped at the peak."""
        img = np.asarray(hdr, dtype=np.float64)
        if img.ndim != 3 or img.shape[2] != 3:
            raise HDRBenchError(f"display model: expected an (H, W, 3) image, got shape {img.shape}")
        if not np.isfinite(img).all():
            raise HDRBenchError("display model: the image has NaN/inf values; repair the prediction first")
        f = self.factor(img, reference)
        nits = img * f
        clipped = float((nits > self.peak).any(axis=-1).mean())
        return np.clip(nits, 0.0, self.peak), self.record(f, clipped)

    def record(self, factor: float, clipped_fraction: float) -> dict[str, Any]:
        """What a file records about the model: anchor, its parameter, reference white, peak, factor, clipping."""
        out: dict[str, Any] = {"anchor": self.anchor}
        if self.anchor == "white":
            out["white"] = self.white
        elif self.anchor == "absolute":
            out["scale"] = self.scale
        return {**out, "reference_white_nits": self.reference_white, "peak_nits": self.peak,
                "factor_nits_per_unit": factor, "above_peak": ABOVE_PEAK, "clipped_fraction": clipped_fraction}

    def describe(self) -> str:
        """One line for users: what maps where, and what happens above the peak."""
        what = {"white": f"relative {self.white:g} (the LDR's white) -> {self.reference_white:g} cd/m²",
                "max": f"the image's (or its ground truth's) maximum -> {self.peak:g} cd/m²",
                "absolute": f"values x {self.scale:g} = cd/m²"}[self.anchor]
        return f"display model '{self.anchor}': {what}; peak {self.peak:g} cd/m², above it {ABOVE_PEAK}"


def parse_display(items: tuple[str, ...] | list[str], flag: str = "--display") -> dict[str, Any]:
    """``("key=value", ...)`` of ``--display`` → ``{key: value}`` (:func:`hdrbench.keyvalue.parse_key_values`); a
    key given twice is a one-line error (not the last one silently winning)."""
    from hdrbench.keyvalue import parse_key_values

    seen: dict[str, str] = {}
    for item in items:
        key = item.partition("=")[0].strip()
        if key and key in seen:
            raise HDRBenchError(f"{flag}: key '{key}' is given twice ('{seen[key]}', '{item}'); give it once")
        seen[key] = item
    return parse_key_values(items, flag, "anchor=max")


def dataset_white(dataset: Any, test_set: str | None = None) -> float | None:
    """The relative value of the LDR's white in ``dataset``'s HDR units: its declared saturation level of
    ``test_set`` (:meth:`hdrbench.datasets.base.PairedDataset.ldr_camera`), or None where it declares none."""
    import inspect

    reader = getattr(dataset, "ldr_camera", None)
    if reader is None:
        return None
    per_set = "test_set" in inspect.signature(reader).parameters  # (older readers take none)
    camera = reader(test_set) if per_set and test_set is not None else reader()
    return None if camera is None else float(camera.saturation)
