"""Shared machinery of file-based datasets: listing folders, matching LDR and HDR files, loading a pair.

:class:`FilePairsDataset` is the base of every layout whose pairs are two files on disk: ``load_pair`` reads
the LDR as 8-bit display-referred ``[0, 1]`` and the HDR with :meth:`FilePairsDataset.read_hdr_file`
(linear), and checks both have the same size.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from hdrbench.datasets.base import ROOT_ADVICE, Pair, PairedDataset
from hdrbench.errors import HDRBenchError
from hdrbench.io import read_hdr, read_ldr

_SHOW = 5  # unpaired files named in an error message


def require_dir(path: Path, what: str) -> Path:
    """``path`` if it is an existing folder, else an error naming it and the expected layout."""
    if not path.is_dir():
        raise HDRBenchError(f"folder not found; expected {what}", path)
    return path


def list_files(folder: Path, suffixes: Iterable[str], pattern: str = "*") -> list[Path]:
    """Files under ``folder`` matching ``pattern`` (glob, may contain ``/``) with one of ``suffixes``, sorted."""
    suffixes = tuple(s.lower() for s in suffixes)
    return sorted(p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in suffixes)


def _index(files: Iterable[Path], key: Callable[[Path], str], what: str) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for p in files:
        k = key(p)
        if k in out:
            raise HDRBenchError(f"two {what} files share the id '{k}': {out[k]} and {p}; keep one")
        out[k] = p
    return out


def match_pairs(ldr_files: Iterable[Path], hdr_files: Iterable[Path], *, ldr_key: Callable[[Path], str],
                hdr_key: Callable[[Path], str], skip_unpaired: bool, where: Path | str) -> list[Pair]:
    """Pair files whose keys (the pair id) are equal; unpaired files are an error (or a warning).

    The error lists the first unpaired files and their count; with ``skip_unpaired`` they are dropped
    with one warning that gives the count.
    """
    ldr, hdr = _index(ldr_files, ldr_key, "LDR"), _index(hdr_files, hdr_key, "HDR")
    unpaired = sorted([str(ldr[k]) + " (no HDR)" for k in set(ldr) - set(hdr)]
                      + [str(hdr[k]) + " (no LDR)" for k in set(hdr) - set(ldr)])
    if unpaired:
        if not skip_unpaired:
            more = f" and {len(unpaired) - _SHOW} more" if len(unpaired) > _SHOW else ""
            raise HDRBenchError(f"{len(unpaired)} unpaired file(s) in {where}: {'; '.join(unpaired[:_SHOW])}{more} "
                                f"(add the missing partners, or set the dataset option skip_unpaired = true: "
                                f"'hdrbench data info -o skip_unpaired=true', 'hdrbench data testsets "
                                f"--skip-unpaired', bench.toml [dataset] options)")
        warnings.warn(f"hdrbench: skipped {len(unpaired)} unpaired file(s) in {where}", stacklevel=3)
    pairs = [Pair(key, ldr[key], hdr[key]) for key in sorted(set(ldr) & set(hdr))]
    if not pairs:
        raise HDRBenchError(f"no LDR/HDR pairs found in {where}; check the root folder and the layout")
    return pairs


def check_same_size(ldr: np.ndarray, hdr: np.ndarray, pair: Pair) -> None:
    """An error naming both files when the LDR and HDR of a pair differ in size."""
    if ldr.shape[:2] != hdr.shape[:2]:
        raise HDRBenchError(f"LDR {pair.ldr} is {ldr.shape[1]}x{ldr.shape[0]} but HDR {pair.hdr} is "
                            f"{hdr.shape[1]}x{hdr.shape[0]}; the two members of a pair must have the same size")


class FilePairsDataset(PairedDataset):
    """A dataset whose pairs are an 8-bit LDR file and a linear HDR file (see the module docstring)."""

    default_options = {"skip_unpaired": False}

    def require_root(self) -> Path:
        if self.root is None:
            raise HDRBenchError(f"dataset '{self.name}' needs a root folder ({ROOT_ADVICE})")
        return require_dir(self.root, f"the root folder of a '{self.name}' dataset")

    def read_hdr_file(self, pair: Pair) -> np.ndarray:
        """The pair's HDR as linear float32 ``(H, W, 3)``; 16-bit integer files are divided by 65535."""
        return read_hdr(pair.hdr)

    def load_pair(self, pair: Pair) -> tuple[np.ndarray, np.ndarray]:
        ldr = read_ldr(pair.ldr)
        hdr = self.read_hdr_file(pair)
        check_same_size(ldr, hdr, pair)
        return ldr, hdr
