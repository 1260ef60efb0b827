"""HDR files for HDR displays: PQ/HLG PNG, PQ/HLG AVIF, linear JPEG XL and Ultra HDR (gain-map) JPEG.

Every writer takes a linear HDR image ``(H, W, 3)`` float (BT.709 primaries, relative units), turns it into
absolute luminance with a :class:`~hdrbench.display.model.DisplayModel` (clipped at its peak) and encodes it with a
maintained codec (libpng, libavif, libjxl, libultrahdr through ``imagecodecs``; PNG chunks through Pillow):

========== ====== =================================================================================================
encoding   suffix what the file holds
========== ====== =================================================================================================
pq-png     .png   16-bit RGB, BT.2100 PQ, BT.2020 primaries: ``cICP`` (9, 16, 0, 1) and ``cLLi`` before ``IDAT``
hlg-png    .png   16-bit RGB, BT.2100 HLG (display of the model's peak), BT.2020: ``cICP`` (9, 18, 0, 1)
avif-pq    .avif  10-bit 4:4:4 AV1, PQ, BT.2020, full range (nclx 9/16/9; lossless: identity matrix 9/16/0)
avif-hlg   .avif  the same with HLG (nclx 9/18/…)
jxl-linear .jxl   lossless float16, linear BT.709 (libjxl's linear sRGB), 1.0 = the reference white
ultrahdr   .jpg   Ultra HDR JPEG (libultrahdr): SDR base JPEG plus a gain map up to the peak, BT.709
========== ====== =================================================================================================

JPEG XL cannot carry PQ here: ``imagecodecs`` 2026.3.6's ``jpegxl_encode`` has no colour-encoding parameters (it
signals linear sRGB for 16-bit and float input), hence ``jxl-linear`` rather than ``jxl-pq``.

Metadata: a PNG records the display model, the signal and the caller's provenance as JSON in an ``iTXt`` entry
``hdrbench``; the ``imagecodecs`` AVIF, JPEG XL and Ultra HDR encoders take no Exif/XMP, so for those files the same
JSON is written beside them as ``<file>.json`` (:func:`read_display_metadata` reads either).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hdrbench.display import png, signals
from hdrbench.display.model import PQ_CEILING_NITS, DisplayModel
from hdrbench.errors import HDRBenchError, closest
from hdrbench.writing import write_bytes

#: libultrahdr's SDR white (``kSdrWhiteNits``): its linear half-float input has 1.0 at this luminance.
ULTRAHDR_SDR_WHITE_NITS = 203.0
#: Ultra HDR's smallest image side (libultrahdr refuses smaller).
ULTRAHDR_MIN_SIDE = 8
#: AVIF sample depth: 10 bits (AV1 High profile; 12 bits needs the Professional profile fewer decoders have).
AVIF_BITS = 10
#: The text keyword (PNG ``iTXt``) of the JSON record, and the sidecar suffix of formats without metadata.
METADATA_KEY = "hdrbench"
SIDECAR_SUFFIX = ".json"
#: H.273 code points.
BT2020, PQ, HLG, MATRIX_IDENTITY, MATRIX_BT2020_NCL = 9, 16, 18, 0, 9
#: Encodings asked for that the installed codecs cannot write, and why (one line each).
UNAVAILABLE = {"jxl-pq": "JPEG XL with PQ cannot be written: imagecodecs 2026.3.6's jpegxl_encode has no "
                         "colour-encoding parameters (it signals linear sRGB); use jxl-linear, avif-pq or pq-png",
               "jxl-hlg": "JPEG XL with HLG cannot be written: imagecodecs 2026.3.6's jpegxl_encode has no "
                          "colour-encoding parameters (it signals linear sRGB); use jxl-linear, avif-hlg or hlg-png"}


@dataclass(frozen=True)
class Encoding:
    """One HDR display encoding: file suffix, one-line summary, default quality (None: lossless only), whether
    the file itself carries the metadata, and its signal description and encoder."""

    name: str
    suffix: str
    summary: str
    quality: int | None
    embeds_metadata: bool
    signal: Callable[[DisplayModel, int | None], dict[str, Any]]
    encode: Callable[[np.ndarray, DisplayModel, dict[str, Any], int | None], bytes]


def _png_signal(transfer: int) -> Callable[[DisplayModel, int | None], dict[str, Any]]:
    def signal(model: DisplayModel, quality: int | None) -> dict[str, Any]:
        out = {"container": "PNG, 16-bit RGB", "primaries": "BT.2020", "cicp": [BT2020, transfer, 0, 1]}
        return {**out, **_transfer(transfer, model)}
    return signal


def _transfer(transfer: int, model: DisplayModel) -> dict[str, Any]:
    if transfer == PQ:
        return {"transfer": "BT.2100 PQ (SMPTE ST 2084), absolute cd/m²"}
    return {"transfer": "BT.2100 HLG, display-referred: inverse OOTF of a display of the model's peak (L_W), black "
                        "0, then the HLG OETF", "hlg_display_peak_nits": model.peak,
            "hlg_system_gamma": signals.hlg_gamma(model.peak)}


def _signal_codes(nits: np.ndarray, transfer: int, model: DisplayModel, bits: int) -> np.ndarray:
    sig = signals.pq_signal(nits) if transfer == PQ else signals.hlg_signal(nits, model.peak)
    return signals.code_values(sig, bits)


def _png_encode(transfer: int) -> Callable[[np.ndarray, DisplayModel, dict[str, Any], int | None], bytes]:
    def encode(nits: np.ndarray, model: DisplayModel, meta: dict[str, Any], quality: int | None) -> bytes:
        chunks = [(b"cICP", png.cicp(BT2020, transfer))]
        if transfer == PQ:
            light = meta["content_light_level_nits"]
            chunks.append((b"cLLi", png.clli(light["max_cll"], light["max_fall"])))
        chunks.append((b"iTXt", png.itxt(METADATA_KEY, json.dumps(meta, sort_keys=True))))
        return png.encode_png16(_signal_codes(nits, transfer, model, 16), chunks)
    return encode


def _avif_lossless(quality: int | None) -> bool:
    return quality is not None and quality >= 100


def _avif_signal(transfer: int) -> Callable[[DisplayModel, int | None], dict[str, Any]]:
    def signal(model: DisplayModel, quality: int | None) -> dict[str, Any]:
        matrix = MATRIX_IDENTITY if _avif_lossless(quality) else MATRIX_BT2020_NCL
        out = {"container": f"AVIF, {AVIF_BITS}-bit 4:4:4 ({'lossless' if matrix == 0 else f'quality {quality}'})",
               "primaries": "BT.2020", "cicp": [BT2020, transfer, matrix, 1]}
        return {**out, **_transfer(transfer, model)}
    return signal


def _avif_encode(transfer: int) -> Callable[[np.ndarray, DisplayModel, dict[str, Any], int | None], bytes]:
    def encode(nits: np.ndarray, model: DisplayModel, meta: dict[str, Any], quality: int | None) -> bytes:
        import imagecodecs

        lossless = _avif_lossless(quality)
        # speed 8: libavif's default speed takes minutes for a lossless 2-megapixel image
        return bytes(imagecodecs.avif_encode(
            _signal_codes(nits, transfer, model, AVIF_BITS), level=100 if lossless else int(quality or 90),
            speed=8 if lossless else 6, bitspersample=AVIF_BITS, pixelformat="yuv444", primaries=BT2020,
            transfer=transfer, matrix=MATRIX_IDENTITY if lossless else MATRIX_BT2020_NCL))
    return encode


def _jxl_signal(model: DisplayModel, quality: int | None) -> dict[str, Any]:
    return {"container": "JPEG XL, lossless float16", "primaries": "BT.709 (sRGB)", "transfer": "linear",
            "units": f"1.0 = the reference white ({model.reference_white:g} cd/m²)",
            "limitation": UNAVAILABLE["jxl-pq"].split(": ", 1)[1].split("; ")[0]}


def _jxl_encode(nits: np.ndarray, model: DisplayModel, meta: dict[str, Any], quality: int | None) -> bytes:
    import imagecodecs

    return bytes(imagecodecs.jpegxl_encode((nits / model.reference_white).astype(np.float16), lossless=True))


def _ultrahdr_signal(model: DisplayModel, quality: int | None) -> dict[str, Any]:
    return {"container": f"Ultra HDR JPEG (libultrahdr; SDR base JPEG quality {quality} + gain map)",
            "primaries": "BT.709", "hdr_capacity_max": model.peak / ULTRAHDR_SDR_WHITE_NITS,
            "units": f"libultrahdr's linear input: 1.0 = {ULTRAHDR_SDR_WHITE_NITS:g} cd/m²"}


def _ultrahdr_encode(nits: np.ndarray, model: DisplayModel, meta: dict[str, Any], quality: int | None) -> bytes:
    import imagecodecs

    h, w = nits.shape[:2]
    if min(h, w) < ULTRAHDR_MIN_SIDE:
        raise HDRBenchError(f"Ultra HDR: the image is {w}x{h}; libultrahdr needs at least "
                            f"{ULTRAHDR_MIN_SIDE}x{ULTRAHDR_MIN_SIDE} pixels (use pq-png for smaller images)")
    rgba = np.ones((h, w, 4), dtype=np.float16)
    rgba[..., :3] = nits / ULTRAHDR_SDR_WHITE_NITS
    return bytes(imagecodecs.ultrahdr_encode(
        rgba, level=quality, gamut=imagecodecs.ULTRAHDR.CG.BT_709, transfer=imagecodecs.ULTRAHDR.CT.LINEAR,
        nits=max(model.peak, ULTRAHDR_SDR_WHITE_NITS)))


ENCODINGS: dict[str, Encoding] = {e.name: e for e in (
    Encoding("pq-png", ".png", "16-bit PNG, BT.2100 PQ, BT.2020 (cICP 9/16/0/1)", None, True, _png_signal(PQ),
             _png_encode(PQ)),
    Encoding("hlg-png", ".png", "16-bit PNG, BT.2100 HLG, BT.2020 (cICP 9/18/0/1)", None, True, _png_signal(HLG),
             _png_encode(HLG)),
    Encoding("avif-pq", ".avif", "10-bit AVIF, BT.2100 PQ, BT.2020", 90, False, _avif_signal(PQ), _avif_encode(PQ)),
    Encoding("avif-hlg", ".avif", "10-bit AVIF, BT.2100 HLG, BT.2020", 90, False, _avif_signal(HLG),
             _avif_encode(HLG)),
    Encoding("jxl-linear", ".jxl", "lossless float16 JPEG XL, linear BT.709, 1.0 = reference white", None, False,
             _jxl_signal, _jxl_encode),
    Encoding("ultrahdr", ".jpg", "Ultra HDR JPEG: SDR base + gain map (libultrahdr), BT.709", 95, False,
             _ultrahdr_signal, _ultrahdr_encode),
)}


#: Short names: ``pq`` and ``hlg`` are the 16-bit BT.2100 PNGs (lossless: the exact code values).
ALIASES = {"pq": "pq-png", "hlg": "hlg-png"}


def get_encoding(name: str, where: str = "encoding") -> Encoding:
    """The encoding ``name`` (or its alias, :data:`ALIASES`), or one line saying why not (one the codecs cannot
    write; a typo: the closest)."""
    name = ALIASES.get(name, name)
    if name in ENCODINGS:
        return ENCODINGS[name]
    if name in UNAVAILABLE:
        raise HDRBenchError(f"{where} '{name}': {UNAVAILABLE[name]}")
    near = closest(name, ENCODINGS)
    hint = f"did you mean '{near}'? " if near else ""
    raise HDRBenchError(f"{where}: unknown HDR encoding '{name}' ({hint}known: {', '.join(ENCODINGS)})")


def check_plot_settings(formats: list[Any], display: dict[str, Any], path: Path) -> None:
    """``[plot] hdr_formats`` are HDR display encodings and ``[plot] hdr_display`` is a display model (one-line
    errors naming the file ``path``)."""
    try:
        for fmt in formats:
            get_encoding(str(fmt), "plot.hdr_formats")
        DisplayModel.from_options(dict(display), "plot.hdr_display")
    except HDRBenchError as exc:
        raise HDRBenchError(exc.message, path) from None


def encode(hdr: np.ndarray, encoding: str, model: DisplayModel, reference: np.ndarray | None = None,
           attributes: dict[str, str] | None = None, quality: int | None = None) -> tuple[bytes, dict[str, Any]]:
    """``(file bytes, metadata record)`` of linear BT.709 ``hdr`` (H, W, 3) relative values in ``encoding``.

    ``reference``: the image ``hdr`` is shown beside (its ground truth; sets the ``max`` anchor); ``attributes``:
    provenance strings recorded with the model; ``quality``: 1-100 for the lossy encodings (AVIF: 100 = lossless).
    """
    from hdrbench.version import __version__

    enc = get_encoding(encoding)
    if quality is not None and not (isinstance(quality, int) and 1 <= quality <= 100):
        raise HDRBenchError(f"{encoding}: quality={quality!r} must be an integer in 1..100")
    quality = quality if quality is not None else enc.quality
    nits, display = model.to_nits(hdr, reference)
    max_cll, max_fall = signals.light_levels(nits)
    meta: dict[str, Any] = {"encoding": enc.name, "format": enc.summary, **enc.signal(model, quality),
                            "display_model": display, "content_light_level_nits": {"max_cll": max_cll,
                                                                                   "max_fall": max_fall},
                            "hdrbench_version": __version__}
    if attributes:
        meta["provenance"] = {str(k): str(v) for k, v in attributes.items()}
    try:
        data = enc.encode(nits, model, meta, quality)
    except (RuntimeError, ValueError) as exc:  # the codec refused (imagecodecs' *Error are RuntimeErrors)
        raise HDRBenchError(f"{encoding}: the codec failed ({' '.join(str(exc).split())})") from None
    return data, meta


def sidecar(path: str | Path) -> Path:
    """Where the metadata of a file whose format carries none is written: ``<file>.json``."""
    p = Path(path)
    return p.with_name(p.name + SIDECAR_SUFFIX)


def check_suffix(path: str | Path, encoding: str) -> Path:
    """``path`` if its suffix fits ``encoding`` (``.jpeg`` too for Ultra HDR), else one line saying which."""
    p, enc = Path(path), get_encoding(encoding)
    allowed = (enc.suffix, ".jpeg") if enc.suffix == ".jpg" else (enc.suffix,)
    if p.suffix.lower() not in allowed:
        raise HDRBenchError(f"{encoding} files end in {enc.suffix}; give a file name ending in {enc.suffix} (or a "
                            "folder)", p)
    return p


def check_targets(path: str | Path, encoding: str) -> list[Path]:
    """The files :func:`write_display_file` writes for ``path`` (the file; its sidecar where the format carries no
    metadata), each checked writable (:func:`hdrbench.writing.check_output`); writes nothing."""
    from hdrbench.writing import check_output

    paths = [check_suffix(path, encoding)]
    if not get_encoding(encoding).embeds_metadata:
        paths.append(sidecar(path))
    return [check_output(p) for p in paths]


#: A file whose pixels are clipped at the display peak in more than this fraction gets a warning.
CLIP_WARN_FRACTION = 0.01


def clip_note(path: str | Path, display: dict[str, Any], where: str = "--display") -> str | None:
    """One line when more than :data:`CLIP_WARN_FRACTION` of a file's pixels were clipped at the display peak
    (``display``: its :meth:`DisplayModel.record`), saying what would keep them (``where``: the setting's name)."""
    fraction = float(display.get("clipped_fraction", 0.0))
    if fraction <= CLIP_WARN_FRACTION:
        return None
    anchor, peak = display.get("anchor"), float(display["peak_nits"])
    if anchor == "max":
        fix = ("with anchor 'max' the reference's maximum is the peak, so these pixels are brighter than their "
               "reference (the ground truth)")
    else:
        other = f"a larger white ({where} white=N)" if anchor == "white" else f"a smaller scale ({where} scale=N)"
        fix = f"raise the peak ({where} peak=N, at most {PQ_CEILING_NITS:g}) or give {other}"
    return (f"{path}: {100 * fraction:.1f} % of the pixels exceed the display peak {peak:g} cd/m² and are clipped "
            f"to it; {fix}")


def write_display_file(path: str | Path, hdr: np.ndarray, encoding: str, model: DisplayModel,
                       reference: np.ndarray | None = None, attributes: dict[str, str] | None = None,
                       quality: int | None = None, notes: list[str] | None = None,
                       where: str = "--display") -> list[Path]:
    """Write ``hdr`` (H, W, 3, relative linear BT.709) to ``path`` in ``encoding`` (:func:`encode`); the written
    paths: the file, and its ``.json`` sidecar where the format carries no metadata (both written, or neither).
    Atomic, one-line errors naming ``path``. ``notes`` (when given) receives :func:`clip_note`'s line (``where``:
    the name of the display-model setting it suggests)."""
    from hdrbench.writing import atomic_write

    targets = check_targets(path, encoding)
    try:
        data, meta = encode(hdr, encoding, model, reference, attributes, quality)
    except HDRBenchError as exc:
        raise HDRBenchError(exc.message, exc.path or path) from None
    if len(targets) == 1:
        write_bytes(targets[0], data)
    else:  # the sidecar's temporary file is opened before either replaces its target
        text = json.dumps(meta, indent=1, sort_keys=True) + "\n"
        with atomic_write(targets[0]) as f, atomic_write(targets[1]) as g:
            f.write(data)
            g.write(text.encode("utf-8"))
    if notes is not None and (line := clip_note(targets[0], meta["display_model"], where)):
        notes.append(line)
    return targets


def read_display_metadata(path: str | Path) -> dict[str, Any]:
    """The metadata record of a file written by :func:`write_display_file` (PNG ``iTXt``, else the sidecar)."""
    p = Path(path)
    if p.suffix.lower() == ".png":
        text = png.read_text(p).get(METADATA_KEY)
        if text is None:
            raise HDRBenchError(f"no '{METADATA_KEY}' iTXt entry: not an HDR PNG written by hdrbench", p)
        return json.loads(text)
    side = sidecar(p)
    if not side.is_file():
        raise HDRBenchError(f"no metadata: {p.suffix} files carry none here, and the sidecar is missing", side)
    return json.loads(side.read_text(encoding="utf-8"))
