"""Learning study: train methods on the same data at the same budget, score a held-out split as they learn.

Every method is trained by hdrbench's own loop (:func:`hdrbench.train.train`) with one shared recipe override
(iterations, batch, patch, lr, schedule), writing a checkpoint every ``--eval-every`` steps; each checkpoint
(and the initial weights, step 0) is then scored on the held-out split with the ``dcdr`` protocol (PSNR-μ,
PSNR-L) and a colour check (per-channel mean ratio prediction / ground truth). The "do nothing" row (the
LDR linearised with the dataset's camera response, at its saturation level) is drawn as a horizontal line.

Outputs in ``--out`` (default ``results/learning``)::

    curves.csv        method, step, seconds (training wall time), psnr_mu, psnr_l, worst channel ratio
    final_views.csv   per test view at the last step: psnr_mu, psnr_l, channel ratios r, g, b
    learning.png      validation PSNR-μ vs iterations and vs training wall time, one line per method
    checkpoints/      the training runs (resumable: a rerun with the same settings only re-scores)

Methods are given as ``NAME`` or ``LABEL=NAME:key=value,key=value`` (options of the registered method), e.g.
``--method dcdr --method dcdr-relu=dcdr:relu_between=true``. CPU default: 200 iterations, batch 4, 64²
patches, 1 thread, cosine schedule (a few minutes per method); a CUDA budget e.g.
``--device cuda --iterations 3000 --batch 16 --patch 128 --eval-every 250``.

    python benchmarks/learning.py                           # identity, hdrunet, dcdr on the demo set
    python benchmarks/learning.py --iterations 2 --eval-every 1 --patch 16 --batch 1 --views 2   # smoke run
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hdrbench.checkpoint import load_weights  # noqa: E402
from hdrbench.datasets.base import PairedDataset, create_dataset  # noqa: E402
from hdrbench.errors import HDRBenchError  # noqa: E402
from hdrbench.method import Method, create_method  # noqa: E402
from hdrbench.metrics.protocols import get_protocol  # noqa: E402
from hdrbench.metrics.regions import overexposed_mask, region_scores  # noqa: E402
from hdrbench.report.stats import bootstrap_ci  # noqa: E402
from hdrbench.train import TrainJob, train  # noqa: E402
from hdrbench.train.loop import LOG_FILE  # noqa: E402

IDENTITY = "identity"
#: Colour check: every channel's mean prediction / mean ground truth must lie in this band on every view.
RATIO_BAND = (0.95, 1.05)
#: Well-exposed pixels for the colour check: every LDR channel below 250/255 (the tone net's domain).
WELL_EXPOSED = 250 / 255


@dataclass
class Spec:
    """One curve: a label, a registered method name and its option overrides."""

    label: str
    name: str
    options: dict[str, Any] = field(default_factory=dict)
    recipe: dict[str, Any] = field(default_factory=dict)  # per-method recipe overrides (``recipe.KEY=VALUE``)
    recipes: str | None = None  # per-method training switch (``recipes=paper``); None: ``--recipes``


def _fraction(text: str) -> float:
    a, _, b = text.partition("/")  # 1/12.75; a file path has no number before its slash, so stays text
    return float(a) / float(b)


def _value(text: str) -> Any:
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    for parse in (int, float, _fraction):
        try:
            return parse(text)
        except ValueError:
            continue
    return text


def parse_spec(text: str) -> Spec:
    """``NAME`` or ``LABEL=NAME:k=v,k=v`` → :class:`Spec` (``blocks=2;4;2`` for tuples; ``recipe.scheduler=constant``
    overrides the shared recipe for this method only; ``recipes=paper`` sets its training switch)."""
    label, _, rest = text.partition("=") if "=" in text.split(":", 1)[0] else ("", "", text)
    name, _, opts = rest.partition(":")
    options: dict[str, Any] = {}
    for item in filter(None, opts.split(",")):
        key, sep, val = item.partition("=")
        if not sep:
            raise HDRBenchError(f"--method {text!r}: option {item!r} is not key=value")
        options[key.strip()] = [_value(v) for v in val.split(";")] if ";" in val else _value(val)
    recipe = {k.removeprefix("recipe."): options.pop(k) for k in list(options) if k.startswith("recipe.")}
    recipes = options.pop("recipes", None)
    return Spec(label or name, name.strip(), options, recipe, None if recipes is None else str(recipes))


def test_views(dataset: PairedDataset, split: str, limit: int | None) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """``[(id, ldr, hdr)]`` with ``(1, 3, H, W)`` tensors (LDR display-referred [0, 1], HDR linear)."""
    out = []
    for pair in dataset.pairs(split)[:limit]:
        ldr, hdr = dataset.load_pair(pair)
        out.append((pair.id, torch.from_numpy(ldr).permute(2, 0, 1)[None].float(),
                    torch.from_numpy(hdr).permute(2, 0, 1)[None].float()))
    return out


def identity_prediction(dataset: PairedDataset, ldr: torch.Tensor) -> torch.Tensor:
    """"Do nothing": the registered ``identity`` method, i.e. the LDR linearised with the dataset's declared
    camera response and placed at its saturation level (``ldr**2.2 / 64`` on the demo set)."""
    method = create_method(IDENTITY)
    method.bind_dataset(dataset)
    return method.predict(method.build_network(), ldr)


class Scorer:
    """PSNR-μ and PSNR-L under the ``dcdr`` protocol, PSNR-μ inside the overexposed regions (``psnr_mu_over``:
    the region scores' mask, 8-bit gray > 240, NaN for a view without one), and per-channel mean ratios
    prediction / ground truth over all pixels (``ratio_*``) and over the well-exposed ones (``wratio_*``: every LDR
    channel below :data:`WELL_EXPOSED`), for one prediction."""

    def __init__(self) -> None:
        self.protocol = get_protocol("dcdr")
        self.metrics = {m: self.protocol.create(m) for m in ("psnr-mu", "psnr-l")}

    def __call__(self, pred: torch.Tensor, gt: torch.Tensor, ldr: torch.Tensor) -> dict[str, float]:
        p, g = self.protocol.prepare(pred.float(), gt.float())
        row = {k.replace("-", "_"): float(m(p, g)[0]) for k, m in self.metrics.items()}
        mask = overexposed_mask(ldr[0].permute(1, 2, 0).cpu().numpy())
        inside = region_scores(p, g, [mask], self.metrics)[0]["psnr-mu"]
        row["psnr_mu_over"] = float("nan") if inside is None else float(inside)
        well = (ldr.amax(dim=1, keepdim=True) < WELL_EXPOSED).expand_as(p)
        for prefix, mask in (("ratio", torch.ones_like(well)), ("wratio", well)):
            n = mask.sum(dim=(0, 2, 3)).clamp_min(1)
            ratios = (p * mask).sum(dim=(0, 2, 3)) / n / ((g * mask).sum(dim=(0, 2, 3)) / n).clamp_min(1e-12)
            row.update({f"{prefix}_{c}": float(r) for c, r in zip("rgb", ratios)})
        return row


def score_views(method: Method | None, net: torch.nn.Module | None, views, scorer: Scorer,
                dataset: PairedDataset) -> list[dict[str, Any]]:
    rows = []
    for vid, ldr, hdr in views:
        pred = identity_prediction(dataset, ldr) if method is None else method.predict(net, ldr)
        rows.append({"view": vid, **scorer(pred, hdr, ldr)})
    return rows


def channel_ratios(rows: list[dict[str, Any]], prefix: str) -> np.ndarray:
    """``(views, 3)`` per-channel mean ratios prediction / ground truth."""
    return np.maximum(np.array([[r[f"{prefix}_{c}"] for c in "rgb"] for r in rows]), 1e-12)


def summarise(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Mean PSNR-μ / PSNR-L over the views; the worst (farthest from 1) channel ratio over all pixels and
    over well-exposed pixels; the worst cast (max / min of a view's three well-exposed channel ratios)."""
    out = {"psnr_mu": float(np.mean([r["psnr_mu"] for r in rows])),
           "psnr_l": float(np.mean([r["psnr_l"] for r in rows])),
           "psnr_mu_over": float(np.nanmean([float(r.get("psnr_mu_over", "nan")) for r in rows]))}
    for prefix in ("ratio", "wratio"):
        ratios = channel_ratios(rows, prefix)
        out[f"worst_{prefix}"] = float(ratios.flat[np.argmax(np.abs(np.log(ratios)))])
    w = channel_ratios(rows, "wratio")
    out["worst_cast"] = float((w.max(axis=1) / w.min(axis=1)).max())
    return out


def cumulative_seconds(run_dir: Path) -> dict[int, float]:
    """Training wall time at each logged step (sum of the loop's per-interval ``seconds``)."""
    out, total = {0: 0.0}, 0.0
    with open(run_dir / LOG_FILE, newline="") as f:
        for row in csv.DictReader(f):
            total += float(row["seconds"])
            out[int(row["step"])] = total
    return out


class ScoreCache:
    """Per-view scores of one run's checkpoints, kept next to them (``val_scores.csv``) so that a rerun (e.g.
    ``--score-only`` over several runs) only scores what is new; keyed by step, checkpoint mtime and views."""

    def __init__(self, path: Path):
        self.path = path
        self.rows: dict[str, list[dict[str, Any]]] = {}
        if path.is_file():
            with open(path, newline="") as f:
                for r in csv.DictReader(f):
                    key = r.pop("key")
                    self.rows.setdefault(key, []).append({k: (v if k == "view" else float(v)) for k, v in r.items()})

    def get(self, key: str) -> list[dict[str, Any]] | None:
        return self.rows.get(key)

    def put(self, key: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.rows[key] = rows
        write_csv(self.path, [{"key": k, **r} for k, rs in self.rows.items() for r in rs])
        return rows


def run_method(spec: Spec, args: argparse.Namespace, dataset: PairedDataset, views, scorer: Scorer,
               overrides: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Train one method and score every checkpoint; returns (curve rows, per-view rows at the last step)."""
    method = create_method(spec.name, **spec.options)
    method.bind_dataset(dataset)
    run_dir = Path(args.out) / "checkpoints" / spec.label
    job = TrainJob(method=method, dataset=dataset, run_dir=run_dir, recipes=spec.recipes or args.recipes,
                   overrides={**overrides, **spec.recipe},
                   seed=args.seed, device=args.device, checkpoint_every=args.eval_every, log_every=args.eval_every,
                   tensorboard=False, precision="fp32", num_workers=0, keep_checkpoints=10**9,
                   progress=args.progress)
    if not args.score_only:
        t0 = time.perf_counter()
        train(job, fresh=args.fresh)
        print(f"[{spec.label}] trained in {time.perf_counter() - t0:.0f} s", flush=True)
    if not (run_dir / LOG_FILE).is_file():
        raise HDRBenchError(f"no training run of '{spec.label}' to score (run without --score-only first)", run_dir)
    seconds = cumulative_seconds(run_dir)
    torch.manual_seed(args.seed)  # the loop seeds the same way before building the network: step 0 = its init
    net = method.build_network().to(args.device).eval()
    steps = [0] + sorted(int(p.stem.split("_")[1]) for p in run_dir.glob("step_*.safetensors"))
    cache = ScoreCache(run_dir / "val_scores.csv")
    curve, last = [], []
    for step in steps:
        weights = run_dir / f"step_{step:08d}.safetensors"
        key = f"{step}:{weights.stat().st_mtime_ns if step else 0}:{len(views)}"
        last = cache.get(key)
        if last is None:
            if step:
                load_weights(net, weights)
            last = cache.put(key, score_views(method, net, views, scorer, dataset))
        row = {"method": spec.label, "step": step, "seconds": round(seconds.get(step, float("nan")), 2),
               **{k: round(v, 4) for k, v in summarise(last).items()}}
        curve.append(row)
        print(f"[{spec.label}] step {step:6d}  {row['seconds']:8.1f} s  PSNR-mu {row['psnr_mu']:.3f}  "
              f"PSNR-L {row['psnr_l']:.3f}  worst channel ratio {row['worst_ratio']:.3f} (well-exposed "
              f"{row['worst_wratio']:.3f})  cast {row['worst_cast']:.3f}", flush=True)
    return curve, [{"method": spec.label, **r} for r in last]


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    fields = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)


def plot(path: Path, curves: list[dict[str, Any]], identity: float, title: str) -> None:
    """PSNR-μ vs iterations and vs training wall time, identity as a horizontal line, one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    labels = list(dict.fromkeys(r["method"] for r in curves))
    for label in labels:
        rows = [r for r in curves if r["method"] == label]
        for ax, key in zip(axes, ("step", "seconds")):
            ax.plot([r[key] for r in rows], [r["psnr_mu"] for r in rows], marker=".", label=label)
    for ax, xlabel in zip(axes, ("training iterations", "training wall time (s)")):
        ax.axhline(identity, color="k", ls="--", lw=1, label="identity (LDR linearised)")
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("validation PSNR-μ (dB, dcdr protocol)")
    lows = [r["psnr_mu"] for r in curves if r["step"] > 0] + [identity]
    axes[0].set_ylim(max(min(lows) - 1.0, identity - 6.0), max(lows) + 0.5)  # far-off starts leave the frame
    axes[1].legend(fontsize=7, loc="lower right")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def ratio_check(rows: list[dict[str, Any]], prefix: str) -> str:
    """``PASS`` or ``FAIL k/n`` (channel ratios outside :data:`RATIO_BAND`, out of views × 3)."""
    r = channel_ratios(rows, prefix)
    bad = int(((r < RATIO_BAND[0]) | (r > RATIO_BAND[1])).sum())
    return "PASS" if not bad else f"FAIL {bad}/{r.size}"


def paired_difference(views: list[dict[str, Any]], a: str, b: str, resamples: int = 2000,
                      column: str = "psnr_mu") -> str:
    """``a − b`` mean of ``column`` (PSNR-μ; ``psnr_mu_over``: inside the overexposed regions) over the views where
    both are defined, with its 95 % percentile-bootstrap interval."""
    pa = {r["view"]: float(r.get(column, "nan")) for r in views if r["method"] == a}
    pb = {r["view"]: float(r.get(column, "nan")) for r in views if r["method"] == b}
    common = sorted(v for v in set(pa) & set(pb) if np.isfinite(pa[v]) and np.isfinite(pb[v]))
    d = np.array([pa[v] - pb[v] for v in common])
    if not len(d):
        return f"{a} - {b} {column}: no view where both are defined"
    lo, hi = bootstrap_ci(d, resamples=resamples)
    return f"{a} - {b} {column}: {d.mean():+.3f} dB, 95% bootstrap CI [{lo:+.3f}, {hi:+.3f}] over {len(d)} views"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--method", action="append", dest="methods", metavar="SPEC",
                   help="NAME or LABEL=NAME:key=value,... (repeat; default: hdrunet, dcdr)")
    p.add_argument("--dataset", default="demo")
    p.add_argument("--split", default="test", help="held-out split scored during training (default test)")
    p.add_argument("--views", type=int, default=None, help="score only the first N views")
    p.add_argument("--iterations", type=int, default=200)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--patch", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--scheduler", default="cosine",
                   help="one schedule for every method (constant, cosine, multistep, ...) or 'recipe' (own)")
    p.add_argument("--crop", default="grid", help="patch cutting for every method: grid (default) or random")
    p.add_argument("--augment", default="hflip,vflip",
                   help="random augmentations for every method, comma-separated ('' for none; default hflip,vflip)")
    p.add_argument("--recipes", default="official", choices=("official", "paper", "paper-patches"),
                   help="training switch for every method (bench.toml [train] recipes; per method: recipes=...)")
    p.add_argument("--keep", action="append", default=[], metavar="FIELD",
                   help="a recipe field not overridden by the shared budget (repeat: batch_size, lr, crop, augment)")
    p.add_argument("--eval-every", type=int, default=25)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(ROOT / "results" / "learning"))
    p.add_argument("--png", default=None, help="where to write the figure (default OUT/learning.png)")
    p.add_argument("--fresh", action="store_true", help="retrain even if a finished run with these settings exists")
    p.add_argument("--progress", action="store_true", help="show a progress bar while training")
    p.add_argument("--reference", action="append", metavar="LABEL",
                   help="print this one's PSNR-mu difference to every method (whole image and in-region), with its "
                        "bootstrap CI (repeat; default hdrunet)")
    p.add_argument("--score-only", action="store_true", help="do not train: score the runs already in OUT")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    specs = [parse_spec(s) for s in (args.methods or ["hdrunet", "dcdr"])]
    specs = [s for s in specs if s.name != IDENTITY]  # always drawn as the reference line
    overrides: dict[str, Any] = {"iterations": args.iterations, "batch_size": args.batch, "patch_size": args.patch,
                                 "lr": args.lr, "crop": args.crop,
                                 "augment": [a for a in args.augment.split(",") if a]}
    for key in args.keep:
        if key not in overrides:
            raise HDRBenchError(f"--keep {key}: not a shared override (one of {', '.join(overrides)})")
        del overrides[key]
    if args.scheduler != "recipe":
        overrides["scheduler"] = args.scheduler
        if args.scheduler == "multistep":  # HDRUNet's shape: halve at 20/40/60/80 % of the budget
            overrides["milestones"] = [round(args.iterations * f) for f in (0.2, 0.4, 0.6, 0.8)]

    dataset = create_dataset(args.dataset)
    views = test_views(dataset, args.split, args.views)
    scorer = Scorer()
    id_rows = [{"method": IDENTITY, **r} for r in score_views(None, None, views, scorer, dataset)]
    ident = summarise(id_rows)
    print(f"[identity] PSNR-mu {ident['psnr_mu']:.3f}  PSNR-L {ident['psnr_l']:.3f}  worst channel ratio "
          f"{ident['worst_ratio']:.3f} (well-exposed {ident['worst_wratio']:.3f})", flush=True)
    curves: list[dict[str, Any]] = [{"method": IDENTITY, "step": 0, "seconds": 0.0, **ident}]
    finals: list[dict[str, Any]] = list(id_rows)
    for spec in specs:
        curve, last = run_method(spec, args, dataset, views, scorer, overrides)
        curves += curve
        finals += last
    write_csv(out / "curves.csv", curves)
    write_csv(out / "final_views.csv", finals)
    kept = set(args.keep)
    budget = (f"{args.dataset} {args.split} ({len(views)} views); {args.iterations} it, batch "
              f"{'each recipe' if 'batch_size' in kept else args.batch}, {args.patch}² patches, lr "
              f"{'each recipe' if 'lr' in kept else f'{args.lr:g}'} {args.scheduler}, {args.device}"
              + (f" {args.threads} thread(s)" if args.device == "cpu" else ""))
    png = Path(args.png) if args.png else out / "learning.png"
    plot(png, [c for c in curves if c["method"] != IDENTITY], ident["psnr_mu"], budget)

    print(f"\nBudget: {budget}")
    print(f"colour check: per-channel mean ratio prediction / ground truth in [{RATIO_BAND[0]}, {RATIO_BAND[1]}] "
          "on every view, over all pixels and over well-exposed pixels; cast = worst max/min channel ratio")
    print(f"{'method':<24} PSNR-mu  PSNR-L  in-region  vs identity   cast   all pixels   well-exposed")
    for label in dict.fromkeys(r["method"] for r in finals):
        rows = [r for r in finals if r["method"] == label]
        s = summarise(rows)
        checks = [ratio_check(rows, prefix) for prefix in ("ratio", "wratio")]
        print(f"{label:<24} {s['psnr_mu']:7.3f} {s['psnr_l']:7.3f}  {s['psnr_mu_over']:9.3f}  "
              f"{s['psnr_mu'] - ident['psnr_mu']:+7.3f}   "
              f"{s['worst_cast']:6.3f}   {checks[0]:<12} {checks[1]}")
    labels = [s.label for s in specs]
    for ref in args.reference or ["hdrunet"]:
        for other in labels:
            if other != ref and ref in labels:
                for column in ("psnr_mu", "psnr_mu_over"):
                    print(paired_difference(finals, ref, other, column=column))
    print(f"\nwrote {out / 'curves.csv'}, {out / 'final_views.csv'}, {png}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except HDRBenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
