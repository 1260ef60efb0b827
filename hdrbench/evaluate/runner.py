"""The evaluation runner: every (method, test set, image) of a resolved plan, scored into the result store.

For each entry of the :class:`~hdrbench.plan.Plan` a *source* makes predictions: a network (trained here, given
weights files, or an untrained method) loaded by :func:`hdrbench.models.open_model` and run with
:func:`hdrbench.models.predict_image`, or a folder of external predictions. A score is pending when the store has
no row of the plan's digest for it (:meth:`hdrbench.plan.Plan.expected`); when an older row of the same image and
metric exists, the digest part that changed is the reason reported. Each image's metrics are written in one
transaction, so a killed run resumes where it stopped. Under ``torchrun`` the pending images are dealt
round-robin to the ranks and rank 0 alone writes. Tensors: ``ldr`` (1, 3, H, W) display-referred [0, 1];
predictions and ground truth linear HDR.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from hdrbench import io
from hdrbench.config import BenchConfig
from hdrbench.datasets.base import Pair
from hdrbench.distributed import broadcast_object, gather_to_main, init_distributed
from hdrbench.errors import HDRBenchError
from hdrbench.evaluate.store import LEGACY, RegionScore, ResultStore, Score
from hdrbench.method import count_parameters
from hdrbench.metrics.regions import LOWER_BETTER, QUANTITIES
from hdrbench.metrics.scoring import CRF_SUFFIX, Scorer, digest_of
from hdrbench.metrics.validate import check_pair, is_scale_note
from hdrbench.models import open_model, predict_image
from hdrbench.plan import REASONS, Entry, Plan, as_plan
from hdrbench.runs import external_prediction

log = logging.getLogger(__name__)


def versions() -> str:
    """Package versions recorded with every score."""
    import importlib.metadata as md

    out = {"python": platform.python_version(), "torch": torch.__version__}
    for pkg in ("hdrbench", "torchvision", "numpy", "scikit-image"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return json.dumps(out, sort_keys=True)


def check_prediction(pred: np.ndarray, gt: np.ndarray, method: str, pair: Pair,
                     notes: list[str] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Validated ``(pred, gt)`` float tensors ``(H, W, 3)`` (linear HDR); NaN/inf is a one-line error.

    Negative predicted values are set to 0 (linear HDR is non-negative; networks without a final ReLU
    undershoot slightly); everything else is :func:`hdrbench.metrics.validate.check_pair`'s.
    """
    bad = ~np.isfinite(pred)
    if bad.any():
        raise HDRBenchError(f"method '{method}' predicted {int(bad.sum())} NaN/inf values for image '{pair.id}'; "
                            "nothing was stored for it (check the checkpoint or retrain)")
    return check_pair(np.maximum(pred, 0.0), gt, f"{method}: {pair.id}", str(pair.hdr), notes=notes)


@dataclass
class Source:
    """Where an entry's predictions come from (a network or an external folder)."""

    entry: Entry
    checkpoint: str = ""  # sha256 of the network's tensors, "untrained:<settings>" or "external:<folder>"
    params: int | None = None
    substitutions: list[str] = field(default_factory=list)
    predict: Callable[[str, Pair, np.ndarray], np.ndarray] | None = None
    #: Why the method's output is off the ground truth's scale by design (its ``units_note``): the units warning
    #: is then said once for the method, not for every image
    units_note: str | None = None
    units_said: bool = False


def weights_digest(net: torch.nn.Module, length: int = 16) -> str:
    """sha256 of the network's tensors (names and bytes, sorted): the same weights give the same digest
    whatever the file's metadata order."""
    h = hashlib.sha256()
    for key, value in sorted(net.state_dict().items()):
        h.update(key.encode())
        h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:length]


