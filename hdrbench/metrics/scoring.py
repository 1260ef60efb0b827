"""Score (prediction, ground truth) pairs with a protocol's metrics: the one scoring path of hdrbench.

``hdrbench score`` and the evaluation runner both go through :class:`Scorer`: validation
(:func:`hdrbench.metrics.validate.check_pair`), the protocol's preparation, each metric, and optionally
the same metrics on the CRF-corrected prediction (reported as ``<metric>@crf`` beside the raw value).
:func:`score_record` scores one pair of arrays, tensors or files into the record ``hdrbench score --json``
prints; :func:`hdrbench.score` is its documented public face.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from hdrbench.defaults import DEFAULT_PROTOCOL
from hdrbench.errors import HDRBenchError, HDRBenchWarning
from hdrbench.metrics.base import Metric
from hdrbench.metrics.protocols import Protocol, get_protocol
from hdrbench.metrics.validate import check_pair

if TYPE_CHECKING:
    from hdrbench.metrics.regions import RegionSpec

CRF_SUFFIX = "@crf"
#: What :func:`score_record` accepts for an image: a path, or an ``(H, W, 3)`` linear HDR array or tensor.
ImageLike = str | os.PathLike | np.ndarray | torch.Tensor


class Scorer:
    """A protocol, its metrics (built once) and the CRF option.

    ``metrics``: names (default: the protocol's list); ``overrides``: ``{metric: {param: value}}`` on top of
    the protocol's parameters; ``crf``: report CRF-corrected scores too (default: the protocol's choice; only where
    the protocol defines it, :func:`crf_columns`); ``white`` and ``options``: the protocol's named options
    (:meth:`Protocol.with_options`), which its name then shows.
    """

    def __init__(self, protocol: str | Protocol = DEFAULT_PROTOCOL, metrics: Sequence[str] | None = None,
                 overrides: dict[str, dict[str, Any]] | None = None, crf: bool | None = None,
                 device: str | torch.device = "cpu", white: float | str | None = None,
                 options: dict[str, Any] | None = None):
        self.protocol = get_protocol(protocol) if isinstance(protocol, str) else protocol
        options = {**(options or {}), **({"white": white} if white is not None else {})}
        if options:
            self.protocol = self.protocol.with_options(**options)
        names = list(metrics) if metrics else list(self.protocol.metrics)
        overrides = overrides or {}
        self.overrides = {k.lower(): dict(v) for k, v in overrides.items()}
        self.metrics: dict[str, Metric] = {n.lower(): self.protocol.create(n, **overrides.get(n.lower(), {}))
                                           for n in dict.fromkeys(names)}
        self.crf = self.protocol.crf_correction if crf is None else bool(crf)
        self.crf_metrics = crf_columns(self.protocol, list(self.metrics), self.crf)
        self.device = torch.device(device)
        self.p_map: torch.Tensor | None = None  # HDR-VDP-2's detection map of the last score, when asked for
        for m in self.metrics.values():
            m.to(self.device)

    @property
    def columns(self) -> list[str]:
        """Result names in order: each metric, then (with CRF) each ``<metric>@crf``."""
        return list(self.metrics) + [n + CRF_SUFFIX for n in self.crf_metrics]

    def digests(self) -> dict[str, str]:
        """``{column: digest}`` of what determines each column's value (:func:`column_digests`)."""
        return column_digests(self.protocol, list(self.metrics), self.overrides, self.crf)

    def score(self, pred: torch.Tensor, gt: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-image scores ``{column: (N,) float64}`` of validated linear HDR ``(N, 3, H, W)`` tensors."""
        pred, gt = self.protocol.prepare(pred.to(self.device).float(), gt.to(self.device).float())
        out = {name: m(pred, gt).cpu() for name, m in self.metrics.items()}
        vdp = self.metrics.get("hdrvdp2")
        self.p_map = getattr(vdp, "last_p_map", None)  # of the raw prediction, before any CRF correction
        if self.crf_metrics:
            corrected = self.protocol.correct(pred, gt)
            out.update({name + CRF_SUFFIX: self.metrics[name](corrected, gt).cpu() for name in self.crf_metrics})
        return out

    def score_with_regions(self, pred: torch.Tensor, gt: torch.Tensor, ldr: np.ndarray, spec: RegionSpec
                           ) -> tuple[dict[str, torch.Tensor], dict[str, list[dict[str, Any]]]]:
        """:meth:`score` of one validated pair ``(1, 3, H, W)`` and its overexposed-region scores: ``{"by_distance":
        [{"bin", "pixels", quantity: value}], "by_size": [...]}`` (:mod:`hdrbench.metrics.regions`), the regions cut
        from ``ldr`` ``(H, W, 3)`` display-referred [0, 1]; PSNR-L/PSNR-μ with this scorer's parameters."""
        from hdrbench.metrics.regions import find_regions, region_scores

        vdp = self.metrics.get("hdrvdp2")
        if vdp is not None:
            vdp.keep_p_map = vdp.params.get("backend") == "torch"
        try:
            values = self.score(pred, gt)
        finally:
            if vdp is not None:
                vdp.keep_p_map = False
        regions = find_regions(ldr, spec.threshold, spec.rule)
        if regions.mask.shape != tuple(pred.shape[-2:]):
            raise HDRBenchError(f"the LDR input is {regions.mask.shape[1]}x{regions.mask.shape[0]}, the prediction "
                                f"{pred.shape[-1]}x{pred.shape[-2]}: regions need the input of this prediction")
        p, g = self.protocol.prepare(pred.to(self.device).float(), gt.to(self.device).float())
        metrics = {n: self.metrics.get(n) or self.protocol.create(n, **self.overrides.get(n, {})).to(self.device)
                   for n in ("psnr-l", "psnr-mu")}
        p_map = self.p_map[0] if self.p_map is not None else None
        out: dict[str, list[dict[str, Any]]] = {}
        for stratum, bins in spec.strata(regions).items():
            recs = region_scores(p, g, [m for _, m in bins], metrics, p_map)
            out[stratum] = [{"bin": label, **rec} for (label, _), rec in zip(bins, recs)]
        return values, out

    def score_arrays(self, pred: np.ndarray | torch.Tensor, gt: np.ndarray | torch.Tensor,
                     pred_name: str = "prediction", gt_name: str = "ground truth",
                     clamp: bool = False, clamp_gt: bool = False,
                     notes: list[str] | None = None) -> dict[str, float]:
        """Validate and score one ``(H, W, 3)`` linear HDR pair; ``{column: value}`` (metric's own units).

        ``notes`` (when given) receives one line per repair (``clamp``, ``clamp_gt``) and per protocol misfit."""
        p, g = self.validated(pred, gt, pred_name, gt_name, clamp, clamp_gt, notes)
        return {k: float(v[0]) for k, v in self.score(p, g).items()}

    def validated(self, pred: np.ndarray | torch.Tensor, gt: np.ndarray | torch.Tensor, pred_name: str = "prediction",
                  gt_name: str = "ground truth", clamp: bool = False, clamp_gt: bool = False,
                  notes: list[str] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """One ``(H, W, 3)`` linear HDR pair checked (:func:`check_pair`) as ``(1, 3, H, W)`` tensors; ``notes``
        also receive the protocol's misfit of the ground truth."""
        p, g = check_pair(pred, gt, pred_name, gt_name, clamp, clamp_gt, notes)
        p, g = p.permute(2, 0, 1)[None].contiguous(), g.permute(2, 0, 1)[None].contiguous()  # one copy, not one
        # per flatten() in every metric
        if notes is not None:
            notes.extend(f"{gt_name}: {w}" for w in self.protocol.check(g) if w)
        return p, g

    def describe(self) -> dict[str, Any]:
        """Protocol and per-metric parameters, JSON-able, to store beside the scores."""
        return {"protocol": self.protocol.describe(), "crf_correction": self.crf,
                "metrics": {n: m.describe() for n, m in self.metrics.items()}}


def crf_columns(protocol: Protocol, metrics: Sequence[str], crf: bool) -> list[str]:
    """The metrics that get a CRF-corrected ``@crf`` column: with ``crf``, the protocol's own metrics, where its source
    defines the correction (SI-HDR: its metrics on absolute luminance). The correction floors every corrected pixel
    at 0.005 cd/m² (PU21's range) and fits in PQ, so elsewhere (linear PSNR, ``[0, 1]`` display data) it changes
    the numbers it was not made for: asked for under another protocol it is refused; for a metric outside the
    protocol's list it is left out, with a warning."""
    if not crf:
        return []
    if not protocol.crf_correction:
        raise HDRBenchError(f"CRF correction is part of the SI-HDR protocol (its metrics on absolute luminance); "
                            f"protocol '{protocol.name}' does not define it: score with protocol sihdr, or without "
                            "CRF correction")
    own = [m for m in metrics if m in protocol.metrics]
    other = [m for m in metrics if m not in protocol.metrics]
    if other:
        warnings.warn(f"CRF correction is defined for protocol '{protocol.name}''s own metrics "
                      f"({', '.join(protocol.metrics)}); {', '.join(other)} reported without it", HDRBenchWarning,
                      stacklevel=3)
    return own


def column_configs(protocol: Protocol, metrics: Sequence[str], overrides: dict[str, dict[str, Any]] | None = None,
                   crf: bool | None = None) -> dict[str, dict[str, Any]]:
    """``{column: everything that determines its values}`` for a protocol's metrics, without building them: the
    protocol's preparation, the metric's resolved parameters and, for ``<metric>@crf``, the CRF fit's parameters."""
    overrides = {k.lower(): v for k, v in (overrides or {}).items()}
    names = list(dict.fromkeys(m.lower() for m in metrics))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HDRBenchWarning)  # said once, by the scorer
        corrected = crf_columns(protocol, names, protocol.crf_correction if crf is None else bool(crf))
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        base = {"prepare": protocol.preparation(), "metric": name,
                "params": protocol.resolved_params(name, **overrides.get(name, {}))}
        out[name] = base
        if name in corrected:
            out[name + CRF_SUFFIX] = {**base, "crf": dict(protocol.crf_params)}
    return {k: out[k] for k in [*(c for c in out if not c.endswith(CRF_SUFFIX)),
                                *(c for c in out if c.endswith(CRF_SUFFIX))]}


def digest_of(value: Any, length: int = 16) -> str:
    """sha256 of ``value``'s canonical JSON (sorted keys; tuples as lists; other objects by ``str``)."""
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def column_digests(protocol: Protocol, metrics: Sequence[str], overrides: dict[str, dict[str, Any]] | None = None,
                   crf: bool | None = None) -> dict[str, str]:
    """``{column: digest}`` of :func:`column_configs`: two scores share a digest only if they were computed the
    same way."""
    return {c: digest_of(v) for c, v in column_configs(protocol, metrics, overrides, crf).items()}


def reading(protocol: Protocol, column: str, overrides: dict[str, dict[str, Any]] | None = None) -> str:
    """How a column's numbers were computed, in words for a caption, e.g. ``PSNR-μ (mu = 10, norm = none;
    values as given, prediction clipped to [0, 1]; dcdr protocol)``."""
    from hdrbench.metrics.base import display

    base = column.removesuffix(CRF_SUFFIX)
    params = protocol.metric_params(base, **(overrides or {}).get(base, {}))
    shown = ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}" for k, v in params.items())
    prep = protocol.preparation_words()
    if column.endswith(CRF_SUFFIX):
        prep += ", prediction CRF-corrected"
    return f"{display(base)[0]} ({shown + '; ' if shown else ''}{prep}; {protocol.name} protocol)"


