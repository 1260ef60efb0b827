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
``sihdr`` — SI-HDR benchmark (Hanji et al. 2022; gfxdisp/pu21 ``pu21_metric.m``): PU21-PSNR, PU21-SSIM (MATLAB's
    ``ssim``: replicate padding, the mean of the whole map), PU21-MS-SSIM, PU21-FSIM and PU21-VSI (``piq`` on the
    PU21 values, as ``pu21_metric`` calls them) on absolute luminance (ground-truth maximum → 4000 cd/m²), reported
    with and without CRF correction. SI-HDR also reports HDR-VDP-3, which exists only in MATLAB (no Python HDR-VDP-3
    exists): hdrbench scores ColorVideoVDP (``cvvdp``, 1500 cd/m², its display's peak) in its place and offers
    HDR-VDP-2 (``hdrvdp2``) as the alternative; neither is comparable with the paper's HDR-VDP-3 column.
``hdrtv`` and the presets of other papers (SingleHDR, ExpandNet, HDRCNN, FHDR): :mod:`hdrbench.metrics.literature`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hdrbench.errors import HDRBenchError
from hdrbench.metrics.literature import PROTOCOLS as LITERATURE
from hdrbench.metrics.protocol import (
    CRF_DEFAULTS,
    FLOOR_FRACTION,
    OPTIONS,
    PARAM_ALIASES,
    PEAK_FACTOR,
    PSNR_READINGS,
    Protocol,
)
from hdrbench.metrics.psnr import hdrunet_psnr_params

#: cd/m² of reference white in the ``scene`` protocol (ITU-R BT.2408).
REFERENCE_WHITE_NITS = 203.0

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
        summary="SI-HDR (Hanji et al. 2022): PU21-PSNR/PSNRY/SSIM/MS-SSIM/FSIM/VSI (max gt → 4000 cd/m²) and "
                "ColorVideoVDP in place of HDR-VDP-3, raw and CRF-corrected",
        metrics=("pu21-psnr", "pu21-psnry", "pu21-ssim", "pu21-msssim", "pu21-fsim", "pu21-vsi", "cvvdp"),
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
PROTOCOLS.update(LITERATURE)


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


__all__ = ["CRF_DEFAULTS", "FLOOR_FRACTION", "OPTIONS", "PARAM_ALIASES", "PEAK_FACTOR", "PROTOCOLS", "PSNR_READINGS",
           "REFERENCE_WHITE_NITS", "Protocol", "get_protocol", "parse_protocol"]