def open_source(plan: Plan, entry: Entry, device: torch.device) -> Source:
    """A :class:`Source` that predicts linear HDR ``(H, W, 3)`` for an LDR ``(H, W, 3)`` of a test set.

    The plan's dataset is shown to the method first (:meth:`~hdrbench.method.Method.bind_dataset`)."""
    cfg = entry.config
    if entry.kind == "external":
        folder = entry.external
        assert folder is not None

        def read_external(test_set: str, pair: Pair, ldr: np.ndarray) -> np.ndarray:
            path = external_prediction(folder, test_set, pair.id)
            if path is None:
                raise HDRBenchError(f"no prediction for image '{pair.id}' of test set '{test_set}' "
                                    f"(expected {pair.id}.exr here or in {test_set}/)", folder)
            pred = io.read_hdr(path)
            if pred.shape != ldr.shape:
                raise HDRBenchError(f"prediction is {pred.shape}, the input is {ldr.shape}", path)
            return pred

        return Source(entry, f"external:{folder}", cfg.params, [], read_external)
    tile, overlap = plan.cfg.evaluate.tile, plan.cfg.evaluate.overlap
    recipes = cfg.recipes or plan.cfg.train.recipes
    if entry.kind == "untrained":  # nothing to learn: its network is what the dataset declares for each test set
        return _untrained_source(plan, entry, device, recipes, tile, overlap)
    weights = list(entry.weights)
    loaded = open_model(cfg.name, weights, device, recipes=recipes, dataset=plan.dataset, **cfg.options)
    method, net = loaded.method, loaded.net
    subs = json.loads(loaded.metadata.get("substitutions", "[]"))

    def run_network(test_set: str, pair: Pair, ldr: np.ndarray) -> np.ndarray:
        return predict_image(method, net, ldr, tile=tile, overlap=overlap)

    return Source(entry, weights_digest(net), cfg.params or count_parameters(net), subs, run_network)


def _untrained_source(plan: Plan, entry: Entry, device: torch.device, recipes: str, tile: int,
                      overlap: int | None) -> Source:
    """A method with nothing to learn, bound to the dataset per test set (``bind_dataset(dataset, test_set)``: an
    exposure sweep's test sets declare different saturation levels); its digest names its settings."""
    from hdrbench.method import create_method

    built: dict[str, tuple[Any, torch.nn.Module]] = {}

    def network(test_set: str) -> tuple[Any, torch.nn.Module]:
        if test_set not in built:
            method = create_method(entry.config.name, recipes=recipes, **entry.config.options)
            method.bind_dataset(plan.dataset, test_set)
            built[test_set] = (method, method.build_network().eval().to(device))
        return built[test_set]

    method, first = network(plan.test_sets[0])
    digest = "untrained:" + hashlib.sha256(repr(first).encode()).hexdigest()[:16]

    def run_network(test_set: str, pair: Pair, ldr: np.ndarray) -> np.ndarray:
        method, net = network(test_set)
        return predict_image(method, net, ldr, tile=tile, overlap=overlap)

    return Source(entry, digest, entry.config.params or count_parameters(first), [], run_network,
                  units_note=getattr(method, "units_note", None))


@dataclass
class EvalSummary:
    added: int = 0
    skipped_images: int = 0
    scored_images: int = 0
    per_method: dict[str, int] = field(default_factory=dict)
    #: images scored this run whose ground truth does not fit the protocol (each also logged, and stored)
    misfit_images: int = 0
    #: scores recomputed because a stored one of the same image and metric was computed otherwise, by reason
    recomputed: Counter = field(default_factory=Counter)
    #: images whose overexposed-region scores were computed this run
    region_images: int = 0

    def describe(self) -> str:
        """One line: what was added, recomputed (and why) and kept."""
        why = ", ".join(f"{n} for a changed {r}" for r, n in self.recomputed.most_common())
        again = f", {sum(self.recomputed.values())} of them recomputed ({why})" if self.recomputed else ""
        regions = f", region scores of {self.region_images} images" if self.region_images else ""
        return (f"{self.added} scores added{again}{regions}; {self.scored_images} images scored, "
                f"{self.skipped_images} already stored")


@dataclass
class _Todo:
    """An image with something left to do: the columns to score (with their digests) and whether to save it."""

    pair: Pair
    columns: dict[str, tuple[str, str, str, str]]  # column -> (digest, scoring, source, pair digest)
    save: bool
    regions: str | None = None  # the digest of the region scores to compute, or None


