"""A virtual camera: turn a linear HDR image into the 8-bit LDR photograph a camera would take.

Pipeline (every step seeded and recorded in :attr:`Capture.meta`):

1. **exposure**: multiply the scene-linear HDR by a gain ``s``. ``exposure="clip"`` chooses ``s`` so that
   ``clip_fraction`` of the pixels saturate (a pixel is *clipped* when any channel reaches 255 in the 8-bit
   output); ``exposure="ev"`` uses ``s = 2**ev`` (times ``0.5 / mean(hdr)`` with ``ev_anchor="mean"``, the
   SingleHDR/HDR-Synth convention); ``capture(..., offset_ev=k)`` then takes the LDR at ``s * 2**k`` (the
   exposure sweep) while the returned exposed image stays ``s * hdr``;
2. optional sensor **noise** in the exposed linear domain, ``sigma(x) = sqrt(read_noise**2 + shot_noise**2 * x)``;
3. **clipping** to ``[0, 1]`` (1 = sensor saturation);
4. a **camera response** ``f``: ``"gamma"`` (``x ** (1 / gamma)``), ``"srgb"`` (IEC 61966-2-1), ``"linear"``, or a
   curve file (a bundled name such as ``"sigmoid"`` from ``hdrbench/datasets/camera_curves/``, or a CSV path
   with columns ``irradiance,value`` on ``[0, 1]``, monotone, interpolated linearly);
5. **8-bit quantisation** ``round(255 f(x))`` and optional **JPEG** compression (OpenCV, ``jpeg_quality``).

The exposed linear image ``x = s * hdr`` (1.0 = the LDR's saturation point) is returned too: datasets use it
as the ground truth (as float, or clipped at a sensor headroom and quantised to 16 bits).
"""

from __future__ import annotations

import dataclasses
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from hdrbench.checks import check_fields
from hdrbench.errors import HDRBenchError
from hdrbench.io import opencv

cv2 = opencv()  # OpenCV with its OpenEXR codec enabled

CURVES_DIR = Path(__file__).with_name("camera_curves")
#: An 8-bit value of 255 is produced by any linear input whose encoded value rounds up from 254.5 / 255.
_SATURATION_CODE = 254.5 / 255.0


@lru_cache(maxsize=16)
def _load_curve(name: str) -> tuple[np.ndarray, np.ndarray]:
    path = CURVES_DIR / f"{name}.csv" if (CURVES_DIR / f"{name}.csv").is_file() else Path(name)
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in CURVES_DIR.glob("*.csv")))
        raise HDRBenchError(f"camera response '{name}' is neither gamma/srgb/linear, a bundled curve ({known}) "
                            f"nor an existing CSV file")
    import pandas as pd

    try:
        table = pd.read_csv(path, comment="#")
        x = table["irradiance"].to_numpy(np.float64)
        y = table["value"].to_numpy(np.float64)
    except (KeyError, ValueError, pd.errors.ParserError) as exc:
        raise HDRBenchError(f"not a camera-curve CSV with columns irradiance,value ({exc})", path) from None
    if len(x) < 2 or np.any(np.diff(x) <= 0) or np.any(np.diff(y) < 0) or x[0] > 0 or x[-1] < 1:
        raise HDRBenchError("camera curve must be increasing and cover irradiance 0..1", path)
    return x, y


@dataclass(frozen=True)
class CameraResponse:
    """A monotone camera response ``f: [0, 1] linear -> [0, 1] display-referred`` and its inverse."""

    kind: str = "gamma"
    gamma: float = 2.2

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.clip(x, 0.0, 1.0)
        if self.kind == "gamma":
            return x ** (1.0 / self.gamma)
        if self.kind == "linear":
            return x
        if self.kind == "srgb":
            return np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055)
        cx, cy = _load_curve(self.kind)
        return np.interp(x, cx, cy)

    def inverse(self, v: float | np.ndarray) -> np.ndarray:
        """Linear irradiance whose encoded value is ``v`` (``[0, 1]``)."""
        v = np.clip(np.asarray(v, dtype=np.float64), 0.0, 1.0)
        if self.kind == "gamma":
            return v**self.gamma
        if self.kind == "linear":
            return v
        if self.kind == "srgb":
            return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
        cx, cy = _load_curve(self.kind)
        return np.interp(v, cy, cx)


@dataclass(frozen=True)
class Capture:
    """One virtual photograph.

    ``ldr``: ``(H, W, 3)`` uint8 display-referred; ``exposed``: ``(H, W, 3)`` float32 linear, ``s * hdr`` with
    1.0 at the LDR's saturation point (not clipped); ``meta``: every parameter and the achieved clip fraction.
    """

    ldr: np.ndarray
    exposed: np.ndarray
    meta: dict[str, Any]


def clipped_fraction(ldr: np.ndarray) -> float:
    """Fraction of pixels of an 8-bit ``(H, W, 3)`` image with at least one channel at 255."""
    return float(np.mean(np.asarray(ldr).max(axis=-1) == 255))


def image_seed(seed: int, image_id: str) -> np.random.Generator:
    """A generator that depends only on ``seed`` and the image id (stable across runs and machines)."""
    return np.random.default_rng([int(seed), zlib.crc32(image_id.encode("utf-8"))])


