"""``hdrbench score``: metrics of a prediction against a ground truth (two files or two folders)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click

from hdrbench.cli.options import Command, FiniteFloatRange, LazyChoice, device_option, protocol_names
from hdrbench.config import DEFAULT_PROTOCOL
from hdrbench.errors import HDRBenchError
from hdrbench.keyvalue import parse_key_values

SCORE_SUFFIXES = (".npy", ".exr", ".hdr", ".pfm", ".png", ".tif", ".tiff")


def _parse_params(pairs: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """``METRIC.KEY=VALUE`` strings → ``{metric: {key: value}}`` (values parsed as JSON when they can be)."""
    out: dict[str, dict[str, Any]] = {}
    for key, value in parse_key_values(pairs, "--param", "ssim.domain=mu-law", "METRIC.KEY=VALUE").items():
        metric, dot, param = key.partition(".")
        if not dot or not metric or not param:
            raise HDRBenchError(f"--param '{key}={value}' must be METRIC.KEY=VALUE, e.g. ssim.domain=mu-law")
        out.setdefault(metric.lower(), {})[param] = value
    return out


def _check_white(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--white``: ``p99`` (or ``gt-p99``) or a finite number > 0, refused at parse time."""
    if value is None or value.lower() in ("p99", "gt-p99"):
        return value
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and number > 0):
        raise click.BadParameter(f"'{value}' is neither a finite number > 0 nor p99; e.g. --white 1.0", ctx, param)
    return value


#: Suffixes of the LDR inputs ``--ldr`` pairs with the ground truth.
LDR_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


def _index(folder: Path, suffixes: tuple[str, ...] = SCORE_SUFFIXES) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in suffixes:
            if p.stem in files:
                raise HDRBenchError(f"two files share the stem '{p.stem}' ({files[p.stem].name}, {p.name}); keep one",
                                    folder)
            files[p.stem] = p
    if not files:
        raise HDRBenchError(f"no images ({', '.join(suffixes)}) in this folder", folder)
    return files


def _inputs(ldr: Path, pairs: list[tuple[Path, Path]]) -> list[Path]:
    """The LDR input of each pair: the file, or the folder's file of the ground truth's stem."""
    if not ldr.exists():
        raise HDRBenchError("not found; --ldr is the LDR input the predictions were made from", ldr)
    if not ldr.is_dir():
        if len(pairs) > 1:
            raise HDRBenchError("one --ldr file for folders of predictions: give the folder of LDR inputs", ldr)
        return [ldr]
    found = _index(ldr, LDR_SUFFIXES)
    missing = [g.stem for _, g in pairs if g.stem not in found]
    if missing:
        raise HDRBenchError(f"{len(missing)} ground-truth image(s) have no LDR input of the same stem (first: "
                            f"'{missing[0]}')", ldr)
    return [found[g.stem] for _, g in pairs]


def _pairs(pred: Path, gt: Path) -> list[tuple[Path, Path]]:
    """(prediction, ground truth) files: the two files, or the two folders paired by file stem."""
    for p in (pred, gt):
        if not p.exists():
            raise HDRBenchError("not found; check the path", p)
    if pred.is_dir() != gt.is_dir():
        raise HDRBenchError("PRED and GT must both be files or both be folders", pred)
    if not pred.is_dir():
        return [(pred, gt)]
    preds, gts = _index(pred), _index(gt)
    missing = [s for s in gts if s not in preds]
    if missing:
        raise HDRBenchError(f"{len(missing)} ground-truth image(s) have no prediction of the same stem (first: "
                            f"'{missing[0]}'); predictions must be named like the ground truth", pred)
    return [(preds[s], gts[s]) for s in gts]


def provenance(scorer: Any) -> dict[str, Any]:
    """What a score sidecar records besides the protocol: hdrbench's version and the scoring options."""
    from hdrbench import __version__

    return {"hdrbench_version": __version__, **scorer.describe()}


@click.command("score", cls=Command)
@click.argument("pred", type=click.Path(path_type=Path))
@click.argument("gt", type=click.Path(path_type=Path))
@click.option("--metric", "metrics", multiple=True,
              help="Metric name (repeatable; default: the protocol's list). See 'hdrbench list'.")
@click.option("--protocol", default=DEFAULT_PROTOCOL, show_default=True, type=LazyChoice(protocol_names),
              help="Named protocol: normalisation and metric parameters. dcdr: display-referred [0, 1] data (the "
                   "paper's); scene: scene-referred, 1.0 = reference white (see docs/scoring.md).")