def evaluate(plan: Plan | BenchConfig, *, methods: list[str] | None = None, progress: bool = True,
             on_image: Callable[[int], None] | None = None) -> EvalSummary:
    """Score the plan's entries (ids ``methods``; default all) on every test set into its result store; resumable.

    ``on_image(n)`` is called after the n-th image's rows are committed (tests use it to simulate a crash). A
    :class:`~hdrbench.config.BenchConfig` is resolved first (:func:`hdrbench.plan.build_plan`).
    """
    plan = as_plan(plan, "evaluate")
    info = init_distributed(plan.device)
    device = torch.device(plan.device if not info.active or not plan.device.startswith("cuda")
                          else f"cuda:{info.local_rank}")
    scorer = plan.scorer(device="cpu")
    store = ResultStore(plan.layout.results) if info.is_main else None
    summary = EvalSummary()
    ver = versions()
    try:
        for entry in [plan.entry(m) for m in methods] if methods else plan.entries:
            source = open_source(plan, entry, device)
            expected = plan.expected([entry]) if store is not None else None
            if store is not None:
                store.record_method(entry.id, name=entry.config.name, label=entry.label, params=source.params,
                                    checkpoint=source.checkpoint, source=entry.kind, options=entry.config.options,
                                    substitutions=source.substitutions)
            for ts in plan.test_sets:
                pairs = plan.pairs[ts]
                todo = _pending(plan, store, expected, entry, ts, pairs, summary) if store is not None else None
                todo = broadcast_object(todo, info)
                summary.skipped_images += len(pairs) - len(todo)
                bar = tqdm(total=len(todo), desc=f"evaluate {entry.id} {ts}", unit="img",
                           disable=not (progress and info.is_main) or not todo)
                for start in range(0, len(todo), info.world_size):
                    mine = todo[start + info.rank] if start + info.rank < len(todo) else None
                    rows = _score_image(plan, source, ts, mine, scorer, ver) if mine else []
                    for part in gather_to_main(rows, info):
                        if store is not None and part:
                            scores = [r for r in part if isinstance(r, Score)]
                            regions = [r for r in part if isinstance(r, RegionScore)]
                            summary.added += store.add(scores) if scores else 0
                            if regions:
                                store.add_regions(regions)
                                summary.region_images += 1
                            summary.scored_images += 1
                            summary.misfit_images += bool(scores and scores[0].warning)
                            summary.per_method[entry.id] = summary.per_method.get(entry.id, 0) + 1
                            if on_image is not None:
                                on_image(summary.scored_images)
                    bar.update(min(info.world_size, len(todo) - start))
                bar.close()
    finally:
        if store is not None:
            store.close()
    return summary


def _pending(plan: Plan, store: ResultStore, expected, entry: Entry, ts: str, pairs: list[Pair],
             summary: EvalSummary) -> list[_Todo]:
    """The images of ``ts`` with a score of the plan's digest missing, or a prediction to save."""
    done = store.stored(entry.id, plan.cfg.dataset.name, ts)
    regions_done = store.stored_regions(entry.id, plan.cfg.dataset.name, ts) if plan.region_spec else set()
    want = expected[expected.test_set == ts]
    by_image: dict[str, dict[str, tuple[str, str, str, str]]] = {}
    for r in want.itertuples(index=False):
        by_image.setdefault(r.image, {})[r.metric] = (r.digest, r.scoring_digest, r.source_digest, r.pair_digest)
    out = []
    for p in pairs:
        missing = {}
        for column, digests in by_image[p.id].items():
            stored = done.get((p.id, column), [])
            if any(d[0] == digests[0] for d in stored):
                continue
            missing[column] = digests
            if stored:  # computed before, another way: say which part changed
                old = stored[0]
                parts = [name for name, a, b in zip(("scoring", "source", "pair"), old[1:], digests[1:]) if a != b]
                legacy = old[0] == LEGACY or not parts
                summary.recomputed["store format (scores without a digest)" if legacy else REASONS[parts[0]]] += 1
        want_pred = plan.cfg.evaluate.save_predictions or (ts == plan.figure_set and p.id in plan.figure_ids)
        need_pred = want_pred and not saved_prediction_is_current(plan, entry, ts, p)
        regions = plan.region_digest(entry, ts, p) if plan.region_spec else None
        if regions is not None and (p.id, regions) in regions_done:
            regions = None
        if missing or need_pred or regions:
            out.append(_Todo(p, missing, want_pred, regions))
    return out


def prediction_digest(plan: Plan, entry: Entry, ts: str, pair: Pair) -> str:
    """What a saved prediction of ``pair`` depends on (the source and the pair), written into its EXR header."""
    return digest_of([plan.source_digest(entry, ts, pair), plan.pair_digest(pair)])


def saved_prediction_is_current(plan: Plan, entry: Entry, ts: str, pair: Pair) -> bool:
    """Whether ``predictions/<id>/<ts>/<image>.exr`` exists and was made by the plan's source from this pair."""
    path = plan.layout.prediction(entry.id, ts, pair.id)
    if not path.is_file():
        return False
    try:
        return io.read_exr_attributes(path).get("digest") == prediction_digest(plan, entry, ts, pair)
    except (HDRBenchError, OSError, RuntimeError):  # unreadable: write it again
        return False