def _read(x: ImageLike, default_name: str) -> tuple[np.ndarray | torch.Tensor, str]:
    if isinstance(x, (str, os.PathLike)):
        from hdrbench import io

        return io.read_hdr(Path(x)), str(x)
    return x, default_name


def score_record(scorer: Scorer, pred: ImageLike, gt: ImageLike, *, clamp: bool = False,
                 clamp_gt: bool = False, ldr: str | os.PathLike | np.ndarray | None = None,
                 regions: RegionSpec | None = None) -> dict[str, Any]:
    """Score one pair (paths, or ``(H, W, 3)`` linear HDR arrays/tensors) into the record that
    ``hdrbench score --json`` prints (through :func:`json_record`): ``{"pred", "gt", "protocol",
    "metrics": {column: value}, "warnings": [one line per repair or protocol misfit]}``; with ``regions`` (and the
    ``ldr`` input the prediction was made from: a path, or ``(H, W, 3)`` display-referred [0, 1]) also
    ``"regions": {"by_distance": [...], "by_size": [...]}``, one ``{"bin", "pixels", "images", quantity: value}``
    per bin (:mod:`hdrbench.metrics.regions`)."""
    p, pred_name = _read(pred, "prediction")
    g, gt_name = _read(gt, "ground truth")
    notes: list[str] = []
    record: dict[str, Any] = {"pred": pred_name, "gt": gt_name, "protocol": scorer.protocol.name}
    if regions is None:
        values = scorer.score_arrays(p, g, pred_name, gt_name, clamp=clamp, clamp_gt=clamp_gt, notes=notes)
        return {**record, "metrics": values, "warnings": notes}
    if ldr is None:
        raise HDRBenchError("scores inside the overexposed regions need the LDR input ('hdrbench score --ldr', "
                            "or ldr=)")
    if isinstance(ldr, (str, os.PathLike)):
        from hdrbench import io

        ldr = io.read_ldr(ldr)
    pt, gt_t = scorer.validated(p, g, pred_name, gt_name, clamp, clamp_gt, notes)
    scores, strata = scorer.score_with_regions(pt, gt_t, np.asarray(ldr), regions)
    record["regions"] = {s: [{"bin": r["bin"], "pixels": r["pixels"], "images": int(r["pixels"] > 0),
                              **{k: v for k, v in r.items() if k not in ("bin", "pixels")}} for r in recs]
                         for s, recs in strata.items()}
    return {**record, "metrics": {k: float(v[0]) for k, v in scores.items()}, "warnings": notes}