@click.option("--white", default=None, callback=_check_white,
              help="Reference white in the files' units (a number, or p99 for the ground truth's 99th percentile); "
                   "for --protocol scene.")
@click.option("--protocol-option", "protocol_options", multiple=True,
              help="A named option of the protocol, KEY=VALUE (repeatable): white, clip_pred, psnr; the protocol's "
                   "name then shows it, e.g. dcdr(clip_pred=false) (docs/scoring.md).")
@click.option("--ppd", type=FiniteFloatRange(min=0.0, min_open=True), default=None,
              help="HDR-VDP-2 pixels per degree, > 0 (protocol dcdr: 24).")
@click.option("--scale", type=FiniteFloatRange(min=0.0, min_open=True), default=None,
              help="HDR-VDP-2 input scale, > 0: cd/m² of a value of 1.0 after the protocol's normalisation (dcdr: 1).")
@click.option("--backend", type=click.Choice(["torch", "octave"]), default=None,
              help="HDR-VDP-2 implementation: our torch port (default) or the original under GNU Octave "
                   "(needs --hdrvdp-dir).")
@click.option("--hdrvdp-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="A copy of the original HDR-VDP 2.2.x folder: run by --backend octave; with the torch port, "
                   "its data files (next to hdrvdp.m, or in data/) replace the shipped HDR-VDP 2.2.1 data.")
@click.option("--param", "params", multiple=True, help="Metric parameter METRIC.KEY=VALUE (repeatable).")
@click.option("--crf/--no-crf", default=None,
              help="Also report every metric on the CRF-corrected prediction, as METRIC@crf (default: protocol's).")
@click.option("--clamp", is_flag=True,
              help="Repair predictions instead of failing: NaN/-inf/negatives -> 0, +inf -> max of the ground truth.")
@click.option("--clamp-gt", is_flag=True,
              help="Clip a ground truth's negative values to 0 instead of failing (tiny ones, above -1e-4 of its "
                   "maximum, always are), with a counted warning.")
@click.option("--ldr", type=click.Path(path_type=Path), default=None,
              help="The LDR input(s) the predictions were made from (a file, or a folder paired by stem): with "
                   "--regions.")
@click.option("--regions", is_flag=True,
              help="Also score inside the overexposed regions of --ldr, by distance to well-exposed content and by "
                   "component size (docs/regions.md).")
@click.option("--region-threshold", type=click.IntRange(0, 254), default=None,
              help="Overexposed: 8-bit gray value strictly above this (default 240, the paper's T_bright).")
@click.option("--region-rule", type=click.Choice(["gray", "channel"]), default="gray", show_default=True,
              help="gray: BT.601 gray of the 8-bit LDR; channel: any channel.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per pair per line on stdout.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV of per-pair scores (with OUT.json: protocol and metric parameters).")
