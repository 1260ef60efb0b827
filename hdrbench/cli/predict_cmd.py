"""``hdrbench predict``: LDR image(s) in, linear HDR EXR out (or an HDR display file: ``--encode``), with any
registered method."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from hdrbench.checks import MAX_SEED, MIN_TILE
from hdrbench.cli.options import Command, device_option
from hdrbench.config import DEFAULT_TILE
from hdrbench.errors import HDRBenchError
from hdrbench.keyvalue import parse_key_values


def _parse_options(pairs: tuple[str, ...]) -> dict:
    return parse_key_values(pairs, "--option", "nf=32")


def _check_tile(ctx: click.Context, param: click.Parameter, value: int) -> int:
    """``--tile``: 0 (whole image) or at least :data:`~hdrbench.checks.MIN_TILE` pixels, refused at parse time."""
    if value != 0 and value < MIN_TILE:
        raise click.BadParameter(f"{value} is not 0 (whole image) or >= {MIN_TILE} pixels; e.g. --tile 512",
                                 ctx, param)
    return value


def _check_encode(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """``--encode``: ``exr`` or an HDR display encoding (:data:`hdrbench.display.ENCODINGS`), refused at parse time."""
    if value == "exr":
        return value
    from hdrbench.display.formats import get_encoding

    try:
        return get_encoding(value, "--encode").name
    except HDRBenchError as exc:
        raise click.BadParameter(exc.message.removeprefix("--encode").lstrip(": "), ctx, param) from None


def _same_file(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` name one file (symlinks, ``..``, hard links)."""
    import os

    if a.resolve() == b.resolve():
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _targets(src: Path, dst: Path, encode: str = "exr", protected: tuple[Path, ...] = ()) -> list[tuple[Path, Path]]:
    """(LDR input, HDR output) files, every output (and sidecar) checked writable before any inference; an output
    that is an input (or one of ``protected``, the checkpoints), or two inputs writing one output, is an error."""
    from hdrbench import io
    from hdrbench.display.formats import ENCODINGS, check_targets

    suffix = ".exr" if encode == "exr" else ENCODINGS[encode].suffix

    if not src.exists():
        raise HDRBenchError("input not found", src)
    if src.is_dir():
        files = sorted(p for p in src.iterdir() if p.is_file() and p.suffix.lower() in io.LDR_SUFFIXES)
        if not files:
            raise HDRBenchError(f"no LDR images ({', '.join(io.LDR_SUFFIXES)}) in this folder", src)
        if dst.suffix and not dst.is_dir():
            raise HDRBenchError("the input is a folder, so OUT must be a folder (no file suffix)", dst)
        pairs = [(f, dst / f"{f.stem}{suffix}") for f in files]
        first: dict[Path, Path] = {}
        for f, target in pairs:
            if target in first:
                raise HDRBenchError(f"'{first[target].name}' and '{f.name}' share the stem '{f.stem}' and would both "
                                    f"write {target.name}; rename or move one of them", src)
            first[target] = f
    else:
        pairs = [(src, dst / f"{src.stem}{suffix}" if dst.is_dir() or not dst.suffix else dst)]
    inputs = [f for f, _ in pairs] + list(protected)
    for _, target in pairs:
        written = [io.check_hdr_output(target)] if encode == "exr" else check_targets(target, encode)
        for out in written:
            hit = next((f for f in inputs if _same_file(out, f)), None)
            if hit is not None:
                raise HDRBenchError(f"this output is the input file '{hit}': it would be overwritten; choose another "
                                    "OUT", out)
    return pairs


def provenance(method: Any, options: dict, checkpoints: list[str], random_init: bool, seed: int,
               tile: int) -> dict[str, str]:
    """What a predicted file records about how it was made (EXR header attributes ``hdrbench:*``); ``tile`` as it
    ran (a method that is not tileable runs whole whatever ``--tile`` says)."""
    from hdrbench import __version__
    from hdrbench.checkpoint import file_sha256

    ran = str(tile) if method.tileable else "0 (whole image: the method uses whole-image statistics)"
    return {"method": method.name, "options": json.dumps(options, sort_keys=True, default=str),
            "checkpoint": ", ".join(checkpoints) or (f"random-init (seed {seed}): UNTRAINED" if random_init
                                                     else "none (the method has no weights)"),
            "checkpoint_sha256": ", ".join(file_sha256(c, 64) for c in checkpoints),
            "hdrbench_version": __version__, "tile": ran,
            "output": "linear HDR as the method predicts it"}


