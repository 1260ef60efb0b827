"""HDR files that HDR displays show as HDR: the display model (relative → cd/m²) and the encodings.

:mod:`hdrbench.display.model` (:class:`DisplayModel`), :mod:`hdrbench.display.signals` (PQ/HLG code values),
:mod:`hdrbench.display.png` (16-bit PNG with ``cICP``) and :mod:`hdrbench.display.formats` (every encoding,
:func:`write_display_file`). See ``docs/hdr-display.md``.
"""

from __future__ import annotations

from hdrbench.display.formats import (
    ENCODINGS,
    UNAVAILABLE,
    encode,
    get_encoding,
    read_display_metadata,
    write_display_file,
)
from hdrbench.display.model import ANCHORS, DisplayModel

__all__ = ["ANCHORS", "ENCODINGS", "UNAVAILABLE", "DisplayModel", "encode", "get_encoding", "read_display_metadata",
           "write_display_file"]
