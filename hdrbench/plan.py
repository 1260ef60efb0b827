"""The resolved benchmark: what a ``bench.toml`` means, derived once, which ``train``, ``evaluate``, ``report`` and
``plot`` consume and re-derive nothing of.

:func:`build_plan` turns a parsed :class:`~hdrbench.config.BenchConfig` into a :class:`Plan`: the dataset instance,
its test sets and their pairs (``max_images`` applied here, once), every method entry with what it needs
(:data:`KINDS`), the figure's images, the scored metrics and the digests that key every stored score. Every check
that used to run "before the work" is a failure to build the plan, so a check and the work cannot disagree.

A score's **digest** covers everything that determines its value: the scoring column (protocol preparation, the
metric's resolved parameters, CRF; :func:`hdrbench.metrics.scoring.column_digests`), the source (method name,
resolved options, recipes, the weights files' bytes, tiling; for external predictions the prediction file's bytes)
and the test pair (dataset name, root and options, the pair's files by path, size and modification time). The
store keeps rows of any digest; tables show only rows whose digest is the plan's.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hdrbench.config import BenchConfig, MethodEntry, check_names, unknown_key
from hdrbench.datasets.base import check_scorable
from hdrbench.errors import HDRBenchError, closest
from hdrbench.runs import RunLayout, external_prediction
from hdrbench.writing import check_output

if TYPE_CHECKING:
    import pandas as pd

    from hdrbench.datasets.base import Pair, PairedDataset
    from hdrbench.metrics.protocols import Protocol
    from hdrbench.metrics.regions import RegionSpec
    from hdrbench.metrics.scoring import Scorer

#: What an entry needs: ``train`` (trained here, into the output folder), ``checkpoint`` (given weights file(s)),
#: ``external`` (a folder of predictions made elsewhere), ``untrained`` (a method with nothing to learn).
KINDS = ("train", "checkpoint", "external", "untrained")
#: What a command needs of the plan: ``train`` (a run that trains: the training split and every test image are
#: read first), ``evaluate`` (trained entries must have weights), ``report`` (only what the store holds).
STAGES = ("train", "evaluate", "report")
#: Why a stored score was recomputed, by the digest part that changed.
REASONS = {"scoring": "scoring (protocol or metric parameters)", "source": "method (weights, options or predictions)",
           "pair": "test pair (dataset files or options)"}


@dataclass(frozen=True)
class Entry:
    """One method entry of the plan: the bench.toml entry, its kind (:data:`KINDS`) and its weights file(s)."""

    config: MethodEntry
    kind: str
    weights: tuple[Path, ...] = ()

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def label(self) -> str:
        return self.config.label

    @property
    def external(self) -> Path | None:
        return Path(self.config.external) if self.config.external else None


@dataclass
class Plan:
    """A benchmark resolved for one command: see the module docstring. ``stage`` is one of :data:`STAGES`."""

    cfg: BenchConfig
    stage: str
    dataset: PairedDataset
    test_sets: list[str]
    pairs: dict[str, list[Pair]]
    entries: list[Entry]
    figure_set: str
    figure_ids: list[str]
    metrics: list[str]
    device: str
    _file_digests: dict[tuple[str, int, int], str] = field(default_factory=dict, repr=False)

    @property
    def layout(self) -> RunLayout:
        return self.cfg.runs

    def entry(self, entry_id: str) -> Entry:
        """The entry whose id is ``entry_id``."""
        for e in self.entries:
            if e.id == entry_id:
                return e
        raise unknown_key(entry_id, [e.id for e in self.entries], "methods: ", self.cfg.path)

    # -- scoring -------------------------------------------------------------------------------------------
    @cached_property
    def protocol(self) -> Protocol:
        from hdrbench.metrics.protocols import get_protocol

        return get_protocol(self.cfg.evaluate.protocol, **self.cfg.evaluate.protocol_options)

    @cached_property
    def column_digests(self) -> dict[str, str]:
        """``{column: digest}`` of the scored columns (each metric, then ``@crf`` ones where the protocol has them)."""
        from hdrbench.metrics.scoring import column_digests

        return column_digests(self.protocol, self.metrics, self.cfg.evaluate.metric_params)

    @property
    def columns(self) -> list[str]:
        return list(self.column_digests)

    def scorer(self, device: str = "cpu") -> Scorer:
        """The benchmark's scorer (its metrics built now: LPIPS and HDR-VDP-2 load their data here)."""
        from hdrbench.metrics.scoring import Scorer

        scorer = Scorer(self.protocol, metrics=self.metrics, overrides=self.cfg.evaluate.metric_params, device=device)
        assert scorer.digests() == self.column_digests, "the scorer and the plan disagree on what a score means"
        return scorer

    # -- overexposed regions ---------------------------------------------------------------------------------
    #: The whole-image metrics whose in-region counterparts are scored (HDR-VDP-2's only when it is scored).
    REGION_METRICS = ("psnr-l", "psnr-mu")

    @cached_property
    def region_spec(self) -> RegionSpec | None:
        """How overexposed regions are cut (``[evaluate] regions = true``), else None."""
        ev = self.cfg.evaluate
        if not ev.regions:
            return None
        from hdrbench.metrics.regions import RegionSpec

        return RegionSpec(ev.region_threshold, ev.region_rule, tuple(ev.distance_edges), tuple(ev.size_edges))

    @property
    def region_metrics(self) -> list[str]:
        return [*self.REGION_METRICS, *(["hdrvdp2"] if "hdrvdp2" in self.metrics else [])]

    @cached_property
    def _region_config(self) -> str:
        from hdrbench.metrics.scoring import column_digests, digest_of

        assert self.region_spec is not None
        return digest_of([self.region_spec.describe(), column_digests(self.protocol, self.region_metrics,
                                                                      self.cfg.evaluate.metric_params)])

    def region_digest(self, entry: Entry, test_set: str, pair: Pair) -> str:
        """What one image's region scores depend on: the region spec and metrics, the source and the pair."""
        from hdrbench.metrics.scoring import digest_of

        return digest_of([self._region_config, self.source_digest(entry, test_set, pair), self.pair_digest(pair)])

    def current_regions(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The stored region rows (:meth:`hdrbench.evaluate.store.ResultStore.regions`) the plan asks for."""
        import pandas as pd

        if self.region_spec is None or rows.empty:
            return rows.iloc[0:0]
        want = pd.DataFrame([(e.id, ts, p.id, self.region_digest(e, ts, p)) for e in self.entries
                             for ts in self.test_sets for p in self.pairs[ts]],
                            columns=["method", "test_set", "image", "digest"])
        have = rows[rows.dataset == self.cfg.dataset.name]
        return have.merge(want, on=["method", "test_set", "image", "digest"], how="inner")

    def reading(self, column: str) -> str:
        """How ``column``'s numbers were computed, for captions (:func:`hdrbench.metrics.scoring.reading`)."""
        from hdrbench.metrics.scoring import reading

        return reading(self.protocol, column, self.cfg.evaluate.metric_params)

    # -- digests -------------------------------------------------------------------------------------------
    def file_digest(self, path: Path) -> str:
        """sha256 of a file's bytes (memoised by path, size and modification time); of a ``.safetensors`` file, of
        its tensors alone (names, dtypes, shapes and data, not the metadata), so re-saving the same weights with
        other metadata changes nothing."""
        st = path.stat()
        key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
        if key not in self._file_digests:
            h = hashlib.sha256()
            with open(path, "rb") as f:
                if path.suffix == ".safetensors":
                    size = int.from_bytes(f.read(8), "little")
                    header = json.loads(f.read(size))
                    header.pop("__metadata__", None)
                    h.update(json.dumps(header, sort_keys=True).encode())
                for block in iter(lambda: f.read(1 << 22), b""):
                    h.update(block)
            self._file_digests[key] = h.hexdigest()[:16]
        return self._file_digests[key]

    @cached_property
    def dataset_identity(self) -> dict[str, Any]:
        """The dataset's name, root and resolved options (:meth:`PairedDataset.identity`)."""
        return self.dataset.identity()

    def pair_digest(self, pair: Pair) -> str:
        """The test pair's identity: the dataset's, and its two files (path, size, modification time)."""
        from hdrbench.metrics.scoring import digest_of

        files = []
        for p in (Path(pair.ldr), Path(pair.hdr)):
            st = p.stat() if p.is_file() else None  # a reader may name pairs that are no files (made in memory)
            files.append([str(p.resolve()), st.st_size if st else None, st.st_mtime_ns if st else None])
        return digest_of({"dataset": self.dataset_identity, "id": pair.id, "files": files, "meta": pair.meta})

    @cached_property
    def _network_sources(self) -> dict[str, str]:
        from hdrbench.method import create_method, recipes_key
        from hdrbench.metrics.scoring import digest_of

        out = {}
        for e in self.entries:
            if e.kind == "external":
                continue
            recipes = recipes_key(e.config.recipes or self.cfg.train.recipes)
            method = create_method(e.config.name, recipes=recipes, **e.config.options)
            weights = [self.file_digest(w) for w in e.weights] if e.kind != "untrained" else []
            out[e.id] = digest_of({"method": e.config.name, "options": method.options, "recipes": recipes,
                                   "weights": weights, "tile": self.cfg.evaluate.tile,
                                   "overlap": self.cfg.evaluate.overlap})
        return out

    def source_digest(self, entry: Entry, test_set: str, pair: Pair) -> str:
        """What makes ``entry``'s prediction of ``pair``: the network and its settings, or the external file."""
        if entry.kind != "external":
            return self._network_sources[entry.id]
        assert entry.external is not None
        path = external_prediction(entry.external, test_set, pair.id)
        if path is None:
            raise HDRBenchError(f"method '{entry.id}' has no prediction for image '{pair.id}' of test set "
                                f"'{test_set}' (expected {pair.id}.exr here or in {test_set}/)", entry.external)
        return "external:" + self.file_digest(path)

    def expected(self, entries: list[Entry] | None = None) -> pd.DataFrame:
        """One row per score the plan asks for: method, test_set, image, metric, digest and its three parts
        (``scoring_digest``, ``source_digest``, ``pair_digest``)."""
        import pandas as pd

        from hdrbench.metrics.scoring import digest_of

        rows = []
        for e in entries or self.entries:
            for ts in self.test_sets:
                for pair in self.pairs[ts]:
                    src, pd_ = self.source_digest(e, ts, pair), self.pair_digest(pair)
                    for column, sc in self.column_digests.items():
                        rows.append((e.id, ts, pair.id, column, digest_of([sc, src, pd_]), sc, src, pd_))
        return pd.DataFrame(rows, columns=["method", "test_set", "image", "metric", "digest", "scoring_digest",
                                           "source_digest", "pair_digest"])

    def current_scores(self, scores: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``scores`` (the store's) that the plan asks for, with their digests as the plan computes
        them: nothing computed another way, from other weights or another file, is ever returned."""
        want = self.expected()[["method", "test_set", "image", "metric", "digest"]]
        have = scores[scores.dataset == self.cfg.dataset.name]
        return have.merge(want, on=["method", "test_set", "image", "metric", "digest"], how="inner")


def as_plan(target: BenchConfig | Plan, stage: str = "evaluate") -> Plan:
    """``target`` itself if it is a plan, else the plan of that benchmark for ``stage`` (:func:`build_plan`)."""
    return target if isinstance(target, Plan) else build_plan(target, stage)


def unknown_test_set(name: str, dataset: PairedDataset, where: str) -> HDRBenchError:
    near = closest(name, dataset.test_sets)
    hint = f"did you mean '{near}'? " if near else ""
    return HDRBenchError(f"{where}: '{name}' is not a test set of dataset '{dataset.name}' ({hint}its test sets: "
                         f"{', '.join(dataset.test_sets)})")


def build_plan(cfg: BenchConfig, stage: str = "evaluate", methods: list[str] | None = None) -> Plan:
    """Resolve ``cfg`` for a command of ``stage`` (:data:`STAGES`), over entries ``methods`` (ids; default all).

    Raises the first problem as one :class:`HDRBenchError` line naming the file to fix; creates nothing
    (synthesized datasets may fill their cache, which the work needs anyway)."""
    from hdrbench.datasets.base import create_dataset

    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}, not {stage!r}")
    try:
        check_names(cfg)
        device = cfg.resolved_device()
        dataset = create_dataset(cfg.dataset.name, cfg.dataset.root, **cfg.dataset.options)
        for ts in cfg.dataset.test_sets:
            if ts not in dataset.test_sets:
                raise unknown_test_set(ts, dataset, "dataset.test_sets")
        test_sets = list(cfg.dataset.test_sets or dataset.test_sets)
        pairs = {ts: dataset.pairs(ts)[: cfg.dataset.max_images or None] for ts in test_sets}
        for ts, items in pairs.items():
            if not items:
                raise HDRBenchError(f"test set '{ts}' of dataset '{cfg.dataset.name}' has no images; check "
                                    "dataset.root")
        chosen = [cfg.method(m) for m in methods] if methods else cfg.methods
        entries = [_entry(cfg, e, stage, pairs) for e in chosen]
        if stage == "train" and any(e.kind == "train" for e in entries):
            dataset.pairs(cfg.dataset.train_split or dataset.train_split)
        figure_set, figure_ids = _figure(cfg, dataset, test_sets, pairs)
        _check_report(cfg, test_sets)
        plan = Plan(cfg, stage, dataset, test_sets, pairs, entries, figure_set, figure_ids, cfg.scored_metrics,
                    device)
        for path in ([cfg.runs.results, cfg.runs.timings] if stage != "report" else []) + \
                [cfg.runs.reports / "table1.csv"]:
            check_output(path)  # a read-only or file-valued output fails now, not after the work
        _ = plan.region_spec  # a bad [evaluate] region setting fails now
        _ = plan.column_digests  # ... and a bad protocol option, or CRF where the protocol has none
        if stage == "train" and any(e.kind == "train" and not cfg.runs.final_weights(e.id).is_file()
                                    for e in entries):
            check_test_images(plan)  # hours of training must not end on an unreadable test image
    except HDRBenchError as exc:
        raise exc if exc.path else HDRBenchError(exc.message, cfg.path) from None
    return plan


def _entry(cfg: BenchConfig, e: MethodEntry, stage: str, pairs: dict[str, list[Pair]]) -> Entry:
    from hdrbench.method import create_method
    from hdrbench.registry import METHODS

    if e.external:
        folder = Path(e.external)
        if not folder.is_dir():
            raise HDRBenchError(f"external predictions of method '{e.id}' not found (a folder of <image>.exr, or "
                                "<test_set>/<image>.exr); fix methods.external", folder)
        if stage != "report":
            for ts, items in pairs.items():
                for pair in items:
                    if external_prediction(folder, ts, pair.id) is None:
                        raise HDRBenchError(f"method '{e.id}' has no prediction for image '{pair.id}' of test set "
                                            f"'{ts}' (expected {pair.id}.exr here or in {ts}/)", folder)
        return Entry(e, "external")
    create_method(e.name, recipes=e.recipes or cfg.train.recipes, **e.options)  # options checked now
    if e.checkpoint:
        files = tuple(Path(c) for c in (e.checkpoint if isinstance(e.checkpoint, list) else [e.checkpoint]))
        for f in files:
            if not f.is_file():
                raise HDRBenchError(f"checkpoint of method '{e.id}' not found; fix methods.checkpoint", f)
        return Entry(e, "checkpoint", files)
    if not METHODS.get(e.name).trainable:
        return Entry(e, "untrained")
    final = cfg.runs.final_weights(e.id)
    if stage == "evaluate" and not final.is_file():
        raise HDRBenchError(f"method '{e.id}' has no trained weights yet; run 'hdrbench train --config "
                            f"{cfg.path.name} --method {e.id}' or 'hdrbench run {cfg.path.name}'", final)
    return Entry(e, "train", (final,))


def _figure(cfg: BenchConfig, dataset: PairedDataset, test_sets: list[str], pairs: dict[str, list[Pair]]
            ) -> tuple[str, list[str]]:
    """``(test set, image ids)`` shown in the figure (whose predictions evaluation saves)."""
    test_set = cfg.plot.test_set or test_sets[0]
    if test_set not in test_sets:
        if test_set not in dataset.test_sets:
            raise unknown_test_set(test_set, dataset, "plot.test_set")
        raise HDRBenchError(f"plot.test_set: '{test_set}' is not evaluated (dataset.test_sets: "
                            f"{', '.join(test_sets)})")
    ids = [p.id for p in pairs[test_set]]
    chosen = cfg.plot.images
    if isinstance(chosen, int):
        if chosen < 1:
            raise HDRBenchError(f"plot.images must be at least 1 (or a list of image ids), not {chosen}")
        return test_set, ids[:chosen]
    if not chosen:
        raise HDRBenchError("plot.images is an empty list; name image ids or give a number")
    for c in chosen:
        if c not in ids:
            near = difflib.get_close_matches(str(c), ids, n=1, cutoff=0.5)
            hint = f"; did you mean '{near[0]}'?" if near else ""
            raise HDRBenchError(f"plot.images: '{c}' is not an evaluated image of test set '{test_set}'{hint}")
    return test_set, list(chosen)


def _check_report(cfg: BenchConfig, test_sets: list[str]) -> None:
    """``[report]`` and its tables, checked before any work (they used to fail after it)."""
    rep = cfg.report
    if rep.bootstrap < 1:
        raise HDRBenchError(f"report.bootstrap must be a positive number of resamples, not {rep.bootstrap}")
    for key, value in rep.decimals.items():
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10:
            raise HDRBenchError(f"report.decimals.{key} must be a whole number from 0 to 10, not {value!r}")
    for table in cfg.tables:
        for ts in table.test_sets:
            if ts not in test_sets:
                raise unknown_key(ts, test_sets, f"report.tables.{table.name}.test_sets: ", cfg.path)


def check_test_images(plan: Plan) -> None:
    """Every test pair of the plan read once; one that evaluation could not score is one error line."""
    for ts in plan.test_sets:
        check_scorable(plan.dataset, ts, plan.pairs[ts])


__all__ = ["KINDS", "STAGES", "Entry", "Plan", "as_plan", "build_plan", "check_test_images"]
