"""``hdrbench data``: inspect datasets, write the paper's test-set lists, photograph HDR folders."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import click

from hdrbench.errors import HDRBenchError
from hdrbench.keyvalue import parse_key_values


def parse_options(items: tuple[str, ...]) -> dict[str, Any]:
    """``("key=value", ...)`` → dict (:func:`hdrbench.keyvalue.parse_key_values`)."""
    return parse_key_values(items, "-o", "clip_fraction=0.05")


def _dataset(name: str, root: str | None, options: dict[str, Any]):
    from hdrbench.datasets import create_dataset

    return create_dataset(name, root, **options)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    click.echo(str(message), err=True)  # one line, no source excerpt


@click.group("data")
def data_cmd() -> None:
    """Datasets: layouts, split sizes, test-set lists, virtual-camera pairs."""
    warnings.showwarning = _show_warning


@data_cmd.command("layouts")
def layouts_cmd() -> None:
    """List the registered dataset layouts with their HDR conventions and test sets."""
    from hdrbench.registry import DATASETS

    for name, cls in DATASETS.items():
        click.echo(f"{name:<12} {cls.summary}")
        click.echo(f"{'':<12} HDR: {cls.hdr_convention}; test sets: {', '.join(cls.test_sets)}")


@data_cmd.command("info")
@click.option("--dataset", "name", required=True, help="Registered dataset name (see 'hdrbench data layouts').")
@click.option("--root", type=click.Path(), default=None, help="The dataset's root folder (not needed for demo).")
@click.option("-o", "--option", "options", multiple=True, help="Dataset option KEY=VALUE (repeatable).")
@click.option("--split", "splits", multiple=True, help="Splits to count (default: train and the test sets).")
def info_cmd(name: str, root: str | None, options: tuple[str, ...], splits: tuple[str, ...]) -> None:
    """Count the pairs of each split and show the dataset's conventions."""
    ds = _dataset(name, root, parse_options(options))
    click.echo(f"dataset {ds.name}: {ds.summary}")
    click.echo(f"HDR convention: {ds.hdr_convention}")
    for split in splits or (ds.train_split, *ds.test_sets):
        try:
            click.echo(f"{split:<12}{len(ds.pairs(split)):>7} pairs")
        except HDRBenchError as exc:
            click.echo(f"{split:<12}   none ({exc})")


@data_cmd.command("testsets")
@click.option("--dataset", "name", default="cityscapes", show_default=True, help="Registered dataset name.")
@click.option("--root", type=click.Path(), default=None, help="The dataset's root folder.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Folder for the CSV files.")
@click.option("--t-bright", type=int, default=None, help="Test set2: gray level a bright pixel must exceed (240).")
@click.option("--lambda", "lam", type=float, default=None, help="Test set2: bright fraction to exceed (0.029).")
@click.option("--skip-unpaired", is_flag=True, help="Warn about files without a partner instead of failing.")
@click.option("-o", "--option", "options", multiple=True, help="Dataset option KEY=VALUE (repeatable).")
def testsets_cmd(name: str, root: str | None, out_dir: str, t_bright: int | None, lam: float | None,
                 skip_unpaired: bool, options: tuple[str, ...]) -> None:
    """Write DIR/{test set}.csv (id, ldr, hdr, bright_fraction) for each test set and print the counts.

    For Cityscapes: test_set1.csv (every test pair; paper: 1525) and test_set2.csv (pairs with more than
    λ = 0.029 of gray pixels above 240; paper: 424).
    """
    import pandas as pd

    opts = parse_options(options)
    if t_bright is not None:
        opts["t_bright"] = t_bright
    if lam is not None:
        opts["bright_lambda"] = lam
    if skip_unpaired:
        opts["skip_unpaired"] = True
    ds = _dataset(name, root, opts)
    if hasattr(ds, "testset_tables"):
        tables = dict(zip(ds.test_sets, ds.testset_tables()))
    else:
        tables = {}
        for test_set in ds.test_sets:
            rows = [{"id": p.id, "ldr": str(p.ldr), "hdr": str(p.hdr), "bright_fraction": _bright(p.ldr)}
                    for p in ds.pairs(test_set)]
            tables[test_set] = pd.DataFrame(rows, columns=["id", "ldr", "hdr", "bright_fraction"])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for test_set, table in tables.items():
        path = out / f"{test_set}.csv"
        table.to_csv(path, index=False)
        click.echo(f"{test_set}: {len(table)} pairs -> {path}")


def _bright(path: Path) -> float:
    """The Test set2 bright fraction of an 8-bit LDR file (NaN for other bit depths)."""
    from hdrbench.datasets.cityscapes import bright_fraction
    from hdrbench.io import read_image

    img = read_image(path)
    return bright_fraction(img) if img.dtype.name == "uint8" else float("nan")


@data_cmd.command("synth")
@click.option("--hdr-dir", type=click.Path(exists=True, file_okay=False), required=True,
              help="Folder of HDR images (EXR, .hdr, PFM, NPY, 16-bit PNG/TIFF).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True,
              help="New folder: ldr/, hdr/, manifest.csv/.json (a 'folder' dataset).")
@click.option("-o", "--option", "options", multiple=True,
              help="Camera option KEY=VALUE: exposure, clip_fraction, ev, ev_anchor, response, gamma, read_noise, "
                   "shot_noise, jpeg_quality, seed, hdr_headroom.")
def synth_cmd(hdr_dir: str, out_dir: str, options: tuple[str, ...]) -> None:
    """Photograph every HDR image with the virtual camera and write LDR/HDR pairs with a manifest."""
    from hdrbench.datasets.synth import write_pairs

    opts = parse_options(options)
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise HDRBenchError("output folder exists and is not empty; choose a new --out", out)
    ds = _dataset("hdr_folder", hdr_dir, opts)
    rows = write_pairs(out, ds.scenes("test"), ds.camera, ds.options["hdr_headroom"])
    mean_clip = sum(r["clip_fraction_achieved"] for r in rows) / len(rows)
    click.echo(f"{len(rows)} pairs -> {out} (mean clipped fraction {100 * mean_clip:.2f} %; "
               f"read them with --dataset folder --root {out})")