def _scores(plan: Plan, scorer: Scorer, pred: torch.Tensor, gt_nchw: torch.Tensor, ldr: np.ndarray, regions: bool
            ) -> tuple[dict[str, torch.Tensor], dict[str, list[dict]]]:
    """The scorer's columns for one validated pair and, with ``regions``, its region scores (else ``{}``)."""
    if regions:
        assert plan.region_spec is not None
        return scorer.score_with_regions(pred.permute(2, 0, 1)[None], gt_nchw, ldr, plan.region_spec)
    return scorer.score(pred.permute(2, 0, 1)[None], gt_nchw), {}


def _score_image(plan: Plan, source: Source, ts: str, item: _Todo, scorer: Scorer, ver: str) -> list[Score]:
    pair = item.pair
    ldr, hdr = plan.dataset.load_pair(pair)
    assert source.predict is not None
    with warnings.catch_warnings(record=True) as caught:  # a method's warning about this image names it
        warnings.simplefilter("always")
        raw = source.predict(ts, pair, ldr)
    for w in caught:
        text = str(w.message).removeprefix("hdrbench: ")
        warnings.warn_explicit(f"{source.entry.id}: image '{pair.id}' ({ts}): {text}", w.category, w.filename,
                               w.lineno)
    notes: list[str] = []
    pred, gt = check_prediction(raw, hdr, source.entry.id, pair, notes)
    for line in notes:
        if source.units_note and is_scale_note(line):
            if not source.units_said:
                log.warning("hdrbench: note: %s: that is its declared display model (%s); said once for '%s', "
                            "not for each image", line.split(" (median luminance")[0], source.units_note,
                            source.entry.id)
            source.units_said = True
            continue
        log.warning("hdrbench: warning: %s", line)
    if item.save:
        from hdrbench.version import __version__

        io.write_exr(plan.layout.prediction(source.entry.id, ts, pair.id), raw, attributes={
            "method": source.entry.config.name, "method_id": source.entry.id,
            "options": json.dumps(source.entry.config.options, sort_keys=True, default=str),
            "checkpoint": source.checkpoint, "hdrbench_version": __version__, "input": str(pair.ldr),
            "digest": prediction_digest(plan, source.entry, ts, pair)})
    if not item.columns and not item.regions:
        return []
    gt_nchw = gt.permute(2, 0, 1)[None]
    misfit = scorer.protocol.check(gt_nchw)[0]
    if misfit:
        log.warning("hdrbench: warning: %s: %s", pair.hdr, misfit)
    rows: list[Score | RegionScore] = []
    try:
        values, strata = _scores(plan, scorer, pred, gt_nchw, ldr, bool(item.regions))
    except HDRBenchError:
        raise
    except Exception as exc:  # a metric library failing on one image: one line, nothing stored for the image
        raise HDRBenchError(f"scoring method '{source.entry.id}' on image '{pair.id}' ({ts}) failed in a metric "
                            f"({type(exc).__name__}: {str(exc)[:160]}); nothing was stored for this image") from None
    if item.regions:
        for stratum, bins in strata.items():
            for rec in bins:
                for q in QUANTITIES:
                    v = rec.get(q)
                    rows.append(RegionScore(source.entry.id, plan.cfg.dataset.name, ts, pair.id, stratum, rec["bin"], q,
                                            v, int(rec["pixels"]), lower_better=q in LOWER_BETTER,
                                            digest=item.regions))
    protocol = scorer.protocol.name
    for column, (digest, scoring, src, pair_digest) in item.columns.items():
        value = float(values[column][0])
        metric = scorer.metrics[column.removesuffix(CRF_SUFFIX)]
        if np.isnan(value):
            raise HDRBenchError(f"metric '{column}' returned NaN for method '{source.entry.id}' on image "
                                f"'{pair.id}'; nothing was stored for it")
        rows.append(Score(source.entry.id, plan.cfg.dataset.name, ts, pair.id, column, value,
                          lower_better=bool(metric.lower_better), protocol=protocol,
                          metric_params=json.dumps(metric.params, sort_keys=True, default=str),
                          checkpoint=source.checkpoint, substitutions=json.dumps(source.substitutions),
                          versions=ver, warning=misfit, digest=digest, scoring_digest=scoring, source_digest=src,
                          pair_digest=pair_digest))
    return rows


__all__ = ["EvalSummary", "evaluate", "open_source"]
