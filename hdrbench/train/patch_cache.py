"""A decoded, memory-mapped copy of one training split, so training reads patches instead of decoding images.

``open_patch_cache(patches)`` returns a :class:`PatchCache` for a :class:`~hdrbench.datasets.patches.PatchDataset`
(one dataset, split, patch size and crop mode), building it on first use under
``$HDRBENCH_CACHE/patches/<dataset>-<split>-<crop><P>-<key>/``:

    manifest.json   what the arrays hold (shapes, dtypes, the source fingerprint, a BLAKE2b checksum per array)
    ldr.bin         LDR pixels, the narrowest dtype that gives back the reader's float32 values bit for bit
    hdr.bin         HDR pixels, likewise

Storage is exact, never lossy: LDR as ``uint8`` (decoded ``q / 255`` in float32, as :func:`hdrbench.io.read_ldr`
does) or ``uint16`` (``q / 65535``), HDR as ``float16`` when every value is a half (OpenEXR HALF files), else
``uint16`` or ``float32``. A split that needs ``float32`` HDR is 2x larger on disk, not less exact.
``grid`` caches hold the grid patches themselves ``(n, P, P, 3)`` (a batch is one fancy-index read);
``random`` caches hold the whole images, flattened, with their offsets (a crop is a slice).

The key hashes the source: the dataset's class, its module's source bytes, its options, and every pair's id,
paths, metadata, file sizes and modification times; any change builds a new cache (stale ones of the same
dataset/split/crop/size are deleted after the new one is complete). A build writes into a temporary folder
and renames it into place last, so a kill mid-build leaves no half cache (the next run rebuilds).
``open_patch_cache`` returns ``None`` (the caller then streams as before) when the cache would not fit in the
free disk space, or when ``HDRBENCH_PATCH_CACHE=0``. ``HDRBENCH_PATCH_CACHE=<folder>`` puts the caches there.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hdrbench.datasets.patches import PatchDataset
from hdrbench.errors import HDRBenchError
from hdrbench.weights import cache_dir

log = logging.getLogger(__name__)

FORMAT = 1
#: Disk kept free after a build (bytes).
DISK_MARGIN = 2 << 30
_CHUNK = 64 << 20


def source_fingerprint(patches: PatchDataset) -> dict[str, Any]:
    """Everything the cached pixels depend on (JSON-able): dataset class and code, options, files."""
    ds = patches.dataset
    cls = type(ds)
    try:
        code = hashlib.sha256(Path(inspect.getsourcefile(cls) or "").read_bytes()).hexdigest()
    except (OSError, TypeError):
        code = ""
    files = []
    for pair in patches.pairs:
        stats = []
        for path in (pair.ldr, pair.hdr):
            try:
                st = os.stat(path)
                stats.append([st.st_size, st.st_mtime_ns])
            except (OSError, TypeError):
                stats.append(None)
        files.append([pair.id, str(pair.ldr), str(pair.hdr), json.dumps(pair.meta, sort_keys=True, default=str),
                      stats])
    return {"format": FORMAT, "class": f"{cls.__module__}.{cls.__qualname__}", "code": code,
            "options": json.dumps(ds.options, sort_keys=True, default=str), "root": str(ds.root),
            "split": patches.split, "patch_size": patches.patch_size, "crop": patches.mode, "files": files}


def _exact_code(x: np.ndarray, kind: str) -> np.ndarray | None:
    """``x`` (float32) stored as ``kind`` if that gives back exactly the same float32 values, else ``None``."""
    if kind == "float32":
        return np.ascontiguousarray(x, dtype=np.float32)
    if kind == "float16":
        q = x.astype(np.float16)
        return q if np.array_equal(q.astype(np.float32), x) else None
    scale = {"uint8": 255.0, "uint16": 65535.0}[kind]
    if x.min() < 0 or x.max() > 1:
        return None
    q = np.rint(x * np.float32(scale)).astype(kind)
    return q if np.array_equal(decode_table(kind)[q], x) else None


def decode_table(kind: str) -> np.ndarray:
    """Float32 value of every code of an integer storage ``kind``, computed as the image readers do."""
    if kind == "uint8":
        return np.arange(256, dtype=np.uint8).astype(np.float32) / 255.0
    return np.arange(65536, dtype=np.uint16).astype(np.float32) / 65535.0


LDR_KINDS = ("uint8", "uint16", "float32")
HDR_KINDS = ("float16", "uint16", "float32")


@dataclass
class PatchCache:
    """An opened cache: memory-mapped ``ldr``/``hdr`` arrays and what addresses them.

    ``grid``: ``ldr``/``hdr`` are ``(n, P, P, 3)``, row ``j`` = patch ``j`` of the PatchDataset's index.
    ``random``: flat arrays; image ``k`` is ``[offsets[k], offsets[k] + h·w·3)`` reshaped ``(h, w, 3)``.
    """

    path: Path
    manifest: dict[str, Any]
    ldr: np.ndarray
    hdr: np.ndarray

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (e.g. for spawned DataLoader workers) by path: the arrays are mapped again, not copied."""
        return {"path": self.path, "manifest": self.manifest}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path, self.manifest = state["path"], state["manifest"]
        shape = tuple(self.manifest["shape"])
        self.ldr, self.hdr = (np.memmap(self.path / f"{name}.bin", dtype=self.manifest[f"{name}_dtype"], mode="r",
                                        shape=shape) for name in ("ldr", "hdr"))

    @property
    def kinds(self) -> tuple[str, str]:
        return self.manifest["ldr_dtype"], self.manifest["hdr_dtype"]

    def image(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(ldr, hdr)`` of image ``k`` of a ``random`` cache, ``(h, w, 3)`` views in storage dtype."""
        off, (h, w) = self.manifest["offsets"][k], self.manifest["sizes"][k]
        n = h * w * 3
        return self.ldr[off:off + n].reshape(h, w, 3), self.hdr[off:off + n].reshape(h, w, 3)

    def verify(self) -> None:
        """Recompute the checksums (reads every byte); raises HDRBenchError on a mismatch."""
        for name in ("ldr", "hdr"):
            if _checksum(self.path / f"{name}.bin") != self.manifest[f"{name}_blake2b"]:
                raise HDRBenchError(f"patch cache {name}.bin does not match its checksum (corrupt); delete the "
                                    "folder and the next training run rebuilds it", self.path)


def _checksum(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


def _layout(patches: PatchDataset) -> tuple[int, list[int]]:
    """Number of pixel values per array, and the per-image offsets of a random cache."""
    p = patches.patch_size
    if patches.mode == "grid":
        return len(patches.index) * p * p * 3, []
    offsets = np.cumsum([0] + [h * w * 3 for h, w in patches.sizes]).tolist()
    return int(offsets[-1]), [int(o) for o in offsets[:-1]]


def cache_path(patches: PatchDataset, fingerprint: dict[str, Any]) -> Path:
    """The cache folder of ``patches`` with this source ``fingerprint``."""
    key = hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()[:16]
    dataset = patches.dataset.name or type(patches.dataset).__name__
    name = f"{dataset}-{patches.split}-{patches.mode}{patches.patch_size}"
    env = os.environ.get("HDRBENCH_PATCH_CACHE", "").strip()
    root = Path(env) if env not in ("", "1", "0", "true", "false", "no", "yes") else cache_dir() / "patches"
    return root / f"{name}-{key}"


def open_patch_cache(patches: PatchDataset, *, build: bool = True) -> PatchCache | None:
    """The cache of ``patches``' split (built now if missing and ``build``); ``None``: stream instead."""
    if os.environ.get("HDRBENCH_PATCH_CACHE", "1").strip() in ("0", "false", "no"):
        return None
    fp = source_fingerprint(patches)
    path = cache_path(patches, fp)
    cache = _open(path, fp)
    if cache is not None or not build:
        return cache
    values, _ = _layout(patches)
    path.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(path.parent).free
    if values * 3 + DISK_MARGIN > free:  # uint8 LDR + float16 HDR, the usual case
        log.warning("patch cache for %s would need %.1f GB, %.1f GB free: streaming from the source files",
                    path.name, values * 3 / 1e9, free / 1e9)
        return None
    _build(patches, fp, path)
    for stale in path.parent.glob(path.name.rsplit("-", 1)[0] + "-*"):
        if stale != path and not stale.name.startswith(".") and stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
    return _open(path, fp)


def _open(path: Path, fp: dict[str, Any]) -> PatchCache | None:
    try:
        manifest = json.loads((path / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("source") != fp:
        return None
    arrays = []
    for name in ("ldr", "hdr"):
        dtype, shape = np.dtype(manifest[f"{name}_dtype"]), tuple(manifest["shape"])
        file = path / f"{name}.bin"
        if not file.is_file() or file.stat().st_size != dtype.itemsize * int(np.prod(shape)):
            return None
        arrays.append(np.memmap(file, dtype=dtype, mode="r", shape=shape))
    return PatchCache(path, manifest, *arrays)


def _build(patches: PatchDataset, fp: dict[str, Any], path: Path) -> None:
    """Decode every image once into a temporary folder, then rename it to ``path``."""
    ldr_kinds, hdr_kinds = list(LDR_KINDS), list(HDR_KINDS)
    while True:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        try:
            done = _write(patches, fp, tmp, ldr_kinds, hdr_kinds)
            if done:
                if path.exists() and _open(path, fp) is None:  # an invalid (truncated, older) cache in the way
                    shutil.rmtree(path, ignore_errors=True)
                try:
                    os.rename(tmp, path)
                except OSError:  # another process finished the same cache first
                    pass
                return
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)


def _write(patches: PatchDataset, fp: dict[str, Any], tmp: Path, ldr_kinds: list[str], hdr_kinds: list[str]) -> bool:
    """Fill ``tmp``; ``False`` (and the narrowest kind dropped) if a value did not fit the chosen dtype."""
    p = patches.patch_size
    values, offsets = _layout(patches)
    shape = [len(patches.index), p, p, 3] if patches.mode == "grid" else [values]
    out = {"ldr": np.memmap(tmp / "ldr.bin", dtype=ldr_kinds[0], mode="w+", shape=tuple(shape)),
           "hdr": np.memmap(tmp / "hdr.bin", dtype=hdr_kinds[0], mode="w+", shape=tuple(shape))}
    kinds = {"ldr": ldr_kinds, "hdr": hdr_kinds}
    j = 0
    for k, pair in enumerate(patches.pairs):
        ldr, hdr = patches.dataset.load_pair(pair)
        cells = []
        if patches.mode == "grid":  # the index lists each image's grid cells together, in image order
            while j + len(cells) < len(patches.index) and patches.index[j + len(cells)][0] == k:
                cells.append(patches.index[j + len(cells)][1:])
        for name, img in (("ldr", ldr), ("hdr", hdr)):
            block = np.stack([img[y:y + p, x:x + p] for y, x in cells]) if patches.mode == "grid" else img
            code = _exact_code(np.asarray(block, dtype=np.float32), kinds[name][0]) if block.size else block
            if code is None:
                log.info("patch cache: %s of %s is not exact as %s; rebuilding with %s", name, pair.id,
                         kinds[name][0], kinds[name][1])
                kinds[name].pop(0)
                return False
            if patches.mode == "grid":
                out[name][j:j + len(cells)] = code
            else:
                out[name][offsets[k]:offsets[k] + code.size] = code.reshape(-1)
        if patches.mode == "grid":
            j += len(cells)
    for a in out.values():
        a.flush()
    del out
    manifest = {"source": fp, "shape": shape, "ldr_dtype": ldr_kinds[0], "hdr_dtype": hdr_kinds[0],
                "offsets": offsets, "sizes": [list(s) for s in patches.sizes],
                "ldr_blake2b": _checksum(tmp / "ldr.bin"), "hdr_blake2b": _checksum(tmp / "hdr.bin")}
    with open(tmp / "manifest.json", "w") as f:
        json.dump(manifest, f)
        f.flush()
        os.fsync(f.fileno())
    return True
