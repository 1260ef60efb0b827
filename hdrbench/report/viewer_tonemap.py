"""The viewer's named tone mappers (:mod:`hdrbench.report.tonemappers`): what the page needs to show them.

Global operators (every one but ``reinhard-local``) are computed in the page (``viewer_tonemap.js``) from the
stored half floats and a few scalars computed here: each image's ground-truth statistics (from the half floats the
page decodes, so page and Python map the same values) and the operator's parameters. A local operator cannot be
computed from scalars: its display values are computed here and written as 8-bit RGB, all panels of an image one
after another, gzip-compressed and base64 in ``viewer/img-<n>-<name>.js`` (``hdrViewerTonemapped(n, name, b64)``),
which the page loads when the operator is first chosen.
"""

from __future__ import annotations

import base64
import gzip
from pathlib import Path
from typing import Any

import numpy as np

from hdrbench import io
from hdrbench.report.tonemappers import STATISTICS_NOTE, TONEMAPPERS

HALF_MAX = 65504.0


def as_stored(panel: np.ndarray) -> np.ndarray:
    """``panel`` rounded as the viewer stores it (NaN → 0, clipped to ±65504, IEEE half), float32."""
    return np.clip(np.nan_to_num(panel, nan=0.0), -HALF_MAX, HALF_MAX).astype(np.float16).astype(np.float32)


def operators() -> list[dict[str, Any]]:
    """The page's list of operators: name, caption, parameters, and whether it is precomputed (local)."""
    return [{"name": t.name, "caption": t.caption, "params": dict(t.params), "precomputed": t.local}
            for t in TONEMAPPERS.values()]


def image_statistics(arrays: list[np.ndarray]) -> dict[str, dict[str, float]]:
    """``{operator: statistics}`` of the image's ground truth (the last panel), as stored."""
    gt = as_stored(arrays[-1])
    return {t.name: t.statistics(gt) for t in TONEMAPPERS.values()}


def display_bytes(arrays: list[np.ndarray], kinds: list[str], name: str) -> bytes:
    """8-bit display values of every panel under operator ``name`` with the ground truth's statistics; the
    display-referred panels (LDR input, overlays) as they are."""
    op = TONEMAPPERS[name]
    stats = op.statistics(as_stored(arrays[-1]))
    out = []
    for panel, kind in zip(arrays, kinds):
        shown = op(as_stored(panel), stats=stats) if kind in ("pred", "gt") else np.clip(panel, 0.0, 1.0)
        out.append(np.round(shown * 255.0).astype(np.uint8).ravel())
    return np.concatenate(out).tobytes()


def write_precomputed(n: int, arrays: list[np.ndarray], kinds: list[str], data_dir: Path) -> list[Path]:
    """``viewer/img-<n>-<name>.js`` for each local operator; the written files."""
    files = []
    for t in TONEMAPPERS.values():
        if not t.local:
            continue
        payload = base64.b64encode(gzip.compress(display_bytes(arrays, kinds, t.name), compresslevel=6, mtime=0))
        files.append(data_dir / f"img-{n}-{t.name}.js")
        io.write_text(files[-1], f'hdrViewerTonemapped({n}, "{t.name}", "{payload.decode("ascii")}");\n',
                      encoding="ascii")
    return files


__all__ = ["STATISTICS_NOTE", "as_stored", "display_bytes", "image_statistics", "operators", "write_precomputed"]
