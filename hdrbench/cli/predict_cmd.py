"""``hdrbench predict``: LDR image(s) in, linear HDR EXR out, with any registered method."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import click
import numpy as np
import torch
from tqdm import tqdm

from hdrbench import io
from hdrbench.config import DEFAULT_TILE
from hdrbench.errors import HDRBenchError
from hdrbench.keyvalue import parse_key_values
from hdrbench.models import load_model, predict_image

log = logging.getLogger(__name__)


def _parse_options(pairs: tuple[str, ...]) -> dict:
    return parse_key_values(pairs, "--option", "nf=32")


@click.command("predict")
@click.option("--method", "method_name", required=True, help="Registered method name (see 'hdrbench list').")
@click.option("--checkpoint", type=click.Path(dir_okay=False), multiple=True,
              help="Weights: hdrbench .safetensors, or an official release file (.pth/.ckpt, HDRCNN .npz); repeat "
                   "for files that make one network together (the HDRTV stages).")
@click.option("--random-init", is_flag=True, help="Untrained weights, for pipeline checks only.")
@click.option("--option", "options", multiple=True, help="Method option KEY=VALUE (repeatable).")
@click.option("--tile", type=int, default=DEFAULT_TILE, show_default=True, help="Tile size; 0 = whole image.")
@click.option("--overlap", type=int, default=None, help="Tile context in pixels (default: the method's).")
@click.option("--device", default="cuda" if torch.cuda.is_available() else "cpu", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for --random-init.")
@click.option("--half", is_flag=True, help="Write half-float EXR.")
@click.argument("inp", type=click.Path(exists=False))
@click.argument("out", type=click.Path())
def predict_cmd(method_name: str, checkpoint: tuple[str, ...], random_init: bool, options: tuple[str, ...],
                tile: int, overlap: int | None, device: str, seed: int, half: bool, inp: str, out: str) -> None:
    """Reconstruct linear HDR from an 8-bit LDR image (INP file → OUT .exr) or a folder of them."""
    from hdrbench.registry import METHODS

    trainable = METHODS.get(method_name).trainable
    if trainable and bool(checkpoint) == bool(random_init):
        raise HDRBenchError("give exactly one of --checkpoint CKPT or --random-init")
    torch.manual_seed(seed)
    method, net = load_model(method_name, list(checkpoint) or None, device, **_parse_options(options))
    if random_init and trainable:
        warnings.warn(f"hdrbench: --random-init: method '{method_name}' runs UNTRAINED weights; the output "
                      "is for pipeline checks only", stacklevel=1)
    src, dst = Path(inp), Path(out)
    if not src.exists():
        raise HDRBenchError("input not found", src)
    if src.is_dir():
        files = sorted(p for p in src.iterdir() if p.suffix.lower() in io.LDR_SUFFIXES)
        if not files:
            raise HDRBenchError(f"no LDR images ({', '.join(io.LDR_SUFFIXES)}) in this folder", src)
        pairs = [(f, dst / f"{f.stem}.exr") for f in files]
    else:
        pairs = [(src, dst if dst.suffix else dst / f"{src.stem}.exr")]
    for f, target in tqdm(pairs, desc=f"predict {method_name}", disable=len(pairs) == 1, unit="img"):
        hdr = predict_image(method, net, f, tile=tile, overlap=overlap)
        if not np.isfinite(hdr).all():
            raise HDRBenchError(f"prediction of {method_name} has NaN/inf values", f)
        io.write_hdr(target, hdr) if target.suffix.lower() != ".exr" else io.write_exr(target, hdr, half=half)
        if len(pairs) == 1:
            click.echo(f"{f} -> {target}  ({hdr.shape[1]}x{hdr.shape[0]}, max {hdr.max():.4g})")
