"""The evaluation runner: every (method, test set, image) of a benchmark, scored into the result store.

For each method of ``bench.toml`` a *source* makes predictions: a trained or given checkpoint (hdrbench
weights or official release files) loaded by :func:`hdrbench.models.open_model` and run with
:func:`hdrbench.models.predict_image`, or a folder of external predictions. Each image's metrics are
written in one transaction; images whose rows are all stored are skipped, so a killed run resumes where
it stopped. Under ``torchrun`` the pending images are dealt round-robin to the ranks and rank 0 alone
writes. Tensors: ``ldr`` (1, 3, H, W) display-referred [0, 1]; predictions and ground truth linear HDR.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from hdrbench import io
from hdrbench.config import BenchConfig, MethodEntry
from hdrbench.datasets.base import Pair, PairedDataset, create_dataset
from hdrbench.distributed import broadcast_object, gather_to_main, init_distributed
from hdrbench.errors import HDRBenchError
from hdrbench.evaluate.store import ResultStore, Score
from hdrbench.method import count_parameters
from hdrbench.metrics.scoring import CRF_SUFFIX, Scorer
from hdrbench.metrics.validate import check_pair
from hdrbench.models import open_model, predict_image
from hdrbench.registry import METHODS
from hdrbench.runs import external_prediction, figure_images, test_sets

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
    """Where a method's predictions come from (a network or an external folder)."""

    entry: MethodEntry
    checkpoint: str = ""  # sha256 of the weights file, or "external:<folder>"
    params: int | None = None
    substitutions: list[str] = field(default_factory=list)
    predict: Callable[[str, Pair, np.ndarray], np.ndarray] | None = None


def weights_digest(net: torch.nn.Module, length: int = 16) -> str:
    """sha256 of the network's tensors (names and bytes, sorted): the same weights give the same digest
    whatever the file's metadata order."""
    h = hashlib.sha256()
    for key, value in sorted(net.state_dict().items()):
        h.update(key.encode())
        h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:length]


def trained_checkpoint(cfg: BenchConfig, entry: MethodEntry) -> Path | list[Path]:
    """The weights file(s) evaluated for ``entry`` (its ``checkpoint`` or the training run's final weights)."""
    if isinstance(entry.checkpoint, list):
        return [Path(c) for c in entry.checkpoint]
    if entry.checkpoint:
        return Path(entry.checkpoint)
    path = cfg.runs.final_weights(entry.id)
    if not path.is_file():
        raise HDRBenchError(f"method '{entry.id}' has no trained weights yet; run 'hdrbench train --config "
                            f"{cfg.path.name} --method {entry.id}' or 'hdrbench run {cfg.path.name}'", path)
    return path


def open_source(cfg: BenchConfig, entry: MethodEntry, device: torch.device,
                dataset: PairedDataset | None = None) -> Source:
    """A :class:`Source` that predicts linear HDR ``(H, W, 3)`` for an LDR ``(H, W, 3)`` of ``test_set``.

    ``dataset`` (the benchmark's) is shown to the method first (:meth:`~hdrbench.method.Method.bind_dataset`).
    """
    if entry.external:
        folder = Path(entry.external)
        if not folder.is_dir():
            raise HDRBenchError(f"external predictions of '{entry.id}' not found (a folder of <image>.exr, or "
                                "<test_set>/<image>.exr)", folder)

        def read_external(test_set: str, pair: Pair, ldr: np.ndarray) -> np.ndarray:
            path = external_prediction(folder, test_set, pair.id)
            if path is None:
                raise HDRBenchError(f"no prediction for image '{pair.id}' of test set '{test_set}' "
                                    f"(expected {pair.id}.exr here or in {test_set}/)", folder)
            pred = io.read_hdr(path)
            if pred.shape != ldr.shape:
                raise HDRBenchError(f"prediction is {pred.shape}, the input is {ldr.shape}", path)
            return pred

        return Source(entry, f"external:{folder}", entry.params, [], read_external)
    trainable = METHODS.get(entry.name).trainable
    checkpoint = trained_checkpoint(cfg, entry) if (trainable or entry.checkpoint) else None
    loaded = open_model(entry.name, checkpoint, device, recipes=entry.recipes or cfg.train.recipes,
                        dataset=dataset, **entry.options)
    method, net = loaded.method, loaded.net
    subs = json.loads(loaded.metadata.get("substitutions", "[]"))
    if checkpoint is not None:
        digest = weights_digest(net)
    else:  # nothing to learn: the network is its settings, which the digest then names
        digest = "untrained:" + hashlib.sha256(repr(net).encode()).hexdigest()[:16]

    def run_network(test_set: str, pair: Pair, ldr: np.ndarray) -> np.ndarray:
        return predict_image(method, net, ldr, tile=cfg.evaluate.tile, overlap=cfg.evaluate.overlap)

    return Source(entry, digest, entry.params or count_parameters(net), subs, run_network)


def build_scorer(cfg: BenchConfig) -> Scorer:
    """The benchmark's :class:`~hdrbench.metrics.scoring.Scorer`: its protocol (default ``dcdr``), metrics
    (default: the protocol's) and ``metric_params`` overrides from bench.toml."""
    return Scorer(cfg.evaluate.protocol, metrics=cfg.scored_metrics, overrides=cfg.evaluate.metric_params)


@dataclass
class EvalSummary:
    added: int = 0
    skipped_images: int = 0
    scored_images: int = 0
    per_method: dict[str, int] = field(default_factory=dict)
    #: images scored this run whose ground truth does not fit the protocol (each also logged, and stored)
    misfit_images: int = 0