def _checkpoint_white(checkpoint: str) -> tuple[float | None, str]:
    """The LDR white of the dataset an hdrbench weights file records it was trained on (``dataset``: its
    :meth:`~hdrbench.datasets.base.PairedDataset.identity`), or None, and why (one clause)."""
    from hdrbench.datasets.base import create_dataset
    from hdrbench.display.model import dataset_white

    try:
        from safetensors import safe_open

        with safe_open(str(checkpoint), framework="pt") as f:
            recorded = json.loads((f.metadata() or {}).get("dataset", "null"))
    except Exception:  # an official release file (.pth, .npz): no hdrbench metadata
        return None, "the checkpoint records no training dataset"
    if not isinstance(recorded, dict) or "name" not in recorded:
        return None, "the checkpoint records no training dataset"
    name = recorded["name"]
    try:
        white = dataset_white(create_dataset(name, recorded.get("root"), **dict(recorded.get("options") or {})))
    except (HDRBenchError, TypeError, ValueError, OSError):
        return None, f"the checkpoint's dataset '{name}' cannot be opened here to read its LDR camera"
    if white is None:
        return None, f"the checkpoint's dataset '{name}' declares no LDR camera"
    return white, f"the LDR saturation level of dataset '{name}', which the checkpoint was trained on"


def _ldr_white(method_name: str, checkpoints: tuple[str, ...], options: dict) -> tuple[float, str]:
    """``(white, why)``: the value of the method's output at the LDR's white (the display model's ``white``) and
    where it comes from: an untrained method's option ``scale`` (its output units: identity's ``scale ·
    response⁻¹``, an operator's ``scale · cd/m² / 203``), else the dataset the checkpoint was trained on, else 1."""
    from hdrbench.method import create_method
    from hdrbench.registry import METHODS

    if not METHODS.get(method_name).trainable:
        method = create_method(method_name, **options)
        scale_of = getattr(method, "response_and_scale", None)
        if scale_of is None:
            return 1.0, f"method '{method_name}' declares no LDR white"
        units = ("its output is scale · cd/m² / 203, so the file shows the operator's own cd/m²"
                 if hasattr(method, "operator_params") else "its output's value at the LDR's white")
        return float(scale_of()[1]), f"option scale of method '{method_name}' ({units})"
    why = "untrained weights record no dataset"
    for c in checkpoints:
        white, why = _checkpoint_white(c)
        if white is not None:
            return white, why
    return 1.0, why


def _fits_half(hdr: Any, target: Path) -> bool:
    """True when ``hdr`` survives conversion to half floats; else a one-line warning (the file is then written
    as float32: fp16 overflow would store inf)."""
    from hdrbench import io

    n = io.half_overflow(hdr)
    if n:
        click.echo(f"hdrbench: warning: {target}: {n} values exceed half-float's maximum {io.HALF_MAX:g} (max "
                   f"{float(hdr.max()):.4g}) and would be inf: written as float32 EXR instead of --half", err=True)
    return not n


def _display_model(encode: str, display: tuple[str, ...], half: bool, white: tuple[float, str] | None) -> Any:
    """The :class:`~hdrbench.display.DisplayModel` of ``--display`` (None for EXR output), its LDR white
    ``white`` = ``(value, where from)`` unless ``--display white=`` is given; one-line errors."""
    if encode == "exr":
        if display:
            raise HDRBenchError("--display applies to --encode (an HDR display file), not to EXR output")
        return None
    if half:
        raise HDRBenchError(f"--half applies to EXR output only, not to --encode {encode}")
    from hdrbench.display.model import DisplayModel, parse_display

    given = parse_display(display, "--display")
    model = DisplayModel.from_options(given, "--display", None if white is None else white[0])
    click.echo(model.describe())
    if model.anchor == "white" and "white" not in given and white is not None:
        click.echo(f"display white {model.white:g}: {white[1]}; set it with --display white=VALUE")
    return model


@click.command("predict", cls=Command)
@click.option("--method", "method_name", required=True, help="Registered method name (see 'hdrbench list').")
@click.option("--checkpoint", type=click.Path(dir_okay=False), multiple=True,
              help="Weights: hdrbench .safetensors, or an official release file (.pth/.ckpt, HDRCNN .npz); repeat "
                   "for files that make one network together (the HDRTV stages).")
@click.option("--random-init", is_flag=True, help="Untrained weights, for pipeline checks only.")
@click.option("--option", "options", multiple=True, help="Method option KEY=VALUE (repeatable).")
@click.option("--tile", type=int, default=DEFAULT_TILE, show_default=True, callback=_check_tile,
              help=f"Tile side in pixels: 0 = whole image, else >= {MIN_TILE} (each tile adds --overlap of context "
                   "on every side, so small tiles multiply the work).")