def _finite(v: Any) -> Any:
    return v if not isinstance(v, float) or math.isfinite(v) else None


def json_record(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with non-finite values (PSNR of identical images: inf) as ``None`` (JSON ``null``)."""
    out = {**record, "metrics": {k: _finite(v) for k, v in record["metrics"].items()}}
    if "regions" in record:
        out["regions"] = {s: [{k: _finite(v) for k, v in rec.items()} for rec in recs]
                          for s, recs in record["regions"].items()}
    return out


def score(pred: ImageLike, gt: ImageLike, protocol: str = DEFAULT_PROTOCOL, metrics: Sequence[str] | None = None, *,
          white: float | str | None = None, params: dict[str, dict[str, Any]] | None = None,
          crf: bool | None = None, clamp: bool = False, clamp_gt: bool = False,
          ldr: str | os.PathLike | np.ndarray | None = None, regions: bool | RegionSpec = False,
          device: str = "cpu") -> dict[str, Any]:
    """Score a linear HDR prediction against its ground truth exactly as ``hdrbench score --json`` does.

    ``pred``/``gt``: file paths (.exr, .hdr, .pfm, .npy, 16-bit PNG/TIFF) or ``(H, W, 3)`` float arrays or
    tensors of linear HDR. ``protocol``: ``dcdr`` (display-referred [0, 1] data, the paper's), ``scene``
    (scene-referred, 1.0 = reference white or ``white=``), ``ntire2021``, ``sihdr`` (docs/scoring.md says
    which fits your data). ``metrics``: names (default: the protocol's); ``params``: ``{metric: {key: value}}``
    overrides. ``clamp`` repairs a prediction's NaN/inf/negatives, ``clamp_gt`` clips a ground truth's
    negatives. ``regions`` (True, or a :class:`~hdrbench.metrics.regions.RegionSpec`) with ``ldr``, the LDR input:
    also the scores inside its overexposed regions (``record["regions"]``, as ``score --ldr LDR --regions``).
    Returns ``{"pred", "gt", "protocol", "metrics": {name: value}, "warnings": [...]}``, the very
    object ``hdrbench score --json`` prints (a non-finite value, e.g. PSNR of identical images, is ``None``);
    every warning is also issued as an :class:`HDRBenchWarning`.
    """
    from hdrbench.devices import resolve_device

    scorer = Scorer(protocol, metrics, params, crf=crf, device=resolve_device(device), white=white)
    if regions is True:
        from hdrbench.metrics.regions import RegionSpec

        regions = RegionSpec()
    record = score_record(scorer, pred, gt, clamp=clamp, clamp_gt=clamp_gt, ldr=ldr, regions=regions or None)
    for line in record["warnings"]:
        warnings.warn(line, HDRBenchWarning, stacklevel=2)
    return json_record(record)
