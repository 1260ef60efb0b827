"""Load a method with its weights and run it on an image: the one path used by the API, ``predict`` and ``evaluate``.

``load_model(name, checkpoint)`` accepts hdrbench's own ``.safetensors`` weights or the authors' release
files (see :mod:`hdrbench.official`); each method converts its official files with its
``convert_official_state_dict`` hook, so nothing here names a method. ``predict_image`` turns an image
(path, ``(H, W, 3)`` array or ``(N, 3, H, W)`` tensor, display-referred [0, 1] or uint8) into linear HDR
with tiled inference.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from hdrbench.errors import HDRBenchError
from hdrbench.method import Method

CheckpointArg = str | os.PathLike | Sequence[str | os.PathLike] | None


@dataclass
class LoadedModel:
    """A method, its network (eval mode, on its device) and where the weights came from."""

    method: Method
    net: nn.Module
    #: ``method``, ``substitutions`` (JSON) … of an hdrbench weights file; ``official`` for release files.
    metadata: dict[str, str] = field(default_factory=dict)


def checkpoint_paths(checkpoint: CheckpointArg) -> list[Path]:
    """``checkpoint`` as a list of paths (one file, or several, e.g. the three HDRTV stages)."""
    if checkpoint is None or checkpoint == "":
        return []
    if isinstance(checkpoint, str | os.PathLike):
        return [Path(checkpoint)]
    return [Path(c) for c in checkpoint]


def open_model(name: str, checkpoint: CheckpointArg = None, device: str | torch.device = "cpu", *,
               recipes: str | None = None, dataset: Any = None, **options: Any) -> LoadedModel:
    """:func:`load_model` plus the weights' metadata (the evaluation runner records it).

    ``recipes``: the training switch whose implied options apply (:attr:`Method.recipes_options`);
    ``dataset``: shown to the method first (:meth:`Method.bind_dataset`, e.g. the identity row's camera).
    """
    from hdrbench.method import create_method
    from hdrbench.official import file_kind
    from hdrbench.registry import METHODS

    paths = checkpoint_paths(checkpoint)
    kinds = [file_kind(p) for p in paths]
    if "safetensors" in kinds:
        if len(paths) > 1:
            raise HDRBenchError("give one hdrbench .safetensors weights file (several files are for official "
                                "releases split by stage)", paths[kinds.index("safetensors")])
        from hdrbench.checkpoint import load_weights

        method = create_method(name, recipes=recipes, **options)
        if dataset is not None:
            method.bind_dataset(dataset)
        net = method.build_network()
        meta = load_weights(net, paths[0], method=method.name)
        return LoadedModel(method, net.eval().to(device), meta)
    cls = METHODS.get(name)
    converted = [_convert(cls, name, p) for p in paths]
    implied: dict[str, Any] = {}
    state: dict[str, torch.Tensor] = {}
    for p, part in zip(paths, converted):
        for k, v in part.options.items():
            if k in implied and implied[k] != v:
                raise HDRBenchError(f"implies option {k}={v!r}, but another checkpoint file implies {implied[k]!r}", p)
            implied[k] = v
        twice = sorted(set(state) & set(part.state_dict))
        if twice:
            raise HDRBenchError(f"holds '{twice[0]}' again (given by an earlier checkpoint file too)", p)
        state.update(part.state_dict)
    method = create_method(name, recipes=recipes, **{**implied, **options})
    if dataset is not None:
        method.bind_dataset(dataset)
    net = method.build_network()
    if paths:
        _load_partial(method, net, state, paths)
        for p, part in zip(paths, converted):
            if part.note:
                warnings.warn(f"hdrbench: {p.name}: {part.note}", stacklevel=2)
    meta = {"method": method.name, "official": json.dumps([part.description for part in converted]),
            "substitutions": "[]"} if paths else {}
    return LoadedModel(method, net.eval().to(device), meta)


def load_model(name: str, checkpoint: CheckpointArg = None, device: str | torch.device = "cpu",
               **options: Any) -> tuple[Method, nn.Module]:
    """``(method, net)`` for the registered method ``name`` with ``options``, its weights from ``checkpoint``.

    ``checkpoint``: an hdrbench ``.safetensors`` file, an official release file (``.pth``/``.ckpt``, or
    HDRCNN's ``.npz``), or a list of official files that together make the network (the HDRTV stages);
    ``None`` gives a freshly initialised (untrained) network. Options implied by an official file (widths,
    input conventions) are applied unless ``options`` says otherwise. The network is in eval mode on ``device``.
    (timm's ``create_model(name, checkpoint_path=...)`` as a model.)
    """
    loaded = open_model(name, checkpoint, device, **options)
    return loaded.method, loaded.net


def _convert(cls: type[Method], name: str, path: Path) -> Any:
    """``cls``'s conversion of the official file ``path``; a file of another method or of none is an error."""
    from hdrbench.official import read_official_state
    from hdrbench.registry import METHODS

    raw = read_official_state(path)
    part = cls.convert_official_state_dict(raw)
    if part is not None:
        return part
    for other, other_cls in METHODS.items():
        if other_cls is not cls and other_cls.convert_official_state_dict(raw) is not None:
            raise HDRBenchError(f"holds official weights of method '{other}', not '{name}'; use that method", path)
    sample = ", ".join(list(raw)[:3])
    raise HDRBenchError(f"is not an official release file of method '{name}' (keys {sample}, ...); expected the "
                        f"authors' released weights or an hdrbench .safetensors file", path)


def _load_partial(method: Method, net: nn.Module, state: dict[str, torch.Tensor], paths: list[Path]) -> None:
    """Load converted official tensors: no unknown keys, equal shapes, every key the options need present."""
    where = paths[0] if len(paths) == 1 else paths[-1]
    own = net.state_dict()
    unknown = sorted(set(state) - set(own))
    if unknown:
        raise HDRBenchError(f"converted key '{unknown[0]}' has no place in method '{method.name}' "
                            f"with options {method.options}", where)
    for key, value in state.items():
        if tuple(value.shape) != tuple(own[key].shape):
            raise HDRBenchError(f"'{key}' is {tuple(value.shape)} but method '{method.name}' with these options "
                                f"expects {tuple(own[key].shape)}; were the options (widths) different?", where)
    required = method.required_state_keys(net)
    missing = [k for k in own if k in required and k not in state]
    if missing:
        parts = ", ".join(dict.fromkeys(k.split(".", 1)[0] for k in missing))
        raise HDRBenchError(f"misses {len(missing)} tensors of {parts} (e.g. '{missing[0]}') that method "
                            f"'{method.name}' with options {method.options} needs; give every file it needs "
                            "(e.g. each stage's)", where)
    net.load_state_dict(state, strict=False)


def _as_batch(ldr: Any) -> tuple[torch.Tensor, str]:
    """``(tensor (N, 3, H, W) float32, kind)`` from a path, an ``(H, W, 3)`` array or a tensor."""
    from hdrbench import io

    if isinstance(ldr, str | os.PathLike):
        return torch.from_numpy(io.read_ldr(ldr)).permute(2, 0, 1)[None], "numpy"
    if isinstance(ldr, np.ndarray):
        if ldr.ndim != 3 or ldr.shape[-1] != 3:
            raise HDRBenchError(f"predict_image: expected an (H, W, 3) RGB array, got shape {ldr.shape}")
        arr = ldr.astype(np.float32) / 255.0 if ldr.dtype == np.uint8 else ldr.astype(np.float32, copy=False)
        return torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1)[None], "numpy"
    if isinstance(ldr, torch.Tensor):
        if ldr.ndim == 3:
            return ldr[None].float(), "chw"
        if ldr.ndim == 4:
            return ldr.float(), "tensor"
    raise HDRBenchError(f"predict_image: expected a path, an (H, W, 3) array or an (N, 3, H, W) tensor, "
                        f"not {type(ldr).__name__}")


@torch.no_grad()
def predict_image(method: Method, net: nn.Module, ldr: Any, *, tile: int = 512,
                  overlap: int | None = None) -> np.ndarray | torch.Tensor:
    """Linear HDR for one LDR image, tiled (``tile`` ≤ 0: whole image; ``overlap``: the method's margin).

    ``ldr``: a path (8-bit PNG/JPEG), an ``(H, W, 3)`` RGB array (uint8, or float display-referred [0, 1]),
    or a tensor ``(3, H, W)`` / ``(N, 3, H, W)`` in [0, 1]. Returns ``(H, W, 3)`` float32 for a path or array,
    else a tensor of the input's layout, on the network's device. Methods that need the whole image
    (``tileable = False``) run whole.
    """
    from hdrbench.inference import tiled_predict

    x, kind = _as_batch(ldr)
    param = next(iter(net.parameters()), None)
    x = x.to(param.device if param is not None else "cpu")
    y = tiled_predict(method, net, x, tile=tile if method.tileable else 0, overlap=overlap)
    if kind == "numpy":
        return y[0].permute(1, 2, 0).float().cpu().numpy()
    return y[0] if kind == "chw" else y


__all__ = ["LoadedModel", "checkpoint_paths", "load_model", "open_model", "predict_image"]
