"""Where a network looks: effective receptive fields and deformable sampling locations of chosen output pixels.

* **Effective receptive field** (ERF, Luo et al., NIPS 2016) of output pixel ``(y, x)``:
  ``ERF[v, u] = Σ_{c_out} Σ_{c_in} |∂ out[c_out, y, x] / ∂ in[c_in, v, u]|``, by autograd alone (one forward per
  pixel, one backward per output channel through the retained graph; nothing per method). It is the network's
  own ``forward`` on the input padded as :meth:`~hdrbench.method.Method.predict` pads it, without ``predict``'s
  clipping of negative outputs (a clipped output has no gradient). A method whose network has no parameters or
  whose forward leaves autograd (``identity`` runs numpy) has none: :attr:`Probe.note` says why.
* **Sampling locations** of every deformable convolution (a module whose ``forward`` takes an ``offset``: the
  DCRB's ``DeformConv3x3``, torchvision's ``DeformConv2d``), the paper's Figure 2: a forward pre-hook reads the
  offsets ``(N, 2·G·kh·kw, Ho, Wo)`` (torchvision layout: channel ``2k`` = dy, ``2k+1`` = dx of tap
  ``k = ky·kw + kx``) at the output feature ``(⌊y·s⌋, ⌊x·s⌋)`` covering the pixel (``s``: feature size over
  input size, 0.5 or 0.25 in DCDR-UNet), and the tap ``k`` samples the feature map at
  ``i·stride − padding + (ky, kx)·dilation + (dy, dx)``, drawn at that position divided by the input feature's
  scale (a stride-2 3×3 conv's feature ``i`` is centred on input pixel ``2i``). Convolutions fed the same offset
  tensor (a DCRB's two) count once, under their parent module's name.

Images: ``ldr`` ``(H, W, 3)`` display-referred float in ``[0, 1]``; ERF maps ``(H, W)`` float64 ``>= 0``;
pixels ``(y, x)`` integer input coordinates.
"""

from __future__ import annotations

import contextlib
import inspect
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hdrbench import io
from hdrbench.errors import HDRBenchError
from hdrbench.method import Method
from hdrbench.metrics.regions import as_rgb8, find_regions, gray_bt601
from hdrbench.plan import Plan

Pixel = tuple[int, int]
#: Decades of ERF shown below its maximum (log scale).
DECADES = 3.0
#: Share of the ERF mass :func:`reach` asks for.
REACH_FRACTION = 0.9


@dataclass(frozen=True)
class Sampling:
    """One deformable convolution at one pixel: ``name`` (its block), ``scale`` (its output feature size over the
    input size), ``points`` ``(G·kh·kw, 2)`` float ``(y, x)`` in input pixels, taps in torchvision's order."""

    name: str
    scale: float
    points: np.ndarray


@dataclass
class Probe:
    """What one network does at one output pixel: its ERF ``(H, W)`` (None with ``note`` saying why) and the
    sampling locations of its deformable convolutions (empty for a network without any)."""

    pixel: Pixel
    erf: np.ndarray | None
    sampling: list[Sampling] = field(default_factory=list)
    note: str = ""


def region_centre(ldr: np.ndarray) -> Pixel | None:
    """The pixel of largest distance to well-exposed content in the largest overexposed component of ``ldr``
    (:func:`hdrbench.metrics.regions.find_regions`; first in raster order on ties), or None without one."""
    regions = find_regions(ldr)
    if not regions.mask.any() or regions.mask.all():
        return None
    largest = regions.labels == regions.labels.ravel()[int(np.argmax(regions.area))]
    y, x = np.unravel_index(int(np.argmax(np.where(largest, regions.distance, -1.0))), largest.shape)
    return int(y), int(x)