@device_option()
def score_cmd(pred: Path, gt: Path, metrics: tuple[str, ...], protocol: str, white: str | None,
              protocol_options: tuple[str, ...], ppd: float | None,
              scale: float | None, backend: str | None, hdrvdp_dir: Path | None, params: tuple[str, ...],
              crf: bool | None, clamp: bool, clamp_gt: bool, ldr: Path | None, regions: bool,
              region_threshold: int | None, region_rule: str, as_json: bool, out: Path | None, device: str) -> None:
    """Score linear HDR prediction(s) PRED against ground truth GT (files or folders paired by stem).

    Formats: .exr, .hdr, .pfm, .npy, 16-bit PNG/TIFF (divided by 65535).
    """
    overrides = _parse_params(params)
    if ppd is not None:
        overrides.setdefault("hdrvdp2", {})["ppd"] = ppd
    if scale is not None:
        overrides.setdefault("hdrvdp2", {})["scale"] = scale
    if backend == "octave" and hdrvdp_dir is None:
        raise HDRBenchError("--backend octave runs the original: add --hdrvdp-dir PATH (the folder of hdrvdp.m)")
    if backend is not None:
        overrides.setdefault("hdrvdp2", {})["backend"] = backend
    if hdrvdp_dir is not None:
        key = "octave_path" if backend == "octave" else "hdrvdp_dir"
        overrides.setdefault("hdrvdp2", {})[key] = str(hdrvdp_dir)
    if out is not None and out.suffix.lower() != ".csv":
        raise HDRBenchError("--out writes a CSV of per-pair scores: give it a .csv name", out)
    pairs = _pairs(pred, gt)
    if regions and ldr is None:
        raise HDRBenchError("--regions scores inside the overexposed regions of the LDR input: add --ldr FILE|FOLDER")
    if ldr is not None and not regions:
        raise HDRBenchError("--ldr is read for --regions only: add --regions")
    inputs = _inputs(ldr, pairs) if ldr is not None else [None] * len(pairs)
    spec = None
    if regions:
        from hdrbench.defaults import REGION_THRESHOLD
        from hdrbench.metrics.regions import RegionSpec

        spec = RegionSpec(REGION_THRESHOLD if region_threshold is None else region_threshold, region_rule)
    from hdrbench import io

    if out is not None:  # before scoring: a full disk or read-only folder must not cost the work
        io.check_output(out)
        io.check_output(sidecar_path(out))
    from tqdm import tqdm

    from hdrbench.metrics.scoring import Scorer, json_record, score_record

    scorer = Scorer(protocol, metrics, overrides, crf=crf, device=device, white=white,
                    options=parse_key_values(protocol_options, "--protocol-option", "clip_pred=false"))
    records = []
    misfits = 0
    for (p, g), x in tqdm(list(zip(pairs, inputs)), desc=f"score ({protocol})", unit="pair",
                          disable=len(pairs) == 1):
        record = score_record(scorer, p, g, clamp=clamp, clamp_gt=clamp_gt, ldr=x, regions=spec)
        records.append(record)
        misfits += any("protocol '" in w for w in record["warnings"])
        for line in record["warnings"]:
            click.echo(f"hdrbench: warning: {line}", err=True)
        if as_json:
            click.echo(json.dumps(json_record(record)))
    if misfits:
        click.echo(f"hdrbench: warning: {misfits} of {len(records)} pair(s) do not fit protocol "
                   f"'{scorer.protocol.name}' (see the warnings above and docs/scoring.md)", err=True)
    if not as_json:  # printed before writing --out: a failed write still leaves the means on screen
        label = "" if len(records) == 1 else f" (mean of {len(records)} pairs)"
        click.echo(f"protocol {scorer.protocol.name}{label}")
        for col in scorer.columns:
            vals = [r["metrics"][col] for r in records]
            mean = sum(vals) / len(vals)
            name = col.removesuffix("@crf")
            arrow = "↓" if scorer.metrics[name].lower_better else "↑"
            click.echo(f"  {col:<16} {mean:10.4f} {arrow}")
        if spec is not None:
            _echo_regions(records)
    if out is not None:
        write_scores(out, scorer, records, pairs, misfits)
        if not as_json:
            click.echo(f"wrote {out}")


def _echo_regions(records: list[dict[str, Any]]) -> None:
    """Per stratum and bin: pixels, images and the mean over the images with pixels in the bin."""
    import math

    from hdrbench.metrics.regions import QUANTITIES

    for stratum in ("by_distance", "by_size"):
        click.echo(f"regions {stratum.replace('_', ' ')}:{'pixels':>12} {'images':>7}" +
                   "".join(f" {q:>13}" for q in QUANTITIES))
        for k, first in enumerate(records[0]["regions"][stratum]):
            recs = [r["regions"][stratum][k] for r in records]
            line = f"  {first['bin']:<20}{sum(r['pixels'] for r in recs):>10} {sum(r['images'] for r in recs):>7}"
            for q in QUANTITIES:
                vals = [r[q] for r in recs if r["pixels"] and r[q] is not None]
                line += f" {sum(vals) / len(vals):13.4f}" if vals and all(math.isfinite(v) for v in vals) else \
                    f" {'inf' if vals else '—':>13}"
            click.echo(line)


def sidecar_path(out: Path) -> Path:
    """The JSON sidecar of a ``--out`` CSV: ``OUT.json``."""
    return out.with_name(out.name + ".json")


def write_scores(out: Path, scorer: Any, records: list[dict[str, Any]], pairs: list[tuple[Path, Path]],
                 misfits: int) -> None:
    """Write the per-pair CSV ``out`` and its sidecar together: both files are replaced, or neither is."""
    import pandas as pd

    from hdrbench import io

    rows = [{"pred": r["pred"], "gt": r["gt"], **r["metrics"], "warnings": " | ".join(r["warnings"])}
            for r in records]
    table = pd.DataFrame(rows, columns=["pred", "gt", *scorer.columns, "warnings"]).to_csv(index=False)
    made = {str(p): a for p, _ in pairs if (a := io.read_exr_attributes(p))}
    side = {**provenance(scorer), "pairs": len(records), "protocol_misfits": misfits, "predictions": made}
    with io.atomic_write(out) as f, io.atomic_write(sidecar_path(out)) as g:
        f.write(table.encode("utf-8"))
        g.write(json.dumps(side, indent=2, default=str).encode("utf-8"))
