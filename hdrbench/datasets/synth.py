"""Datasets whose LDR inputs are made by the virtual camera, written once to a cache folder.

A :class:`SynthesizedPairs` subclass lists *scenes* per split (an id, a function returning the linear HDR
image, a signature that changes when the source changes). On first use of a split the virtual camera
(:mod:`hdrbench.datasets.camera`) photographs every scene and the pairs are written to
``{cache}/{dataset}-{split}-{hash}/`` as::

    ldr/{id}.png          8-bit LDR (what a method gets)
    hdr/{id}.exr|.png     ground truth: see ``hdr_headroom`` below
    manifest.csv, .json   one row per pair: id, files, size, every camera parameter, the achieved clip fraction

The hash covers the camera options and the scene signatures, so changing either makes a new folder; the
folder is built under a temporary name and renamed, so parallel processes never see half a set.

Exposure sweep (option ``exposures``, :mod:`hdrbench.datasets.sweep`): test set ``T@+kEV`` is ``T`` with the
LDR taken ``k`` stops brighter and the same ground truth, in ``{cache}/{dataset}-T@+kEV-{hash}/`` (``+0EV``
reads ``T``'s own folder).

Ground truth (option ``hdr_headroom``): ``None`` → float32 EXR of the exposed linear image ``s * hdr``
(1.0 = the LDR's saturation point); a number ``k`` → ``clip(s * hdr / k, 0, 1)`` as a 16-bit PNG, i.e.
a linear sensor with ``log2(k)`` stops of headroom above the LDR's clipping point, read back as ``[0, 1]``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hdrbench.datasets.base import LDRCamera, Pair
from hdrbench.datasets.camera import VirtualCamera
from hdrbench.datasets.pairing import FilePairsDataset
from hdrbench.datasets.sweep import SEPARATOR, check_exposures, sweep_sets
from hdrbench.errors import HDRBenchError
from hdrbench.io import write_exr, write_png16, write_text

#: Virtual-camera options shared by every synthesized dataset (see VirtualCamera).
CAMERA_OPTIONS: dict[str, Any] = {
    "exposure": "clip", "clip_fraction": 0.05, "ev": 0.0, "ev_anchor": "none", "response": "gamma",
    "gamma": 2.2, "read_noise": 0.0, "shot_noise": 0.0, "jpeg_quality": None, "seed": 0,
    "hdr_headroom": None, "cache_dir": None, "exposures": None,
}


@dataclass(frozen=True)
class Scene:
    """One HDR source: ``load()`` returns ``(H, W, 3)`` float32 linear; ``camera`` overrides camera fields."""

    id: str
    load: Callable[[], np.ndarray]
    signature: str
    meta: dict[str, Any] = field(default_factory=dict)
    camera: dict[str, Any] = field(default_factory=dict)


def cache_root() -> Path:
    """Where synthesized datasets are written: ``$HDRBENCH_CACHE/datasets`` (default ``~/.cache/hdrbench``)."""
    from hdrbench.weights import cache_dir

    return cache_dir() / "datasets"


#: ``data synth`` warns when a ``hdr_headroom`` ground truth clips, on average, more than this fraction of its
#: pixels *and* more than ``GT_CLIP_WARN_RATIO`` times what the LDR clips: it then keeps little of what the LDR
#: loses. On the demo's scenes (LDR: 5 %) k = 1 clips 4.9 %, k = 2 0.9 %, k = 64 0.07 % (sun cores).
GT_CLIP_WARN = 0.01
GT_CLIP_WARN_RATIO = 0.5


def ground_truth_too_clipped(gt_clipped: float, ldr_clipped: float) -> bool:
    """Whether a ground truth clipping ``gt_clipped`` of its pixels (mean fraction) is unfit for scoring
    reconstruction of an LDR clipping ``ldr_clipped`` (see :data:`GT_CLIP_WARN`)."""
    return gt_clipped > max(GT_CLIP_WARN, GT_CLIP_WARN_RATIO * ldr_clipped)


def check_headroom(value: Any) -> float | None:
    """``hdr_headroom`` as a float (or None: float EXR ground truth); one-line error unless a number >= 1.

    ``k`` < 1 would clip the ground truth below the LDR's own saturation point (0: everything white)."""
    if value is None:
        return None
    try:
        k = float(value)
    except (TypeError, ValueError):
        k = float("nan")
    if not k >= 1.0 or not np.isfinite(k):
        raise HDRBenchError(f"option hdr_headroom={value!r}: must be a number >= 1, the ground truth's range above "
                            "the LDR's clipping point (64 = 6 stops, the demo's), or unset for float EXR ground "
                            "truth; below 1 the ground truth clips where the LDR does not (0: all white)")
    return k