def network_function(method: Method, net: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """``ldr (N, 3, H, W) -> method.forward(net, padded ldr)`` cropped to ``(N, 3, H, W)``, differentiably
    (padding to ``pad_multiple`` as :meth:`Method.predict` does; no clipping, no ``no_grad``)."""

    def run(ldr: torch.Tensor) -> torch.Tensor:
        h, w = ldr.shape[-2:]
        m = max(1, method.pad_multiple)
        ph, pw = (-h) % m, (-w) % m
        x = ldr
        if ph or pw:
            x = F.pad(ldr, (0, pw, 0, ph), mode=method.pad_mode if (ph < h and pw < w) else "replicate")
        return method.forward(net, x)[..., :h, :w]

    return run


def deformable_modules(net: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` of the modules of ``net`` whose ``forward`` takes an ``offset`` argument."""
    found = []
    for name, module in net.named_modules():
        try:
            params = inspect.signature(module.forward).parameters
        except (TypeError, ValueError):
            continue
        if "offset" in params:
            found.append((name, module))
    return found


@dataclass
class _Seen:
    """One deformable call of a forward: its module, the (input, offset) shapes and the offsets (detached)."""

    name: str
    module: nn.Module
    in_hw: tuple[int, int]
    offset: torch.Tensor


@contextlib.contextmanager
def _offsets(net: nn.Module | None) -> Iterator[list[_Seen]]:
    """Record every deformable convolution call of ``net`` while in the block (forward pre-hooks)."""
    seen: list[_Seen] = []
    handles = []
    for name, module in deformable_modules(net) if net is not None else []:
        signature = inspect.signature(module.forward)

        def hook(mod: nn.Module, args: tuple, kwargs: dict, name: str = name, signature=signature) -> None:
            bound = signature.bind(*args, **kwargs).arguments
            offset = bound["offset"]
            fed = next(v for k, v in bound.items() if k not in ("offset", "mask") and isinstance(v, torch.Tensor))
            seen.append(_Seen(name, mod, tuple(fed.shape[-2:]), offset.detach()))

        handles.append(module.register_forward_pre_hook(hook, with_kwargs=True))
    try:
        yield seen
    finally:
        for h in handles:
            h.remove()


def _pair(value: int | Sequence[int]) -> tuple[int, int]:
    return (int(value), int(value)) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _sampling(calls: list[_Seen], pixel: Pixel, in_hw: tuple[int, int]) -> list[Sampling]:
    """Sampling locations at ``pixel`` of each distinct offset tensor among ``calls`` (see the module docstring)."""
    out, done = [], set()
    for call in calls:
        key = (call.offset.data_ptr(), tuple(call.offset.shape))
        if key in done:
            continue
        done.add(key)
        weight = getattr(call.module, "weight", None)  # without one: one offset group, a square kernel
        kh, kw = weight.shape[-2:] if weight is not None else (round((call.offset.shape[1] / 2) ** 0.5),) * 2
        dil = _pair(getattr(call.module, "dilation", 1))
        stride = _pair(getattr(call.module, "stride", 1))
        ho, wo = call.offset.shape[-2:]
        # "same" padding unless the module says otherwise
        pad = _pair(getattr(call.module, "padding", (dil[0] * (kh - 1) // 2, dil[1] * (kw - 1) // 2)))
        s_out, s_in = (ho / in_hw[0], wo / in_hw[1]), (call.in_hw[0] / in_hw[0], call.in_hw[1] / in_hw[1])
        i, j = min(int(pixel[0] * s_out[0]), ho - 1), min(int(pixel[1] * s_out[1]), wo - 1)
        off = call.offset[0, :, i, j].double().cpu().numpy().reshape(-1, kh * kw, 2)  # (G, taps, (dy, dx))
        ky, kx = np.meshgrid(np.arange(kh), np.arange(kw), indexing="ij")
        grid = np.stack([i * stride[0] - pad[0] + ky.ravel() * dil[0], j * stride[1] - pad[1] + kx.ravel() * dil[1]],
                        axis=-1)
        points = ((grid[None] + off) / np.array(s_in)).reshape(-1, 2)
        out.append(Sampling(call.name.rpartition(".")[0] or call.name, s_out[0], points))
    return out


def probe(fn: Callable[[torch.Tensor], torch.Tensor], ldr: np.ndarray | torch.Tensor, pixel: Pixel,
          net: nn.Module | None = None) -> Probe:
    """ERF of ``fn`` at ``pixel`` and, with ``net``, its deformable sampling locations there.

    ``fn``: ``(1, 3, H, W) -> (1, C, H, W)``; ``ldr``: ``(H, W, 3)`` array or ``(1, 3, H, W)`` tensor (float32,
    CPU). ``net`` (default: ``fn`` when it is a module) is hooked for offsets and its parameters are frozen during
    the call (gradients reach the input only)."""
    x = ldr if isinstance(ldr, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(ldr)).permute(2, 0, 1)[None]
    x = x.detach().float().clone().requires_grad_(True)
    y, xx = pixel
    net = net if net is not None else (fn if isinstance(fn, nn.Module) else None)
    params = [p for p in net.parameters() if p.requires_grad] if net is not None else []
    try:
        for p in params:
            p.requires_grad_(False)
        with torch.enable_grad(), _offsets(net) as calls:
            out = fn(x)
        if not out.requires_grad:
            return Probe(pixel, None, _sampling(calls, pixel, tuple(x.shape[-2:])),
                         "no gradient: its forward leaves autograd")
        erf = torch.zeros(x.shape[-2:], dtype=torch.float64)
        channels = out.shape[1]
        for c in range(channels):
            (grad,) = torch.autograd.grad(out[0, c, y, xx], x, retain_graph=c < channels - 1, allow_unused=True)
            if grad is not None:
                erf += grad[0].abs().double().sum(dim=0)
    finally:
        for p in params:
            p.requires_grad_(True)
    return Probe(pixel, erf.numpy(), _sampling(calls, pixel, tuple(x.shape[-2:])))


def probe_method(method: Method, net: nn.Module, ldr: np.ndarray, pixel: Pixel) -> Probe:
    """:func:`probe` of a registered method's network (float32, on the CPU); a network without parameters has
    no ERF."""
    net = net.float().cpu()
    if next(iter(net.parameters()), None) is None:
        return Probe(pixel, None, note="no parameters: nothing to differentiate")
    return probe(network_function(method, net), ldr, pixel, net)


def reach(erf: np.ndarray, pixel: Pixel, fraction: float = REACH_FRACTION) -> float:
    """The smallest radius (input pixels) around ``pixel`` holding ``fraction`` of the ERF's mass."""
    yy, xx = np.indices(erf.shape)
    r = np.hypot(yy - pixel[0], xx - pixel[1]).ravel()
    order = np.argsort(r, kind="stable")
    mass = np.cumsum(erf.ravel()[order])
    return float(r[order][min(int(np.searchsorted(mass, fraction * mass[-1])), r.size - 1)])


def parse_pixel(text: str) -> Pixel:
    """``"y,x"`` (non-negative integers) → ``(y, x)``; one-line error otherwise."""
    parts = text.replace(" ", "").split(",")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise HDRBenchError(f"'hdrbench explain --pixels' '{text}': give a pixel as y,x (two non-negative integers, "
                            "e.g. 120,64)")
    return int(parts[0]), int(parts[1])


@dataclass
class Row:
    """One figure row: ``image`` id, its ``ldr`` ``(H, W, 3)``, the ``pixel`` and one :class:`Probe` per method."""

    image: str
    ldr: np.ndarray
    pixel: Pixel
    probes: list[Probe | None]


def draw(rows: list[Row], titles: list[str], stem: Path) -> list[Path]:
    """``stem.png`` and ``stem.pdf``: one row per :class:`Row`, one column per title (method); each panel is
    the gray LDR, the ERF as log10 of its max-normalised value over :data:`DECADES`, the pixel (cyan +) and the
    sampling locations as dots (a colour per block, later blocks smaller)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    nrow, ncol = len(rows), len(titles)
    fig, axes = plt.subplots(nrow, ncol, figsize=(max(2.3 * ncol + 1.0, 4.6), 2.3 * nrow + 1.0), squeeze=False,
                             layout="constrained")
    scales = {s.name: s.scale for row in rows for p in row.probes if p for s in p.sampling}
    blocks = list(scales)
    colours = plt.get_cmap("tab10" if len(blocks) <= 10 else "tab20")
    image = None
    for r, row in enumerate(rows):
        gray = gray_bt601(as_rgb8(row.ldr)) / 255.0
        for c, found in enumerate(row.probes):
            ax = axes[r, c]
            ax.imshow(gray, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
            if found is None or found.erf is None:
                ax.text(0.5, 0.5, found.note.replace(": ", ":\n") if found else "skipped: no network",
                        transform=ax.transAxes, ha="center", va="center", color="white", fontsize=6,
                        bbox={"facecolor": "black", "alpha": 0.6, "linewidth": 0})
            elif found.erf.max() > 0:
                with np.errstate(divide="ignore"):
                    logged = np.log10(found.erf / found.erf.max())
                image = ax.imshow(np.ma.masked_less(logged, -DECADES), cmap="magma", vmin=-DECADES, vmax=0.0,
                                  alpha=0.75, interpolation="nearest")
            for s in found.sampling if found else []:
                b = blocks.index(s.name)  # earlier blocks drawn larger: coinciding samples stay visible
                ax.scatter(s.points[:, 1], s.points[:, 0], s=8 + 28 * (1 - b / len(blocks)), color=colours(b),
                           linewidths=0)
            ax.plot(row.pixel[1], row.pixel[0], marker="+", color="cyan", markersize=9, mew=1.5)
            ax.set_xlim(-0.5, gray.shape[1] - 0.5)
            ax.set_ylim(gray.shape[0] - 0.5, -0.5)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(titles[c], fontsize=8)
            if c == 0:
                ax.set_ylabel(f"{row.image}\n(y, x) = {row.pixel}", fontsize=7)
    if blocks:
        handles = [Line2D([], [], ls="", marker="o", ms=4, color=colours(i)) for i in range(len(blocks))]
        fig.legend(handles, [f"{b} (×{scales[b]:g})" for b in blocks], loc="outside lower center", fontsize=6,
                   ncol=min(3, len(blocks)), frameon=False)
    if image is not None:
        bar = fig.colorbar(image, ax=axes, shrink=min(1.0, 0.9 / nrow + 0.3), pad=0.02)
        bar.set_label("log10 ERF / max", fontsize=7)
        bar.ax.tick_params(labelsize=6)
    fig.suptitle("Effective receptive field of the + pixel, Σ|∂out/∂in|\ndots: deformable-conv sampling locations",
                 fontsize=8)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    for p in paths:
        with io.atomic_write(p) as f:
            fig.savefig(f, dpi=150, format=p.suffix.lstrip("."))
    plt.close(fig)
    return paths


def summary(rows: list[Row], ids: list[str]) -> list[dict]:
    """Per (row, method): the pixel, the :func:`reach` of the ERF, the share of its mass on well-exposed pixels
    and the sampling locations (JSON-friendly)."""
    out = []
    for row in rows:
        well = ~find_regions(row.ldr).mask
        for method_id, found in zip(ids, row.probes):
            if found is None:
                continue
            rec: dict = {"image": row.image, "method": method_id, "pixel": list(row.pixel), "note": found.note}
            if found.erf is not None and found.erf.sum() > 0:
                rec["reach_px"] = round(reach(found.erf, row.pixel), 2)
                rec["well_exposed_share"] = round(float(found.erf[well].sum() / found.erf.sum()), 4)
            rec["sampling"] = {s.name: {"scale": s.scale, "points_yx": np.round(s.points, 3).tolist()}
                               for s in found.sampling}
            out.append(rec)
    return out


def write_summary(records: list[dict], path: Path) -> Path:
    """``records`` as a JSON list, one record a line, at ``path`` (atomically)."""
    return io.write_text(path, "[\n" + ",\n".join(json.dumps(r) for r in records) + "\n]\n")


@dataclass
class Explanation:
    """What :func:`explain_plan` made: the written files and one line per (image, method) or skipped method."""

    paths: list[Path]
    lines: list[str]


def explain_plan(plan: Plan, method_ids: Sequence[str] | None = None, pixels: Sequence[Pixel] | None = None,
                 out_dir: Path | None = None) -> Explanation:
    """``receptive_field.png/.pdf/.json`` of the plan's figure images for ``method_ids`` (default: every entry).

    ``pixels``: ``(y, x)`` for every image (default: :func:`region_centre`, else the image centre); one figure
    row per (image, pixel). Networks run in float32 on the CPU; external predictions have no network."""
    from hdrbench.models import open_model

    entries = [plan.entry(m) for m in method_ids] if method_ids else list(plan.entries)
    stem = (out_dir or plan.cfg.runs.reports) / "receptive_field"
    for suffix in (".png", ".pdf", ".json"):
        io.check_output(stem.with_suffix(suffix))  # an unwritable output fails before any work
    pairs = {p.id: p for p in plan.pairs[plan.figure_set]}
    rows, lines = [], []
    for image in plan.figure_ids:
        ldr = plan.dataset.load_pair(pairs[image])[0].astype(np.float32)
        h, w = ldr.shape[:2]
        chosen = list(pixels) if pixels else [region_centre(ldr) or (h // 2, w // 2)]
        for y, x in chosen:
            if not (0 <= y < h and 0 <= x < w):
                raise HDRBenchError(f"'hdrbench explain --pixels' {y},{x} is outside figure image '{image}' "
                                    f"({h}x{w}); give y in 0..{h - 1} and x in 0..{w - 1}", plan.cfg.path)
            rows.append(Row(image, ldr, (y, x), []))
    for entry in entries:
        if entry.kind == "external":
            lines.append(f"{entry.id}: skipped (external predictions: no network to differentiate)")
            for row in rows:
                row.probes.append(None)
            continue
        cfg = entry.config
        loaded = open_model(cfg.name, list(entry.weights) if entry.kind != "untrained" else None, "cpu",
                            recipes=cfg.recipes or plan.cfg.train.recipes, dataset=plan.dataset, **cfg.options)
        for row in rows:
            found = probe_method(loaded.method, loaded.net, row.ldr, row.pixel)
            row.probes.append(found)
            if found.erf is None:
                lines.append(f"{entry.id} on {row.image} at {row.pixel}: {found.note}; ERF skipped")
            else:
                lines.append(f"{entry.id} on {row.image} at {row.pixel}: 90 % of the ERF within "
                             f"{reach(found.erf, row.pixel):.1f} px" + (f", {len(found.sampling)} deformable "
                                                                         "blocks" if found.sampling else ""))
    paths = draw(rows, [e.label for e in entries], stem)
    paths.append(write_summary(summary(rows, [e.id for e in entries]), stem.with_suffix(".json")))
    return Explanation(paths, lines)
