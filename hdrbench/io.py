"""Reading and writing LDR and HDR image files: the one place that knows file formats.

Arrays crossing this module's border are ``(H, W, 3)`` RGB numpy arrays:

* :func:`read_image` returns the file's own dtype (``uint8``, ``uint16`` or ``float32``);
* :func:`read_ldr` returns display-referred ``float32`` in ``[0, 1]`` from an 8-bit file;
* :func:`read_hdr` returns linear ``float32`` (EXR, HDR, PFM, NPY as stored; 16-bit PNG/TIFF divided
  by 65535, i.e. normalised to ``[0, 1]``; a PQ/HLG display PNG, ``cICP``, is refused).

16-bit PNGs are decoded with OpenCV, never Pillow (Pillow and imageio's default plugin silently return
8 bits for 16-bit RGB PNGs). Every failure raises :class:`hdrbench.errors.HDRBenchError` naming the file.

Every writer goes through :func:`atomic_write` (from :mod:`hdrbench.writing`, re-exported here with
:func:`check_output`, :func:`write_bytes`, :func:`write_text`): a file is written whole under a temporary
name and renamed into place, or not at all; disk full, a read-only folder or a file where a folder should be
is one line naming the file, and an older file at the path is left as it was.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from types import ModuleType

import numpy as np

from hdrbench.errors import HDRBenchError
from hdrbench.writing import (  # re-exported: writes live in io for its callers
    atomic_write,
    check_folder,  # noqa: F401
    check_output,
    database_error,  # noqa: F401
    make_folder,  # noqa: F401
    write_bytes,
    write_error,  # noqa: F401
    write_text,  # noqa: F401
)

LDR_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
HDR_SUFFIXES = (".exr", ".hdr", ".pfm", ".npy", ".png", ".tif", ".tiff")
IMAGE_SUFFIXES = tuple(sorted(set(LDR_SUFFIXES + HDR_SUFFIXES)))
#: Suffixes :func:`write_hdr` writes.
HDR_WRITE_SUFFIXES = (".exr", ".hdr", ".pfm", ".npy")
#: Prefix of the EXR header attributes hdrbench writes (provenance: method, checkpoint, version...).
EXR_ATTRIBUTE_PREFIX = "hdrbench:"


@lru_cache(maxsize=1)
def opencv() -> ModuleType:
    """OpenCV, imported on first use (EXR-only work never needs it), with its OpenEXR codec enabled."""
    os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")  # read when OpenCV is imported
    import cv2

    return cv2


def _check_file(path: Path) -> None:
    if not path.exists():
        raise HDRBenchError("file not found; check the path", path)
    if not path.is_file():
        raise HDRBenchError("is not a file (expected an image file)", path)
    if path.stat().st_size == 0:
        raise HDRBenchError("file is empty; re-export or re-download it", path)


def _to_rgb3(img: np.ndarray, path: Path) -> np.ndarray:
    """Check the channel count and return (H, W, 3) RGB (an alpha channel is dropped)."""
    if img.ndim == 2:
        raise HDRBenchError(f"has 1 channel (grayscale, shape {img.shape}); expected an RGB image", path)
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise HDRBenchError(f"has shape {img.shape}; expected an RGB image (H, W, 3) or RGBA", path)
    return np.ascontiguousarray(img[..., :3])


def _read_cv2(path: Path) -> np.ndarray:
    cv2 = opencv()
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise HDRBenchError(f"cannot decode this {path.suffix} file (corrupt or truncated?)", path)
    if img.ndim == 3:
        img = img[..., [2, 1, 0, 3][: img.shape[2]]] if img.shape[2] in (3, 4) else img
    return img


#: Threads OpenEXR (de)compresses with; its default, 0, does it on the calling thread alone.
EXR_THREADS = min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def _openexr():
    """The OpenEXR module, its thread pool set to :data:`EXR_THREADS` (halves reading a 2048x1024 file here)."""
    import OpenEXR

    if OpenEXR.global_thread_count() == 0:
        OpenEXR.set_global_thread_count(EXR_THREADS)
    return OpenEXR


def _read_exr(path: Path) -> np.ndarray:
    OpenEXR = _openexr()

    try:
        with OpenEXR.File(str(path)) as f:
            channels = f.channels()
            if "RGB" in channels:
                img = channels["RGB"].pixels
            elif "RGBA" in channels:
                img = channels["RGBA"].pixels[..., :3]
            elif all(c in channels for c in "RGB"):
                img = np.stack([channels[c].pixels for c in "RGB"], axis=-1)
            elif "Y" in channels:
                raise HDRBenchError(_not_rgb(set(channels)), path)
            else:
                raise HDRBenchError(f"has EXR channels {sorted(channels)}; expected R, G, B", path)
    except HDRBenchError:
        raise
    except Exception as exc:  # OpenEXR raises plain exceptions for corrupt files
        raise HDRBenchError(f"cannot read OpenEXR file (corrupt or truncated?): {exc}", path) from None
    return np.ascontiguousarray(np.asarray(img, dtype=np.float32))


def _not_rgb(names: set[str]) -> str:
    """What an EXR with a ``Y`` channel but no R, G, B holds, and that hdrbench needs RGB."""
    if {"X", "Z"} <= names:
        held = "CIE XYZ colour (channels X, Y, Z)"
    elif {"RY", "BY"} <= names:
        held = "luminance/chroma colour (channels Y, RY, BY)"
    elif names <= {"Y", "A"}:
        held = "luminance only (channel Y)"
    else:
        held = f"channels {sorted(names)}"
    return f"EXR holds {held}, not RGB; hdrbench reads linear R, G, B channels: save the image as RGB"


def _read_pfm(path: Path) -> np.ndarray:
    try:
        with open(path, "rb") as f:
            kind = f.readline().strip()
            if kind not in (b"PF", b"Pf"):
                raise ValueError("missing PF/Pf header")
            dims = f.readline().split()
            while not dims:
                dims = f.readline().split()
            width, height = int(dims[0]), int(dims[1])
            scale = float(f.readline().strip())
            dtype = "<f4" if scale < 0 else ">f4"
            channels = 3 if kind == b"PF" else 1
            data = np.frombuffer(f.read(), dtype=dtype)
        if data.size < width * height * channels:
            raise ValueError("truncated pixel data")
        img = data[: width * height * channels].reshape(height, width, channels)
    except (ValueError, IndexError) as exc:
        raise HDRBenchError(f"cannot read PFM file (corrupt or truncated?): {exc}", path) from None
    img = np.flipud(img).astype(np.float32)  # PFM stores the bottom row first
    return img if channels == 3 else img[..., 0]


def _read_npy(path: Path) -> np.ndarray:
    try:
        img = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise HDRBenchError(f"cannot read .npy file (corrupt, or not a numeric array?): {exc}", path) from None
    if img.ndim == 3 and img.shape[0] in (3, 4) and img.shape[2] not in (3, 4):
        img = np.moveaxis(img, 0, -1)  # accept CHW
    if not np.issubdtype(img.dtype, np.number):
        raise HDRBenchError(f"holds dtype {img.dtype}; expected a numeric image array", path)
    return img if img.dtype in (np.uint8, np.uint16) else img.astype(np.float32)


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read any supported image as ``(H, W, 3)`` RGB in the file's dtype (uint8, uint16 or float32)."""
    p = Path(path)
    _check_file(p)
    suffix = p.suffix.lower()
    if suffix == ".exr":
        img = _read_exr(p)
    elif suffix == ".pfm":
        img = _read_pfm(p)
    elif suffix == ".npy":
        img = _read_npy(p)
    elif suffix in (".hdr", ".pic", *LDR_SUFFIXES):
        img = _read_cv2(p)
    else:
        raise HDRBenchError(
            f"unsupported file type '{suffix}' (supported: {', '.join(IMAGE_SUFFIXES)}, .hdr)", p
        )
    return _to_rgb3(img, p)


