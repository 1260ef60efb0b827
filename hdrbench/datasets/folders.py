"""Generic folder layouts: a paired folder (``ldr/`` + ``hdr/``) and a folder of HDR-only images.

``folder`` (registered): ``ROOT/{split}/ldr/*`` and ``ROOT/{split}/hdr/*`` matched by file stem, any supported
formats (LDR 8-bit PNG/JPEG/TIFF/BMP; HDR EXR, Radiance .hdr, PFM, NPY or 16-bit PNG/TIFF, the latter / 65535).
Without split subfolders, ``ROOT/ldr`` and ``ROOT/hdr`` form every split (one set used as told).

``hdr_folder`` (registered): ``ROOT/{split}/*`` (or ``ROOT/*``) HDR images only; the virtual camera
(:mod:`hdrbench.datasets.camera`, options as in :data:`hdrbench.datasets.synth.CAMERA_OPTIONS`) makes the LDRs,
written once to the cache with a manifest of every camera parameter.
"""

from __future__ import annotations

from pathlib import Path

from hdrbench.datasets.base import ROOT_ADVICE, Pair
from hdrbench.datasets.pairing import FilePairsDataset, list_files, match_pairs, require_dir
from hdrbench.datasets.synth import Scene, SynthesizedPairs, file_signature
from hdrbench.errors import HDRBenchError
from hdrbench.io import HDR_SUFFIXES, LDR_SUFFIXES, read_hdr


def split_root(root: Path, split: str, marker: str) -> Path:
    """``root/split`` when it holds ``marker``; else ``root`` itself when it holds ``marker``; else an error."""
    if (root / split / marker).exists():
        return root / split
    if (root / marker).exists():
        return root
    raise HDRBenchError(f"neither {root / split / marker} nor {root / marker} exists; "
                        f"check the root folder ({ROOT_ADVICE}) and the dataset layout (see 'hdrbench data "
                        f"layouts')", root)


class FolderPairs(FilePairsDataset):
    """``ldr/`` and ``hdr/`` folders matched by file stem (see the module docstring)."""

    summary = "generic paired folder: ldr/ and hdr/ matched by stem (optional split subfolders)"
    hdr_convention = "linear as stored (float formats); 16-bit PNG/TIFF / 65535"
    test_sets = ("test",)

    def pairs(self, split: str) -> list[Pair]:
        base = split_root(self.require_root(), split, "ldr")
        ldr_dir, hdr_dir = require_dir(base / "ldr", "an ldr/ folder"), require_dir(base / "hdr", "an hdr/ folder")
        return match_pairs(list_files(ldr_dir, LDR_SUFFIXES), list_files(hdr_dir, HDR_SUFFIXES),
                           ldr_key=lambda p: p.stem, hdr_key=lambda p: p.stem,
                           skip_unpaired=bool(self.options["skip_unpaired"]), where=base)


class HDRFolder(SynthesizedPairs):
    """HDR-only images turned into pairs by the virtual camera (see the module docstring)."""

    summary = "folder of HDR-only images; LDRs made by the virtual camera (seeded, recorded in a manifest)"
    test_sets = ("test",)

    def scenes(self, split: str) -> list[Scene]:
        if self.root is None:
            raise HDRBenchError(f"dataset 'hdr_folder' needs a root folder of HDR images ({ROOT_ADVICE}; "
                                "'hdrbench data synth --hdr-dir')")
        root = require_dir(self.root, "a folder of HDR images")
        base = root / split if (root / split).is_dir() else root
        files = list_files(base, HDR_SUFFIXES)
        if not files:
            raise HDRBenchError(f"no HDR images ({', '.join(HDR_SUFFIXES)}) in this folder", base)
        return [Scene(p.stem, _reader(p), file_signature(p), {"source": str(p)}) for p in files]


def _reader(path: Path):
    return lambda: read_hdr(path)
