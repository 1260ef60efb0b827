"""Figure 5's panels and the viewer's images as HDR display files (:mod:`hdrbench.display`).

``[plot] hdr_formats`` (e.g. ``["pq-png", "ultrahdr"]``) writes, beside the figure, every shown image's method
predictions and ground truth in each format: ``figure5_hdr/<format>/<image>_<method id>.<suffix>`` and
``.../<image>_ground-truth.<suffix>``. The viewer embeds an AVIF-PQ and an Ultra HDR JPEG of its panels
(``viewer/hdr-<n>.js``, loaded when asked for) that the page shows where the display reports HDR.

The display model is ``[plot] hdr_display`` (keys of :data:`hdrbench.display.model.KEYS`; default anchor
``white``) with the LDR's white at the dataset's saturation level of the figure's test set where the dataset
declares its camera (else 1); every panel of a row is anchored on that row's ground truth (anchor ``max``: the
ground truth's maximum is the peak), so a prediction and its ground truth share one factor.
"""

from __future__ import annotations

import base64
import json
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from hdrbench import io
from hdrbench.display.formats import encode, get_encoding, write_display_file
from hdrbench.display.model import DisplayModel, dataset_white
from hdrbench.errors import HDRBenchError, HDRBenchWarning
from hdrbench.plan import Plan

#: Folder of the figure's HDR files (under the reports folder), and the viewer's embedded encodings.
FIGURE_DIR = "figure5_hdr"
VIEWER_ENCODINGS = {"avif-pq": ("image/avif", 85), "ultrahdr": ("image/jpeg", 90)}


def figure_display_model(plan: Plan) -> DisplayModel:
    """The display model of the figure's and viewer's HDR files (module docstring)."""
    cfg = plan.cfg
    white = dataset_white(plan.dataset, plan.figure_set)
    try:
        return DisplayModel.from_options(dict(cfg.plot.hdr_display), "plot.hdr_display", white)
    except HDRBenchError as exc:
        raise HDRBenchError(exc.message, cfg.path) from None


def _name(text: str) -> str:
    """A file-name-safe form of an image or method id."""
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", text).strip("_") or "_"


def write_hdr_panels(plan: Plan, methods: list[tuple[str, str]], ids: list[str], rows: list[list[np.ndarray]],
                     out: Path) -> list[Path]:
    """Each figure row's predictions and ground truth (``rows``: [ldr, method..., gt], (H, W, 3) linear) in every
    ``plot.hdr_formats`` encoding under ``out/figure5_hdr/<format>/``; the written paths (sidecars included)."""
    model = figure_display_model(plan)
    written: list[Path] = []
    notes: list[str] = []
    for fmt in plan.cfg.plot.hdr_formats:
        enc = get_encoding(str(fmt), "plot.hdr_formats")
        folder = out / FIGURE_DIR / enc.name
        for image, row in zip(ids, rows):
            gt = row[-1]
            panels = [(mid, img) for (mid, _), img in zip(methods, row[1:-1])] + [("ground-truth", gt)]
            for key, img in panels:
                attributes = {"benchmark": plan.cfg.name, "test_set": plan.figure_set, "image": image,
                              "panel": key}
                written += write_display_file(folder / f"{_name(image)}_{_name(key)}{enc.suffix}", img, enc.name,
                                              model, reference=gt, attributes=attributes, notes=notes,
                                              where="[plot] hdr_display")
    for line in notes:  # more than 1 % of a panel clipped at the display peak
        warnings.warn(line, HDRBenchWarning, stacklevel=2)
    return written


def write_viewer_hdr(folder: Path, index: int, panels: list[dict[str, Any]], arrays: list[np.ndarray],
                     model: DisplayModel) -> tuple[dict[str, Any] | None, list[Path], list[str]]:
    """``viewer/hdr-<index>.js`` with the image's prediction and ground-truth panels (``panels`` as the viewer's
    model, ``arrays`` their (H, W, 3) values) as data-URI AVIF-PQ and Ultra HDR JPEG; ``(model entry or None,
    written files, notes)`` (an encoding a codec refuses, e.g. Ultra HDR below 8x8 pixels, is left out)."""
    gt = arrays[-1]
    files: dict[str, list[dict[str, Any]]] = {}
    notes: list[str] = []
    for name, (mime, quality) in VIEWER_ENCODINGS.items():
        entries = []
        try:
            for k, (panel, img) in enumerate(zip(panels, arrays)):
                if panel["kind"] in ("pred", "gt"):
                    data, _ = encode(img, name, model, reference=gt, quality=quality)
                    entries.append({"panel": k, "title": panel["title"],
                                    "uri": f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"})
        except HDRBenchError as exc:
            notes.append(f"native HDR {name} left out: {exc.message}")
            continue
        files[name] = entries
    if not files:
        return None, [], notes
    path = folder / f"hdr-{index}.js"
    io.write_text(path, f"hdrViewerNative({index}, {json.dumps(files, separators=(',', ':'))});\n", encoding="ascii")
    return {"file": path.name, "encodings": list(files)}, [path], notes


__all__ = ["FIGURE_DIR", "VIEWER_ENCODINGS", "figure_display_model", "write_hdr_panels", "write_viewer_hdr"]