def read_ldr(path: str | os.PathLike) -> np.ndarray:
    """Read an 8-bit LDR image as display-referred ``float32`` ``(H, W, 3)`` in ``[0, 1]``."""
    img = read_image(path)
    if img.dtype != np.uint8:
        raise HDRBenchError(f"is {_depth(img)}; expected an 8-bit LDR image (PNG/JPEG)", path)
    return img.astype(np.float32) / 255.0


#: H.273 transfer characteristics of HDR display signals: a PNG whose ``cICP`` names one holds code values.
DISPLAY_TRANSFERS = {16: "PQ", 18: "HLG"}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_display_signal(path: str | os.PathLike) -> tuple[str, bool] | None:
    """``(transfer, written_by_hdrbench)`` when the PNG ``path`` signals PQ or HLG in its ``cICP`` chunk (an HDR
    display file: code values, not linear HDR), else None. Reads the chunk headers up to the first ``IDAT``
    only; ``written_by_hdrbench``: it also holds the ``hdrbench`` ``iTXt`` record of :mod:`hdrbench.display`."""
    import struct

    transfer, ours = None, False
    with open(path, "rb") as f:
        if f.read(8) != _PNG_SIGNATURE:
            return None
        while len(head := f.read(8)) == 8:
            length, kind = struct.unpack(">I4s", head)
            if kind in (b"IDAT", b"IEND"):
                break
            payload = f.read(min(length, 9))
            if kind == b"cICP" and len(payload) == 4:
                transfer = DISPLAY_TRANSFERS.get(payload[1])
            elif kind == b"iTXt" and payload == b"hdrbench\x00":
                ours = True
            f.seek(length - len(payload) + 4, 1)  # the rest of the data, and the CRC
    return (transfer, ours) if transfer else None