@dataclass(frozen=True)
class VirtualCamera:
    """The HDR → LDR camera model (see the module docstring). All fields are recorded per image."""

    exposure: str = "clip"  # "clip" (target clipped fraction) or "ev" (fixed exposure value)
    clip_fraction: float = 0.05
    ev: float = 0.0
    ev_anchor: str = "none"  # "none": s = 2**ev; "mean": s = 2**ev * 0.5 / mean(hdr)
    response: str = "gamma"  # gamma | srgb | linear | a bundled curve name | a CSV path
    gamma: float = 2.2
    read_noise: float = 0.0
    shot_noise: float = 0.0
    jpeg_quality: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        check_fields(self, "camera")
        if self.seed < 0:
            raise HDRBenchError(f"camera seed={self.seed} must be >= 0")
        if self.exposure not in ("clip", "ev"):
            raise HDRBenchError(f"camera exposure '{self.exposure}' unknown (use 'clip' or 'ev')")
        if self.ev_anchor not in ("none", "mean"):
            raise HDRBenchError(f"camera ev_anchor '{self.ev_anchor}' unknown (use 'none' or 'mean')")
        if not 0.0 <= self.clip_fraction < 1.0:
            raise HDRBenchError(f"camera clip_fraction must be in [0, 1), got {self.clip_fraction}")
        if self.jpeg_quality is not None and not 1 <= int(self.jpeg_quality) <= 100:
            raise HDRBenchError(f"camera jpeg_quality must be 1..100, got {self.jpeg_quality}")
        if self.read_noise < 0 or self.shot_noise < 0 or self.gamma <= 0:
            raise HDRBenchError("camera read_noise/shot_noise must be >= 0 and gamma > 0")
        self.crf(np.zeros(1))  # validate the response early (a missing curve file fails here)

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> VirtualCamera:
        """Build from a dict, ignoring keys that are not camera fields (e.g. a dataset's options)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in options.items() if k in names})

    @property
    def crf(self) -> CameraResponse:
        return CameraResponse(self.response, self.gamma)

    def gain(self, hdr: np.ndarray) -> float:
        """The exposure gain ``s`` for this (non-negative, linear) HDR image."""
        if self.exposure == "ev":
            base = 1.0
            if self.ev_anchor == "mean":
                mean = float(np.mean(hdr))
                base = 0.5 / mean if mean > 0 else 1.0
            return float(base * 2.0**self.ev)
        peak = hdr.max(axis=-1)
        ref = float(np.quantile(peak, 1.0 - self.clip_fraction)) if self.clip_fraction > 0 else float(peak.max())
        if ref <= 0:
            ref = float(peak.max()) or 1.0
        # the exposed value at which the 8-bit code rounds to 255
        return float(self.crf.inverse(_SATURATION_CODE)) / ref

    def capture(self, hdr: np.ndarray, image_id: str = "", offset_ev: float = 0.0) -> Capture:
        """Photograph ``hdr`` (``(H, W, 3)`` linear, any scale; NaN/negatives are zeroed first).

        ``offset_ev``: the LDR is taken that many stops brighter than the exposure rule's gain ``s`` (the
        exposure sweep, :mod:`hdrbench.datasets.sweep`) while ``exposed`` stays ``s * hdr``; at ``+k`` the LDR
        saturates at ``exposed = 2**-k``. 0 is the plain photograph, bit for bit.
        """
        hdr = np.maximum(np.nan_to_num(np.asarray(hdr, dtype=np.float32), nan=0.0, posinf=0.0), 0.0)
        if hdr.ndim != 3 or hdr.shape[2] != 3:
            raise HDRBenchError(f"virtual camera: expected an (H, W, 3) HDR image, got shape {hdr.shape}")
        s = self.gain(hdr)
        exposed = (hdr * np.float32(s)).astype(np.float32)
        sensor = exposed.astype(np.float64)
        if offset_ev:
            sensor = sensor * 2.0 ** float(offset_ev)  # a power of two: exact in float64
        rng = image_seed(self.seed, image_id)
        if self.read_noise > 0 or self.shot_noise > 0:
            sigma = np.sqrt(self.read_noise**2 + self.shot_noise**2 * np.clip(sensor, 0.0, 1.0))
            sensor = sensor + sigma * rng.standard_normal(sensor.shape)
        ldr = np.round(self.crf(np.clip(sensor, 0.0, 1.0)) * 255.0).astype(np.uint8)
        if self.jpeg_quality is not None:
            ok, buf = cv2.imencode(".jpg", ldr[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(self.jpeg_quality)])
            if not ok:
                raise HDRBenchError("virtual camera: JPEG encoding failed")
            ldr = np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])
        meta = {**dataclasses.asdict(self), "id": image_id, "gain": s, "ev_applied": float(np.log2(s)),
                "clip_fraction_achieved": clipped_fraction(ldr)}
        if offset_ev:  # the plain photograph's record is unchanged (its pairs' digests too)
            meta.update(offset_ev=float(offset_ev), ldr_gain=s * 2.0 ** float(offset_ev))
        return Capture(ldr=ldr, exposed=exposed, meta=meta)
