"""16-bit RGB PNG with the PNG 3rd edition's HDR chunks: ``cICP`` (and ``cLLi``) before ``IDAT``, and ``iTXt``.

libpng (``imagecodecs.png_encode``) writes the image (signature, ``IHDR``, ``IDAT``, ``IEND``: Pillow cannot write
16-bit RGB); the extra chunks are framed (length, type, CRC) by Pillow's :func:`PIL.PngImagePlugin.putchunk` and
placed right after ``IHDR``, as the 3rd edition requires of ``cICP`` and ``cLLi`` (before ``PLTE`` and ``IDAT``).
The ``iTXt`` payload is Pillow's too (:meth:`PIL.PngImagePlugin.PngInfo.add_itxt`).
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np

from hdrbench.errors import HDRBenchError

#: Bytes of the PNG signature plus the ``IHDR`` chunk (4 length + 4 type + 13 data + 4 CRC).
_HEAD = 8 + 4 + 4 + 13 + 4


def cicp(primaries: int, transfer: int, matrix: int = 0, full_range: bool = True) -> bytes:
    """``cICP`` payload (ITU-T H.273 code points; PNG holds RGB, so ``matrix`` must be 0)."""
    return bytes([primaries, transfer, matrix, 1 if full_range else 0])


def clli(max_cll: float, max_fall: float) -> bytes:
    """``cLLi`` payload: MaxCLL and MaxFALL in units of 0.0001 cd/m², 4-byte big-endian each."""
    return struct.pack(">II", *(int(round(v * 10000.0)) for v in (max_cll, max_fall)))


def itxt(key: str, text: str) -> bytes:
    """``iTXt`` payload of an uncompressed international text entry ``key`` (Latin-1 keyword) = ``text``."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_itxt(key, text, zip=False)
    return info.chunks[-1][1]


def encode_png16(codes: np.ndarray, chunks: list[tuple[bytes, bytes]]) -> bytes:
    """PNG bytes of uint16 ``codes`` (H, W, 3) with ``chunks`` ``[(type, payload)]`` placed right after ``IHDR``."""
    import imagecodecs
    from PIL.PngImagePlugin import putchunk

    codes = np.ascontiguousarray(codes)
    if codes.dtype != np.uint16 or codes.ndim != 3 or codes.shape[2] != 3:
        raise HDRBenchError(f"16-bit PNG: expected uint16 (H, W, 3) code values, got {codes.dtype} {codes.shape}")
    data = bytes(imagecodecs.png_encode(codes))
    if data[12:16] != b"IHDR" or struct.unpack(">I", data[8:12])[0] != 13:
        raise HDRBenchError("16-bit PNG: libpng's output does not start with IHDR; cannot place cICP before IDAT")
    out = io.BytesIO()
    out.write(data[:_HEAD])
    for cid, payload in chunks:
        putchunk(out, cid, payload)
    out.write(data[_HEAD:])
    return out.getvalue()


def read_text(path: str | Path) -> dict[str, str]:
    """The text entries (``tEXt``/``iTXt``) of a PNG file, read by Pillow."""
    from PIL import Image

    with Image.open(path) as im:
        return {str(k): str(v) for k, v in getattr(im, "text", {}).items()}