def _refuse_display_png(path: Path) -> None:
    """One line when ``path`` is a PQ/HLG display PNG (:func:`png_display_signal`): reading its code values as
    linear HDR would score the signal, not the image."""
    signal = png_display_signal(path)
    if signal is not None:
        transfer, ours = signal
        made = " written by hdrbench ('hdrbench predict --encode' or 'hdrbench data export-hdr')" if ours else ""
        raise HDRBenchError(f"is a {transfer} HDR display file{made} (cICP: transfer {transfer}): its values are "
                            f"{transfer} code values, not linear HDR; score the linear EXR that 'hdrbench predict' "
                            "writes by default (without 'hdrbench predict --encode') instead", path)


def read_hdr(path: str | os.PathLike, *, expect_16bit: bool = True) -> np.ndarray:
    """Read a linear HDR image as ``float32`` ``(H, W, 3)``.

    Float formats are returned as stored. Integer formats must be 16-bit (``expect_16bit``) and are
    divided by 65535; an 8-bit file where 16-bit linear HDR is expected is an error, and so is a PNG that
    signals PQ or HLG (``cICP``: an HDR display file, :func:`png_display_signal`).
    """
    p = Path(path)
    if p.suffix.lower() == ".png" and p.is_file():
        _refuse_display_png(p)
    img = read_image(p)
    if img.dtype == np.uint16:
        return img.astype(np.float32) / 65535.0
    if img.dtype == np.uint8:
        if expect_16bit:
            raise HDRBenchError("is 8-bit; expected 16-bit linear HDR (or EXR/HDR/PFM/NPY float)", path)
        return img.astype(np.float32) / 255.0
    return img.astype(np.float32, copy=False)


def _depth(img: np.ndarray) -> str:
    return {np.dtype(np.uint8): "8-bit", np.dtype(np.uint16): "16-bit"}.get(img.dtype, f"{img.dtype} float")


# -- writing: every file through atomic_write (hdrbench.writing): whole or not at all, one-line errors ------
def _check_rgb(img: np.ndarray, what: str) -> np.ndarray:
    img = np.asarray(img)
    if img.ndim != 3 or img.shape[2] != 3:
        raise HDRBenchError(f"{what}: expected an (H, W, 3) array, got shape {img.shape}")
    return img


def check_hdr_output(path: str | os.PathLike) -> Path:
    """``path`` if :func:`write_hdr` can write it (suffix, a writable folder with free space), else one-line
    error (:func:`hdrbench.writing.check_output`); writes nothing."""
    p = Path(path)
    if p.suffix.lower() not in HDR_WRITE_SUFFIXES:
        raise HDRBenchError(f"cannot write HDR data as '{p.suffix or 'no suffix'}' (use "
                            f"{', '.join(HDR_WRITE_SUFFIXES)})", p)
    if p.is_dir():
        raise HDRBenchError("is a folder; give a file name ending in .exr", p)
    return check_output(p)


def _write_encoded(path: str | os.PathLike, img: np.ndarray, what: str) -> Path:
    """Encode ``img`` (RGB, already in the file's dtype) with OpenCV by the suffix of ``path`` and write it."""
    p = Path(path)
    try:
        ok, buf = opencv().imencode(p.suffix.lower(), np.ascontiguousarray(img[..., ::-1]))
    except Exception as exc:  # cv2.error: no encoder for the suffix, or one that refuses this dtype
        raise HDRBenchError(f"cannot encode {what} as '{p.suffix}': {str(exc).splitlines()[-1]}", p) from None
    if not ok:
        raise HDRBenchError(f"cannot encode {what} as '{p.suffix}' (OpenCV refused it)", p)
    return write_bytes(p, buf)