def ground_truth(exposed: np.ndarray, headroom: float | None) -> np.ndarray:
    """The stored ground truth of an exposed linear image (see the module docstring)."""
    headroom = check_headroom(headroom)
    if headroom is None:
        return exposed.astype(np.float32)
    return np.clip(exposed / np.float32(headroom), 0.0, 1.0).astype(np.float32)


def write_pairs(out_dir: Path, scenes: list[Scene], camera: VirtualCamera, headroom: float | None,
                offset_ev: float = 0.0) -> list[dict]:
    """Photograph ``scenes`` (the LDR ``offset_ev`` stops brighter, the ground truth as without) and write
    ``ldr/``, ``hdr/`` and the manifest into ``out_dir`` (atomically)."""
    import pandas as pd

    tmp = out_dir.with_name(f"{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        rows = [_write_pair(tmp, scene, camera, headroom, offset_ev) for scene in scenes]
        if not rows:
            raise HDRBenchError(f"no HDR images to photograph for {out_dir.name}; check the source folder")
        write_text(tmp / "manifest.json", json.dumps(rows, indent=1, default=str))
        write_text(tmp / "manifest.csv", pd.DataFrame(rows).to_csv(index=False))
    except BaseException:  # a failed write (disk full...) or an interrupt: no half-written folder left behind
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        os.replace(tmp, out_dir)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (out_dir / "manifest.json").is_file():  # not "another process finished first": a real failure
            from hdrbench.io import write_error

            raise write_error(out_dir, exc) from None
    return rows


def _write_pair(tmp: Path, scene: Scene, camera: VirtualCamera, headroom: float | None,
                offset_ev: float = 0.0) -> dict[str, Any]:
    """Photograph one scene into ``tmp/ldr`` and ``tmp/hdr``; its manifest row."""
    from hdrbench.io import write_ldr

    cam = camera if not scene.camera else VirtualCamera(**{**_fields(camera), **scene.camera})
    src = scene.load()
    finite = np.isfinite(src)
    n_bad, n_neg = int((~finite).sum()), int((src[finite] < 0).sum())
    low = float(src[finite].min()) if finite.any() else 0.0
    shot = cam.capture(src, scene.id, offset_ev)  # zeroes NaN/inf and negatives: counted in the manifest
    ldr_path = write_ldr(tmp / "ldr" / f"{scene.id}.png", shot.ldr.astype(np.float32) / 255.0)
    gt = ground_truth(shot.exposed, headroom)
    hdr_path = (write_exr(tmp / "hdr" / f"{scene.id}.exr", gt) if headroom is None
                else write_png16(tmp / "hdr" / f"{scene.id}.png", gt))
    return {"id": scene.id, "ldr": f"ldr/{ldr_path.name}", "hdr": f"hdr/{hdr_path.name}",
            "height": int(gt.shape[0]), "width": int(gt.shape[1]), **scene.meta, **shot.meta,
            "source_negative_values": n_neg, "source_min": low, "source_nonfinite_values": n_bad,
            "hdr_peak": float(gt.max()), "hdr_headroom": headroom,
            "hdr_clipped_fraction": float(np.mean(gt.max(-1) >= 1.0)) if headroom is not None else 0.0}


def _fields(camera: VirtualCamera) -> dict[str, Any]:
    import dataclasses

    return dataclasses.asdict(camera)


def read_manifest(folder: Path) -> list[Pair]:
    """The pairs recorded in ``folder/manifest.json`` (``meta`` = the manifest row)."""
    path = folder / "manifest.json"
    try:
        rows = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise HDRBenchError(f"cannot read the pair manifest ({exc}); delete the folder to rebuild it", path) from None
    return [Pair(r["id"], folder / r["ldr"], folder / r["hdr"], r) for r in rows]


class SynthesizedPairs(FilePairsDataset):
    """Base of datasets made by the virtual camera; subclasses implement :meth:`scenes`.

    With option ``exposures`` the instance's :attr:`test_sets` are the sweep's (``test@+0EV``, …), replacing the
    class's; :meth:`pairs` still serves the plain test sets and the training split (never swept)."""

    default_options = dict(CAMERA_OPTIONS)
    option_types = {"hdr_headroom": float | None, "jpeg_quality": int | None, "cache_dir": str | os.PathLike | None}
    hdr_convention = "linear; 1.0 = the LDR's saturation point (float EXR), or [0, 1] 16-bit with hdr_headroom"

    def __init__(self, root=None, **options):
        super().__init__(root, **options)
        check_headroom(self.options["hdr_headroom"])  # before any photograph: one line, not white ground truth
        self.exposures = check_exposures(self.options["exposures"])
        #: ``{sweep test set: (plain test set, EV offset)}``; empty without a sweep
        self.sweep: dict[str, tuple[str, float]] = sweep_sets(type(self).test_sets, self.exposures)
        if self.sweep:
            self.test_sets = tuple(self.sweep)
        self.camera = VirtualCamera.from_options(self.options)

    def scenes(self, split: str) -> list[Scene]:
        """The HDR sources of ``split``."""
        raise NotImplementedError(f"{type(self).__name__}.scenes")

    def offset(self, split: str) -> tuple[str, float]:
        """``(the split whose scenes are photographed, EV offset of its LDR)``: ``("test", 2.0)`` for
        ``test@+2EV``, ``(split, 0.0)`` for a plain split; an unknown sweep name is one line naming the option."""
        if split in self.sweep:
            return self.sweep[split]
        if SEPARATOR in split:
            offered = ", ".join(self.sweep) or "none: the option exposures is unset"
            raise HDRBenchError(f"dataset '{self.name}' has no test set '{split}' (exposure-sweep test sets: "
                                f"{offered}); add its exposure to the dataset option exposures")
        return split, 0.0

    def split_folder(self, split: str) -> Path:
        """The cache folder holding ``split`` for the current options and sources (``T@+0EV``: ``T``'s)."""
        base, ev = self.offset(split)
        scenes = self.scenes(base)
        key_fields: dict[str, Any] = {"camera": _fields(self.camera), "headroom": self.options["hdr_headroom"],
                                      "scenes": [(s.id, s.signature, s.meta, s.camera) for s in scenes]}
        if ev:
            key_fields["offset_ev"] = ev
        key = json.dumps(key_fields, sort_keys=True, default=str)
        digest = hashlib.sha1(key.encode()).hexdigest()[:12]
        root = Path(self.options["cache_dir"]) if self.options["cache_dir"] else cache_root()
        folder = root / f"{self.name}-{split if ev else base}-{digest}"
        if not (folder / "manifest.json").is_file():
            folder.parent.mkdir(parents=True, exist_ok=True)
            write_pairs(folder, scenes, self.camera, self.options["hdr_headroom"], ev)
        return folder

    def pairs(self, split: str) -> list[Pair]:
        return read_manifest(self.split_folder(split))

    def ldr_camera(self, test_set: str | None = None) -> LDRCamera:
        """The virtual camera's response; the LDR saturates at ground truth ``1 / hdr_headroom`` (1 without one),
        divided by ``2**k`` on a sweep test set ``T@+kEV``. ``test_set=None`` (or the training split, a plain
        test set): the camera of the unswept photographs, i.e. of ``T@+0EV``.

        Scenes that override camera fields (:attr:`Scene.camera`) are not reflected here.
        """
        headroom = self.options["hdr_headroom"]
        ev = self.offset(test_set)[1] if test_set is not None else 0.0
        return LDRCamera(self.camera.crf, (1.0 / float(headroom) if headroom else 1.0) * 2.0**-ev)


def file_signature(path: Path) -> str:
    """Identifies a file's version without reading it: name, size and modification time."""
    st = path.stat()
    return f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"
