"""Named scoring protocols, so that numbers compare with the literature they claim to follow.

A :class:`Protocol` fixes what happens to a (prediction, ground truth) pair of linear HDR images before
the metrics see it (a normalisation, an optional clip of the prediction, optional CRF correction) and
the parameters of each metric. Every stored score records the protocol's :meth:`Protocol.describe`.

``dcdr`` — DCDR-UNet (Kim et al., CVPRW 2024, §4.1.2):
    HDR normalised to [0, 1]: both images are divided by ``max(1, max(gt))`` (Cityscapes 16-bit data,
    read as value/65535, is already in [0, 1] and is kept as is; brighter data is scaled by its maximum),
    then the prediction is **clipped to [0, 1]**: the paper's results live on the 16-bit [0, 1] scale, on
    which an overshoot above the ground truth's peak cannot be represented; clipping never rewards a
    wrong value (the ground truth is in [0, 1], so a clipped overshoot is closer to it by definition).
    PSNR-L on linear values, peak 1; PSNR-μ with ``log(1+μx)/log(1+μ)``, μ = 10, peak 1; SSIM on the linear
    [0, 1] values (data range 1; the paper does not say; FHDR's convention); LPIPS (AlexNet) on the μ-law
    (μ = 10) image mapped to [-1, 1] (the paper does not say; the usual "LPIPS on tone-mapped"); HDR-VDP-2
    with the [0, 1] values taken as absolute luminance (scale 1 cd/m²), 'rgb-native', 24 pixels per degree.
``dcdr-hdrunet`` — the ``dcdr`` protocol with the PSNR definitions of HDRUNet, the paper the DCDR-UNet paper
    cites for PSNR-L and PSNR-μ ([1]): PSNR-L on gamma-encoded values (``x**(1/2.24)``) ÷ the ground truth's
    maximum; PSNR-μ on values ÷ the ground truth's 99th percentile, ``log(1+μ·tanh(x))/log(1+μ)``, with the
    DCDR paper's μ = 10 (see :func:`hdrbench.metrics.psnr.hdrunet_psnr_params`). Same preparation (÷ max(1,
    max gt), prediction clipped to [0, 1]) and other metrics as ``dcdr``. The paper does not say which of the
    two it computed; ``dcdr`` is the literal reading of its text (linear PSNR, μ-law without tanh).
``ntire2021`` — NTIRE 2021 HDR challenge (organisers' ``metrics.py``):
    PSNR-L on the gamma-encoded images (``x**(1/2.24)`` of the linear inputs) normalised by the ground
    truth's maximum; PSNR-μ after normalisation by the ground truth's 99th percentile, ``tanh``, μ = 5000.
    No clipping. (SSIM/LPIPS are not part of it; asked for, they run on values / max(gt).)
``scene`` — scene-referred linear HDR (real photographs, renders, ``hdrbench data synth`` output):
    1.0 is the reference (diffuse) white — ``data synth`` writes 1.0 = the LDR's saturation point — or a
    declared one (option ``white``: a value, or ``p99`` for the ground truth's 99th percentile as NTIRE 2021
    does; the name then says it, ``scene(white=2)``); nothing is clipped and highlights keep their ratio to white.
    Reference white is shown at 203 cd/m² (ITU-R BT.2408's HDR reference white) for PU21-PSNR, PU21-SSIM and
    HDR-VDP-2 (rgb-native, 24 ppd); PSNR-μ is the μ-law (μ = 5000) of the values ÷ the ground truth's maximum
    (NTIRE's ``tanh`` of white-relative values saturates above about 3× white, so it scored a prediction whose
    highlights were clipped at a few times white within a hair of a perfect one).
``sihdr`` — SI-HDR benchmark (Hanji et al. 2022): PU21-PSNR, PU21-SSIM and ColorVideoVDP on absolute
    luminance (ground-truth maximum → 4000 cd/m²; cvvdp: 1500 cd/m², its display's peak), reported with
    and without CRF correction.
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
#: cd/m² of reference white in the ``scene`` protocol (ITU-R BT.2408).
REFERENCE_WHITE_NITS = 203.0


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


PROTOCOLS: dict[str, Protocol] = {
    "dcdr": Protocol(
        name="dcdr",
        summary="DCDR-UNet paper: [0,1] linear HDR (÷max(1,max gt)), prediction clipped to [0,1]; PSNR-L peak 1; "
                "PSNR-μ μ=10; SSIM linear; LPIPS μ-law(10); HDR-VDP-2 rgb-native 24 ppd, 1.0 = 1 cd/m²",
        metrics=("psnr-l", "psnr-mu", "ssim", "lpips", "hdrvdp2"),
        normalize="max1",
        clip=True,
        params={
            "psnr-l": {"norm": "none", "peak": 1.0},
            "psnr-mu": {"mu": 10.0, "norm": "none"},
            "ssim": {"domain": "linear", "data_range": 1.0},
            "lpips": {"domain": "mu-law", "mu": 10.0},
            "hdrvdp2": {"color_encoding": "rgb-native", "ppd": 24.0, "scale": 1.0},
        },
        assumes="display-referred linear HDR in [0, 1] (the paper's 16-bit Cityscapes data)",
        peak=1.0,
        floor=1 / 255,
        advice="for scene-referred data use protocol scene ('hdrbench score --protocol scene', bench.toml "
               "[evaluate] protocol; docs/scoring.md)",
    ),
    "scene": Protocol(
        name="scene",
        summary="Scene-referred linear HDR: 1.0 = reference white (or declared: option white), shown at 203 cd/m²; "
                "nothing clipped; PU21-PSNR/SSIM, PSNR-μ μ=5000 of values ÷ max gt, HDR-VDP-2 rgb-native 24 ppd",
        metrics=("pu21-psnr", "pu21-ssim", "psnr-mu", "hdrvdp2"),
        params={
            "pu21-psnr": {"anchor": "absolute", "scale": REFERENCE_WHITE_NITS},
            "pu21-ssim": {"anchor": "absolute", "scale": REFERENCE_WHITE_NITS},
            "psnr-mu": {"mu": 5000.0, "norm": "gt-max"},
            "hdrvdp2": {"color_encoding": "rgb-native", "ppd": 24.0, "scale": REFERENCE_WHITE_NITS},
            "psnr-l": {"norm": "gt-max", "peak": 1.0},
            "ssim": {"domain": "mu-law", "mu": 5000.0, "norm": "gt-max"},
            "lpips": {"domain": "mu-law", "mu": 5000.0, "norm": "gt-max"},
        },
        assumes="scene-referred linear HDR with reference white at 1.0 (or as declared)",
        floor=0.005 / REFERENCE_WHITE_NITS,
        advice="declare the reference white ('hdrbench score --white VALUE' or 'hdrbench score --white p99')",
    ),
    "ntire2021": Protocol(
        name="ntire2021",
        summary="NTIRE 2021 HDR challenge: PSNR-L on x**(1/2.24) ÷ max(gt); PSNR-μ ÷ p99(gt), tanh, μ=5000",
        metrics=("psnr-l", "psnr-mu"),
        params={
            "psnr-l": {"gamma": 2.24, "norm": "gt-max", "peak": 1.0},
            "psnr-mu": {"mu": 5000.0, "norm": "gt-p99", "tanh": True},
            "ssim": {"norm": "gt-max"},
            "lpips": {"norm": "gt-max"},
        },
        assumes="scene-referred linear HDR of any scale (normalised by the maximum and 99th percentile)",
    ),
    "sihdr": Protocol(
        name="sihdr",
        summary="SI-HDR (Hanji et al. 2022): PU21-PSNR/SSIM (max gt → 4000 cd/m²) and ColorVideoVDP, "
                "raw and CRF-corrected",
        metrics=("pu21-psnr", "pu21-ssim", "cvvdp"),
        crf_correction=True,
        assumes="scene-referred linear HDR whose maximum is the display's peak (4000 cd/m²)",
        floor=0.005 / 4000.0,
        floor_norm="gt-max",
        advice="use protocol scene with a declared reference white ('hdrbench score --protocol scene --white "
               "VALUE')",
    ),
}

PROTOCOLS["dcdr-hdrunet"] = replace(
    PROTOCOLS["dcdr"], name="dcdr-hdrunet", base="dcdr-hdrunet",
    summary="dcdr with HDRUNet's PSNRs (the paper's citation [1]): PSNR-L on x**(1/2.24) ÷ max(gt); "
            "PSNR-μ ÷ p99(gt), tanh, μ=10",
    params={**PROTOCOLS["dcdr"].params, **hdrunet_psnr_params(10.0)})


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


def parse_protocol(text: str) -> tuple[str, dict[str, str]]:
    """``"dcdr(clip_pred=false,white=2)"`` → ``("dcdr", {"clip_pred": "false", "white": "2"})``."""
    name, _, rest = text.strip().partition("(")
    options: dict[str, str] = {}
    if rest:
        if not rest.endswith(")"):
            raise HDRBenchError(f"protocol '{text}': options go in parentheses, e.g. dcdr(clip_pred=false)")
        for part in filter(None, (p.strip() for p in rest[:-1].split(","))):
            key, eq, value = part.partition("=")
            if not eq:
                raise HDRBenchError(f"protocol '{text}': option '{part}' needs a value (KEY=VALUE)")
            options[key.strip()] = value.strip()
    return name.strip(), options


def get_protocol(name: str, **options: Any) -> Protocol:
    """The protocol registered under ``name`` (which may carry options: ``dcdr(clip_pred=false)``), with
    ``options`` applied (:meth:`Protocol.with_options`)."""
    base, inline = parse_protocol(name)
    try:
        protocol = PROTOCOLS[base.lower()]
    except KeyError:
        raise HDRBenchError(f"unknown protocol '{base}' (known: {', '.join(sorted(PROTOCOLS))})") from None
    merged = {**inline, **options}
    return protocol.with_options(**merged) if merged else protocol