def write_exr(path: str | os.PathLike, img: np.ndarray, *, half: bool = False,
              attributes: dict[str, str] | None = None) -> Path:
    """Write linear ``(H, W, 3)`` float data as an OpenEXR file (float32, or half with ``half=True``).

    ``attributes``: string header attributes, stored as ``hdrbench:<key>`` (see :func:`read_exr_attributes`)."""
    OpenEXR = _openexr()

    img = _check_rgb(img, "write_exr")
    if half and (n := half_overflow(img)):
        raise HDRBenchError(f"{n} values exceed half-float's range (|x| > {HALF_MAX:g}, max {np.abs(img).max():.4g}); "
                            "as half they would be inf: write float32 (no 'hdrbench predict --half', or half=False)",
                            path)
    data = np.ascontiguousarray(img, dtype=np.float16 if half else np.float32)
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage,
              **{EXR_ATTRIBUTE_PREFIX + k: str(v) for k, v in (attributes or {}).items()}}
    with atomic_write(path) as out, OpenEXR.File(header, {"RGB": data}) as f:
        f.write(out)  # OpenEXR streams into the temporary file
    return Path(path)


#: The largest finite half-float (IEEE 754 binary16) value; larger ones become inf in a half EXR.
HALF_MAX = 65504.0


def half_overflow(img: np.ndarray) -> int:
    """How many finite values of ``img`` become inf as half floats (they round above :data:`HALF_MAX`)."""
    a = np.asarray(img)
    if not a.size or float(np.nanmax(np.abs(a), initial=0.0)) < HALF_MAX:
        return 0
    with np.errstate(over="ignore"):
        return int((np.isfinite(a) & ~np.isfinite(a.astype(np.float16))).sum())


def read_exr_attributes(path: str | os.PathLike) -> dict[str, str]:
    """The ``hdrbench:<key>`` header attributes of an EXR file (``{key: value}``; empty for other files)."""
    p = Path(path)
    if p.suffix.lower() != ".exr":
        return {}
    import OpenEXR

    _check_file(p)
    with OpenEXR.File(str(p)) as f:  # read inside: the header is released with the file
        return {k.removeprefix(EXR_ATTRIBUTE_PREFIX): str(v) for k, v in f.header().items()
                if k.startswith(EXR_ATTRIBUTE_PREFIX)}


def write_png16(path: str | os.PathLike, img: np.ndarray) -> Path:
    """Write ``(H, W, 3)`` values in ``[0, 1]`` (clipped) as a 16-bit RGB PNG (``round(x * 65535)``)."""
    img = _check_rgb(img, "write_png16")
    return _write_encoded(path, np.round(np.clip(img, 0.0, 1.0) * 65535.0).astype(np.uint16), "a 16-bit image")


def write_ldr(path: str | os.PathLike, img: np.ndarray) -> Path:
    """Write display-referred ``(H, W, 3)`` values in ``[0, 1]`` as an 8-bit PNG/JPEG."""
    img = _check_rgb(img, "write_ldr")
    return _write_encoded(path, np.round(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8), "an 8-bit image")


def write_pfm(path: str | os.PathLike, img: np.ndarray) -> Path:
    """Write ``(H, W, 3)`` float data as a little-endian PFM file."""
    img = _check_rgb(img, "write_pfm")
    h, w = img.shape[:2]
    with atomic_write(path) as f:
        f.write(f"PF\n{w} {h}\n-1.0\n".encode("ascii"))
        f.write(np.flipud(img).astype("<f4").tobytes())
    return Path(path)


def write_npy(path: str | os.PathLike, img: np.ndarray) -> Path:
    """Write an array as float32 ``.npy`` (no pickles)."""
    with atomic_write(path) as f:
        np.save(f, np.asarray(img, dtype=np.float32), allow_pickle=False)
    return Path(path)


def write_hdr(path: str | os.PathLike, img: np.ndarray, *, half: bool = False,
              attributes: dict[str, str] | None = None) -> Path:
    """Write linear float data to ``path``, the format chosen by its suffix (.exr, .pfm, .npy, .hdr);
    ``half`` and ``attributes`` (header provenance) apply to EXR only."""
    suffix = Path(path).suffix.lower()
    if suffix == ".exr":
        return write_exr(path, img, half=half, attributes=attributes)
    if suffix == ".pfm":
        return write_pfm(path, img)
    if suffix == ".npy":
        return write_npy(path, img)
    if suffix == ".hdr":
        return _write_encoded(path, np.asarray(_check_rgb(img, "write_hdr"), dtype=np.float32), "Radiance HDR")
    check_hdr_output(path)
    raise HDRBenchError(f"cannot write HDR data as '{suffix}'", path)  # unreachable: check_hdr_output raised