def evaluate(cfg: BenchConfig, *, methods: list[str] | None = None, progress: bool = True,
             on_image: Callable[[int], None] | None = None) -> EvalSummary:
    """Score ``methods`` (ids; default all) on every test set into ``cfg.runs.results``; resumable.

    ``on_image(n)`` is called after the n-th image's rows are committed (tests use it to simulate a crash).
    """
    info = init_distributed(cfg.resolved_device())
    device = torch.device(cfg.resolved_device() if not info.active or not cfg.resolved_device().startswith("cuda")
                          else f"cuda:{info.local_rank}")
    dataset = create_dataset(cfg.dataset.name, cfg.dataset.root, **cfg.dataset.options)
    scorer = build_scorer(cfg)
    fig_set, fig_ids = figure_images(cfg, dataset)
    store = ResultStore(cfg.runs.results) if info.is_main else None
    summary = EvalSummary()
    ver = versions()
    try:
        for entry in [cfg.method(m) for m in methods] if methods else cfg.methods:
            source = open_source(cfg, entry, device, dataset)
            if store is not None:
                dropped = store.drop_stale(entry.id, source.checkpoint)
                if dropped:
                    log.warning("hdrbench: %s: dropped %d scores of an older checkpoint", entry.id, dropped)
                store.record_method(entry.id, name=entry.name, label=entry.label, params=source.params,
                                    checkpoint=source.checkpoint, source="external" if entry.external else "network",
                                    options=entry.options, substitutions=source.substitutions)
            for ts in test_sets(cfg, dataset):
                pairs = dataset.pairs(ts)
                if cfg.dataset.max_images:
                    pairs = pairs[:cfg.dataset.max_images]
                todo = _pending(cfg, store, entry, ts, pairs, scorer.columns, fig_set, fig_ids) if store else None
                todo = broadcast_object(todo, info)
                summary.skipped_images += len(pairs) - len(todo)
                bar = tqdm(total=len(todo), desc=f"evaluate {entry.id} {ts}", unit="img",
                           disable=not (progress and info.is_main) or not todo)
                for start in range(0, len(todo), info.world_size):
                    mine = todo[start + info.rank] if start + info.rank < len(todo) else None
                    rows = _score_image(cfg, source, dataset, ts, mine, scorer, ver) if mine else []
                    for part in gather_to_main(rows, info):
                        if store is not None and part:
                            summary.added += store.add(part)
                            summary.scored_images += 1
                            summary.misfit_images += bool(part[0].warning)
                            summary.per_method[entry.id] = summary.per_method.get(entry.id, 0) + 1
                            if on_image is not None:
                                on_image(summary.scored_images)
                    bar.update(min(info.world_size, len(todo) - start))
                bar.close()
    finally:
        if store is not None:
            store.close()
    return summary


def _pending(cfg: BenchConfig, store: ResultStore, entry: MethodEntry, ts: str, pairs: list[Pair],
             metric_names: list[str], fig_set: str, fig_ids: list[str]) -> list[tuple[Pair, list[str], bool]]:
    """``[(pair, metrics still missing, write prediction)]`` for the images with something left to do."""
    done = store.stored(entry.id, cfg.dataset.name, ts)
    out = []
    for p in pairs:
        missing = [m for m in metric_names if (p.id, m) not in done]
        want_pred = cfg.evaluate.save_predictions or (ts == fig_set and p.id in fig_ids)
        need_pred = want_pred and not cfg.runs.prediction(entry.id, ts, p.id).is_file()
        if missing or need_pred:
            out.append((p, missing, want_pred))
    return out


def _score_image(cfg: BenchConfig, source: Source, dataset: PairedDataset, ts: str,
                 item: tuple[Pair, list[str], bool], scorer: Scorer, ver: str) -> list[Score]:
    pair, missing, save = item
    ldr, hdr = dataset.load_pair(pair)
    assert source.predict is not None
    raw = source.predict(ts, pair, ldr)
    notes: list[str] = []
    pred, gt = check_prediction(raw, hdr, source.entry.id, pair, notes)
    for line in notes:
        log.warning("hdrbench: warning: %s", line)
    if save:
        from hdrbench import __version__

        io.write_exr(cfg.runs.prediction(source.entry.id, ts, pair.id), raw, attributes={
            "method": source.entry.name, "method_id": source.entry.id,
            "options": json.dumps(source.entry.options, sort_keys=True, default=str),
            "checkpoint": source.checkpoint, "hdrbench_version": __version__, "input": str(pair.ldr)})
    if not missing:
        return []
    gt_nchw = gt.permute(2, 0, 1)[None]
    misfit = scorer.protocol.check(gt_nchw)[0]
    if misfit:
        log.warning("hdrbench: warning: %s: %s", pair.hdr, misfit)
    values = scorer.score(pred.permute(2, 0, 1)[None], gt_nchw)
    protocol = scorer.protocol.name
    rows = []
    for column in missing:
        value = float(values[column][0])
        metric = scorer.metrics[column.removesuffix(CRF_SUFFIX)]
        if np.isnan(value):
            raise HDRBenchError(f"metric '{column}' returned NaN for method '{source.entry.id}' on image "
                                f"'{pair.id}'; nothing was stored for it")
        rows.append(Score(source.entry.id, cfg.dataset.name, ts, pair.id, column, value,
                          lower_better=bool(metric.lower_better), protocol=protocol,
                          metric_params=json.dumps(metric.params, sort_keys=True, default=str),
                          checkpoint=source.checkpoint, substitutions=json.dumps(source.substitutions),
                          versions=ver, warning=misfit))
    return rows


__all__ = ["EvalSummary", "evaluate", "open_source", "trained_checkpoint"]
