"""What a scoring protocol is: :class:`Protocol` fixes what happens to a (prediction, ground truth) pair of linear
HDR images before the metrics see it (a normalisation, an optional clip of the prediction, optional CRF correction)
and the parameters of each metric; its named options (:data:`OPTIONS`) show in its name. The named protocols are
in :mod:`hdrbench.metrics.protocols`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from hdrbench.errors import HDRBenchError
from hdrbench.metrics.base import Metric, create_metric
from hdrbench.metrics.crf import crf_correct
from hdrbench.metrics.psnr import hdrunet_psnr_params
from hdrbench.metrics.transforms import luminance, reference_factor, to_absolute

#: Protocol-level parameter names → the names a metric declares for them (first match is used; a name
#: without an entry, or without a match, is passed as it is).
PARAM_ALIASES: dict[str, tuple[str, ...]] = {
    "ppd": ("pixels_per_degree",),
    "scale": ("scale", "input_scale"),
}
CRF_DEFAULTS: dict[str, Any] = {"peak_luminance": 4000.0, "deg": 3, "lam": 0.01, "ptf": "pq", "cspace": "luv"}
#: A ground truth peaking above ``PEAK_FACTOR`` × a protocol's ``peak`` does not fit it.
PEAK_FACTOR = 10.0
#: ... nor one with more than this fraction of its pixels below the protocol's ``floor`` (the demo set's darkest
#: [0, 1] images, 16-bit with 6 stops of headroom, have 88 %: dark but scored meaningfully).
FLOOR_FRACTION = 0.95


#: How a protocol's ``normalize`` reads in a table caption.
NORM_WORDS = {"none": "values as given", "max1": "both ÷ max(1, max gt)", "gt-max": "both ÷ max gt",
              "gt-p99": "both ÷ p99 of gt"}


@dataclass(frozen=True)
class Protocol:
    """How a pair is prepared and how each metric is parameterised.

    ``normalize``: divisor taken from the ground truth (``none``, ``max1``, ``gt-max``; see
    :func:`hdrbench.metrics.transforms.reference_factor`) applied to both images; ``clip``: clip the
    normalised prediction to [0, 1]; ``metrics``: the protocol's default metric list; ``params``: per-metric
    parameters; ``crf_correction``: also report every metric on the CRF-corrected prediction.
    """

    name: str
    summary: str
    metrics: tuple[str, ...]
    normalize: str = "none"
    clip: bool = False
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    crf_correction: bool = False
    crf_params: dict[str, Any] = field(default_factory=lambda: dict(CRF_DEFAULTS))
    #: What the protocol assumes of the ground truth, in words (shown when :meth:`check` finds a misfit).
    assumes: str = ""
    #: The ground-truth maximum the protocol is made for (None: any); ``PEAK_FACTOR`` × above it warns.
    peak: float | None = None
    #: Normalised luminance below which the protocol's metrics cannot tell values apart (None: no check);
    #: more than ``FLOOR_FRACTION`` of the pixels below it warns. Normalisation: ``floor_norm`` (default: the
    #: protocol's ``normalize``).
    floor: float | None = None
    floor_norm: str | None = None
    #: Divisor applied after ``normalize``: the value of reference white in the files (see :meth:`with_white`).
    white: float = 1.0
    #: What to do instead, appended to a :meth:`check` warning.
    advice: str = ""
    #: The named options applied to this protocol (:meth:`with_options`), shown in its :attr:`name`.
    options: tuple[tuple[str, Any], ...] = ()
    #: The protocol's own name, before any option (:attr:`name` is ``base(option=value, ...)`` then).
    base: str = ""

    def __post_init__(self) -> None:
        if not self.base:
            object.__setattr__(self, "base", self.name)

    def metric_params(self, name: str, **overrides: Any) -> dict[str, Any]:
        """The protocol's parameters for metric ``name`` with ``overrides`` on top (protocol-level names)."""
        return {**self.params.get(name, {}), **overrides}

    def metric_arguments(self, name: str, **overrides: Any) -> dict[str, Any]:
        """The keyword arguments metric ``name`` is built with: the protocol's parameters and ``overrides``, with
        protocol-level names (``ppd``, ``scale``, ``color_encoding``) mapped to the names the metric declares."""
        from hdrbench.registry import METRICS

        declared = METRICS.get(name).default_params
        params = {}
        for key, value in self.metric_params(name, **overrides).items():
            target = next((k for k in PARAM_ALIASES.get(key, (key,)) if k in declared), key)
            params[target] = value
        return params

    def resolved_params(self, name: str, **overrides: Any) -> dict[str, Any]:
        """Every parameter of metric ``name`` as this protocol builds it (the metric's defaults under
        :meth:`metric_arguments`), without building it: what a stored score's digest covers."""
        from hdrbench.registry import METRICS

        return {**METRICS.get(name).default_params, **self.metric_arguments(name, **overrides)}

    def create(self, name: str, **overrides: Any) -> Metric:
        """Build metric ``name`` with this protocol's parameters (:meth:`metric_arguments`)."""
        return create_metric(name, **self.metric_arguments(name, **overrides))

    def preparation_words(self) -> str:
        """The preparation in a caption's words, e.g. ``both ÷ max(1, max gt), prediction clipped to [0, 1]``."""
        words = NORM_WORDS.get(self.normalize, self.normalize)
        if self.white != 1.0:
            words += f", reference white {self.white:g}"
        return words + (", prediction clipped to [0, 1]" if self.clip else "")

    def preparation(self) -> dict[str, Any]:
        """What happens to every pair before any metric sees it (normalisation, clip, white): part of every
        score's digest. The wording fields (summary, assumptions) are not."""
        return {"name": self.name, "normalize": self.normalize, "clip": self.clip, "white": self.white}

    def with_white(self, white: float | str) -> Protocol:
        """This protocol with reference white declared: a value (in the files' units) or ``p99``/``gt-p99``
        (:meth:`with_options` ``white=``; the name says it)."""
        return self.with_options(white=white)

    def with_options(self, **options: Any) -> Protocol:
        """This protocol with named options (:data:`OPTIONS`), each part of its name in every output, e.g.
        ``dcdr(clip_pred=false)``; an unknown option, or a value it does not take, is one error line."""
        out = self
        for key, value in options.items():
            if key not in OPTIONS:
                raise HDRBenchError(f"protocol '{self.base}' has no option '{key}' (options: {', '.join(OPTIONS)})")
            out, shown = OPTIONS[key](out, value)
            kept = tuple((k, v) for k, v in out.options if k != key) + ((key, shown),)
            out = replace(out, options=kept)
        text = ",".join(f"{k}={v}" for k, v in out.options)
        return replace(out, name=f"{out.base}({text})" if text else out.base)

    def check(self, gt: torch.Tensor) -> list[str]:
        """Per image of a validated ground truth ``(N, 3, H, W)`` (linear, as read): ``""`` when it fits the
        protocol's assumptions, else one line saying what does not fit and what to use instead."""
        out = []
        peaks = gt.flatten(1).amax(dim=1)
        frac = None
        if self.floor is not None:
            f = reference_factor(gt, self.floor_norm or self.normalize) * self.white
            y = luminance(gt[..., ::4, ::4] / f).flatten(1)  # a fraction of pixels: 1/16 of them tell it
            frac = (y < self.floor).double().mean(dim=1)
        for i in range(gt.shape[0]):
            what = []
            if self.peak is not None and float(peaks[i]) > PEAK_FACTOR * self.peak:
                what.append(f"it peaks at {float(peaks[i]):.3g}, over {PEAK_FACTOR:g}x the protocol's {self.peak:g}")
            if frac is not None and float(frac[i]) > FLOOR_FRACTION:
                what.append(f"{100 * float(frac[i]):.0f} % of its pixels fall below the metrics' resolution "
                            f"({self.floor:.2g} after normalisation)")
            out.append(f"protocol '{self.name}' assumes {self.assumes}, but {' and '.join(what)}: its scores are "
                       f"close to meaningless{'; ' + self.advice if self.advice else ''}" if what else "")
        return out

    def prepare(self, pred: torch.Tensor, gt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalise (and clip) a validated pair ``(N, 3, H, W)`` as the protocol says."""
        f = reference_factor(gt, self.normalize) * self.white
        pred, gt = pred / f, gt / f
        return (pred.clamp(0.0, 1.0) if self.clip else pred), gt

    def correct(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        """CRF-corrected prediction (:func:`hdrbench.metrics.crf.crf_correct`), fitted in absolute units
        (ground-truth maximum → ``crf_params['peak_luminance']`` cd/m²) and returned in the prepared units."""
        c = dict(self.crf_params)
        peak = float(c.pop("peak_luminance"))
        pa, ga = to_absolute(pred.double(), gt.double(), "gt-max", peak, 1.0)
        out = crf_correct(pa, ga, **c) * (reference_factor(gt.double(), "gt-max") / peak)
        out = out.to(pred.dtype)
        return out.clamp(0.0, 1.0) if self.clip else out

    def describe(self) -> dict[str, Any]:
        """A JSON-able record of the protocol, stored with every score."""
        return {"name": self.name, "options": dict(self.options), "summary": self.summary,
                "normalize": self.normalize, "clip": self.clip,
                "metrics": list(self.metrics), "params": {k: dict(v) for k, v in self.params.items()},
                "crf_correction": self.crf_correction, "crf_params": dict(self.crf_params),
                "assumes": self.assumes, "white": self.white}


def _white(p: Protocol, white: Any) -> tuple[Protocol, str]:
    if isinstance(white, str) and white.lower() in ("p99", "gt-p99"):
        return replace(p, normalize="gt-p99", white=1.0), "p99"
    try:
        value = float(white)
    except (TypeError, ValueError):
        raise HDRBenchError(f"reference white '{white}' is neither a positive number nor 'p99'") from None
    if not (value > 0 and math.isfinite(value)):
        raise HDRBenchError(f"reference white must be a finite positive number, not {value}")
    return replace(p, white=value), f"{value:g}"


def _clip_pred(p: Protocol, value: Any) -> tuple[Protocol, str]:
    flag = _boolean(value, "clip_pred")
    return replace(p, clip=flag), str(flag).lower()


def _psnr(p: Protocol, value: Any) -> tuple[Protocol, str]:
    if value not in PSNR_READINGS:
        raise HDRBenchError(f"protocol option psnr='{value}' is not one of {', '.join(PSNR_READINGS)}")
    mu = float(p.params.get("psnr-mu", {}).get("mu", 10.0))
    reading = hdrunet_psnr_params(mu) if value == "hdrunet" else LINEAR_PSNR(mu)
    return replace(p, params={**p.params, **reading}), value


def _boolean(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise HDRBenchError(f"protocol option {key}={value!r} must be true or false")


#: The two readings of the DCDR-UNet paper's PSNRs (§4.1.2): ``linear`` (the text: PSNR on linear [0, 1], μ-law
#: ``log(1+μx)/log(1+μ)``) or ``hdrunet`` (the definitions of its citation [1]; :func:`hdrunet_psnr_params`).
PSNR_READINGS = ("linear", "hdrunet")


def LINEAR_PSNR(mu: float) -> dict[str, dict[str, Any]]:  # noqa: N802  (a table of parameters, like hdrunet's)
    """The ``linear`` reading: PSNR-L on the prepared linear values, peak 1; PSNR-μ without tanh, no normalisation."""
    return {"psnr-l": {"norm": "none", "peak": 1.0}, "psnr-mu": {"mu": float(mu), "norm": "none"}}


#: A protocol's named options: ``white`` (reference white, a value or ``p99``), ``clip_pred`` (clip the prepared
#: prediction to [0, 1]: the ``dcdr`` protocol's choice, which the paper does not state), ``psnr`` (the PSNR
#: reading, :data:`PSNR_READINGS`). Each returns the changed protocol and the value as its name shows it.
OPTIONS = {"white": _white, "clip_pred": _clip_pred, "psnr": _psnr}
