"""``hdrbench data``: inspect datasets, write the paper's test-set lists, photograph HDR folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from hdrbench.cli.options import FiniteFloatRange, Group
from hdrbench.errors import HDRBenchError
from hdrbench.keyvalue import parse_key_values


def parse_options(items: tuple[str, ...]) -> dict[str, Any]:
    """``("key=value", ...)`` → dict (:func:`hdrbench.keyvalue.parse_key_values`)."""
    return parse_key_values(items, "-o", "clip_fraction=0.05")


def _dataset(name: str, root: str | None, options: dict[str, Any]):
    from hdrbench.datasets import create_dataset

    return create_dataset(name, root, **options)


@click.group("data", cls=Group)
def data_cmd() -> None:
    """Datasets: layouts, split sizes, test-set lists, virtual-camera pairs."""


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
@click.option("--check", "n_check", type=click.IntRange(min=-1), default=4, show_default=True,
              help="Read the first N pairs of each split (sizes match, LDR is 8-bit, HDR is readable); -1: all.")
def info_cmd(name: str, root: str | None, options: tuple[str, ...], splits: tuple[str, ...], n_check: int) -> None:
    """Count the pairs of each split, read a few of them, and show the dataset's conventions.

    Exits with code 2 when a split cannot be read (unpaired files, a size or bit-depth mismatch)."""
    ds = _dataset(name, root, parse_options(options))
    click.echo(f"dataset {ds.name}: {ds.summary}")
    click.echo(f"HDR convention: {ds.hdr_convention}")
    problems: list[str] = []
    for split in splits or (ds.train_split, *ds.test_sets):
        try:
            pairs = ds.pairs(split)
            for pair in pairs if n_check < 0 else pairs[:n_check]:
                ds.load_pair(pair)
            checked = len(pairs) if n_check < 0 else min(n_check, len(pairs))
            click.echo(f"{split:<12}{len(pairs):>7} pairs ({checked} read and checked)")
        except HDRBenchError as exc:
            click.echo(f"{split:<12}   none ({exc})")
            absent = "not found" in exc.message or "exists" in exc.message
            if splits or not absent:  # a default split a dataset simply lacks is no problem
                problems.append(f"{split}: {exc}")
    if problems:
        raise HDRBenchError(f"{len(problems)} split(s) unusable; first: {problems[0]}")


@data_cmd.command("testsets")
@click.option("--dataset", "name", default="cityscapes", show_default=True, help="Registered dataset name.")
@click.option("--root", type=click.Path(), default=None, help="The dataset's root folder.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Folder for the CSV files.")
@click.option("--t-bright", type=click.IntRange(0, 254), default=None,
              help="Test set2: gray level 0..254 a bright pixel must exceed (240).")
@click.option("--lambda", "lam", type=FiniteFloatRange(0.0, 1.0, max_open=True), default=None,
              help="Test set2: bright fraction in [0, 1) to exceed (0.029).")
@click.option("--skip-unpaired", is_flag=True, help="Warn about files without a partner instead of failing.")
@click.option("-o", "--option", "options", multiple=True, help="Dataset option KEY=VALUE (repeatable).")
def testsets_cmd(name: str, root: str | None, out_dir: str, t_bright: int | None, lam: float | None,
                 skip_unpaired: bool, options: tuple[str, ...]) -> None:
    """Write DIR/{test set}.csv (id, ldr, hdr, bright_fraction) for each test set and print the counts.

    For Cityscapes: test_set1.csv (every test pair; paper: 1525) and test_set2.csv (pairs with more than
    λ = 0.029 of gray pixels above 240; paper: 424).
    """
    import pandas as pd

    from hdrbench import io

    opts = parse_options(options)
    out = Path(out_dir)
    io.check_output(out / "test_set.csv")  # before reading the dataset
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
    for test_set, table in tables.items():
        path = io.write_text(out / f"{test_set}.csv", table.to_csv(index=False))
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
    from hdrbench import io
    from hdrbench.datasets.synth import ground_truth_too_clipped, write_pairs

    opts = parse_options(options)
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise HDRBenchError("output folder exists and is not empty; choose a new --out", out)
    io.check_output(out / "manifest.json")  # before photographing: the pairs are built beside OUT, then renamed
    io.check_output(out.with_name(f"{out.name}.tmp"))
    ds = _dataset("hdr_folder", hdr_dir, opts)
    rows = write_pairs(out, ds.scenes("test"), ds.camera, ds.options["hdr_headroom"])
    mean_clip = sum(r["clip_fraction_achieved"] for r in rows) / len(rows)
    click.echo(f"{len(rows)} pairs -> {out} (mean clipped fraction {100 * mean_clip:.2f} %; "
               f"check them with 'hdrbench data info --dataset folder --root {out}')")
    neg = [r for r in rows if r["source_negative_values"]]
    bad = sum(r["source_nonfinite_values"] for r in rows)
    if neg or bad:
        low = min((r["source_min"] for r in neg), default=0.0)
        click.echo(f"hdrbench: warning: set to 0 in the sources: {sum(r['source_negative_values'] for r in neg)} "
                   f"negative values in {len(neg)} image(s) (min {low:.3g}) and {bad} NaN/inf values "
                   "(per image in manifest.csv)", err=True)
    peak = max(r["hdr_peak"] for r in rows)
    gt_clip = sum(r["hdr_clipped_fraction"] for r in rows) / len(rows)
    worst = max(rows, key=lambda r: r["hdr_clipped_fraction"])
    if ds.options["hdr_headroom"] is not None and ground_truth_too_clipped(gt_clip, mean_clip):
        click.echo(f"hdrbench: warning: the ground truth itself is clipped (white) in {100 * gt_clip:.1f} % of its "
                   f"pixels on average (up to {100 * worst['hdr_clipped_fraction']:.1f} % in '{worst['id']}'; the "
                   f"LDR: {100 * mean_clip:.1f} %): hdr_headroom={ds.options['hdr_headroom']:g} leaves too little "
                   "range above the LDR's clipping point to score reconstruction; raise it (64 = 6 stops) or leave it "
                   "unset for float EXR ground truth (per image in manifest.csv: hdr_clipped_fraction)", err=True)
        click.echo(f"ground truth: display-referred [0, 1] 16-bit PNG, {100 * gt_clip:.1f} % clipped: NOT fit for "
                   "scoring (see the warning)")
    elif ds.options["hdr_headroom"] is None:
        click.echo(f"ground truth: scene-referred float EXR, 1.0 = the LDR's saturation point (peak {peak:.3g}): "
                   "score it with 'hdrbench score --protocol scene'; -o hdr_headroom=K (K >= 1, e.g. 64) writes [0, 1] "
                   "16-bit ground "
                   "truth for the default dcdr protocol")
    else:
        click.echo("ground truth: display-referred [0, 1] 16-bit PNG (clipped at the headroom): the default dcdr "
                   "protocol fits it")


@data_cmd.command("export-hdr")
@click.option("--dataset", "name", required=True, help="Registered dataset name (see 'hdrbench data layouts').")
@click.option("--root", type=click.Path(), default=None, help="The dataset's root folder (not needed for demo).")
@click.option("-o", "--option", "options", multiple=True, help="Dataset option KEY=VALUE (repeatable).")
@click.option("--test-set", "test_sets", multiple=True, help="Test set(s) to export (default: all of the dataset's).")
@click.option("--encode", "encoding", required=True,
              help="HDR display encoding: pq-png (alias pq), hlg-png (alias hlg), avif-pq, avif-hlg, jxl-linear, "
                   "ultrahdr.")
@click.option("--display", "display", multiple=True,
              help="Display model KEY=VALUE (repeatable): anchor=white|max|absolute, white (default: the dataset's "
                   "saturation level where it declares its camera, else 1), scale, reference_white=203, peak=1000.")
@click.option("--max-images", type=click.IntRange(min=0), default=0, show_default=True,
              help="The first N ground truths of each test set (0: all).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True,
              help="Folder: OUT/<test set>/<id>.<suffix>.")
def export_hdr_cmd(name: str, root: str | None, options: tuple[str, ...], test_sets: tuple[str, ...], encoding: str,
                   display: tuple[str, ...], max_images: int, out_dir: str) -> None:
    """Write a dataset's test ground truths as files an HDR display shows as HDR (docs/hdr-display.md)."""
    from hdrbench import io
    from hdrbench.display.formats import check_targets, get_encoding, write_display_file
    from hdrbench.display.model import DisplayModel, dataset_white, parse_display
    from hdrbench.errors import closest

    enc = get_encoding(encoding, "--encode")
    shown = parse_display(display, "--display")
    DisplayModel.from_options(shown, "--display")  # bad keys or values fail before the dataset is read
    out = io.check_folder(out_dir)  # before the dataset is read
    ds = _dataset(name, root, parse_options(options))
    chosen = list(dict.fromkeys(test_sets)) or list(ds.test_sets)
    for test_set in chosen:  # every name, before anything is written
        if test_set not in ds.test_sets:
            near = closest(test_set, ds.test_sets)
            hint = f"did you mean '{near}'? " if near else ""
            raise HDRBenchError(f"--test-set: dataset '{ds.name}' has no test set '{test_set}' ({hint}its test sets: "
                                f"{', '.join(ds.test_sets)})")
    jobs = []
    for test_set in chosen:
        pairs = ds.pairs(test_set)
        pairs = pairs[:max_images] if max_images else pairs
        targets = [out / test_set / f"{pair.id}{enc.suffix}" for pair in pairs]
        for target in targets:  # each file and sidecar, before the first is written
            check_targets(target, enc.name)
        jobs.append((test_set, pairs, targets))
    for test_set, pairs, targets in jobs:
        model = DisplayModel.from_options(shown, "--display", dataset_white(ds, test_set))
        for pair, target in zip(pairs, targets):
            _, hdr = ds.load_pair(pair)
            notes: list[str] = []
            write_display_file(target, hdr, enc.name, model, notes=notes,
                               attributes={"dataset": ds.name, "test_set": test_set, "ground_truth": str(pair.hdr)})
            for line in notes:  # more than 1 % clipped at the display peak
                click.echo(f"hdrbench: warning: {line}", err=True)
        click.echo(f"{test_set}: {len(pairs)} ground truths -> {out / test_set} ({enc.name}; {model.describe()})")