@click.option("--overlap", type=click.IntRange(min=0), default=None,
              help="Tile context in pixels, >= 0 (default: the method's receptive margin).")
@device_option()
@click.option("--seed", type=click.IntRange(0, MAX_SEED), default=0, show_default=True,
              help="Seed for --random-init (>= 0).")
@click.option("--half", is_flag=True, help="Write half-float EXR (an image with values above 65504, half's "
              "maximum, is written as float32 with a warning, never as inf).")
@click.option("--encode", default="exr", show_default=True, callback=_check_encode,
              help="exr (linear float), or a file an HDR display shows as HDR: pq-png (alias pq), hlg-png (alias "
                   "hlg), avif-pq, avif-hlg, jxl-linear, ultrahdr (docs/hdr-display.md).")
@click.option("--display", "display", multiple=True,
              help="Display model of --encode, KEY=VALUE (repeatable): anchor=white|max|absolute, white=1 (the "
                   "relative value of the LDR's white, shown at reference_white=203 cd/m²), scale (absolute), "
                   "peak=1000 (cd/m², above it clipped).")
@click.argument("inp", type=click.Path(exists=False))
@click.argument("out", type=click.Path())
def predict_cmd(method_name: str, checkpoint: tuple[str, ...], random_init: bool, options: tuple[str, ...],
                tile: int, overlap: int | None, device: str, seed: int, half: bool, encode: str,
                display: tuple[str, ...], inp: str, out: str) -> None:
    """Reconstruct linear HDR from an 8-bit LDR image (INP file → OUT .exr) or a folder of them.

    Each EXR records its provenance (method, options, checkpoint sha256, hdrbench version) in its header; with
    --encode, each HDR display file records it and its display model (PNG: iTXt; else a .json beside it)."""
    from hdrbench.registry import METHODS

    trainable = METHODS.get(method_name).trainable
    if not trainable and random_init:
        raise HDRBenchError(f"method '{method_name}' has no weights (nothing to train): --random-init does not apply; "
                            "drop it")
    if trainable and bool(checkpoint) == bool(random_init):
        raise HDRBenchError("give exactly one of --checkpoint CKPT or --random-init")
    for c in checkpoint:
        if not Path(c).is_file():
            raise HDRBenchError("checkpoint not found", c)
    parsed = _parse_options(options)
    white = _ldr_white(method_name, checkpoint, parsed) if encode != "exr" else None
    model = _display_model(encode, display, half, white)
    pairs = _targets(Path(inp), Path(out), encode, tuple(Path(c) for c in checkpoint))

    import warnings

    import numpy as np
    import torch
    from tqdm import tqdm

    from hdrbench import io
    from hdrbench.models import load_model, predict_image

    torch.manual_seed(seed)
    method, net = load_model(method_name, list(checkpoint) or None, device, **parsed)
    if random_init and trainable:
        click.echo(f"hdrbench: warning: --random-init: method '{method_name}' runs UNTRAINED weights; the output "
                   "is for pipeline checks only", err=True)
    attributes = provenance(method, parsed, list(checkpoint), random_init, seed, tile)
    for f, target in tqdm(pairs, desc=f"predict {method_name}", disable=len(pairs) == 1, unit="img"):
        with warnings.catch_warnings(record=True) as caught:  # a method's warning about this image names it
            warnings.simplefilter("always")
            hdr = predict_image(method, net, f, tile=tile, overlap=overlap)
        for w in caught:
            warnings.warn_explicit(f"{f}: {str(w.message).removeprefix('hdrbench: ')}", w.category, w.filename,
                                   w.lineno)
        if not np.isfinite(hdr).all():
            raise HDRBenchError(f"prediction of {method_name} has NaN/inf values", f)
        if model is not None:
            from hdrbench.display.formats import write_display_file

            notes: list[str] = []
            write_display_file(target, hdr, encode, model, attributes={**attributes, "input": str(f)}, notes=notes)
            for line in notes:
                click.echo(f"hdrbench: warning: {line}", err=True)
        else:
            as_half = half and _fits_half(hdr, target)
            io.write_hdr(target, hdr, half=as_half, attributes={
                **attributes, "input": str(f), "precision": "half" if as_half else "float32"})
        if len(pairs) == 1:
            click.echo(f"{f} -> {target}  ({hdr.shape[1]}x{hdr.shape[0]}, max {hdr.max():.4g})")
