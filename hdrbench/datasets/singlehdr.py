"""The SingleHDR training data (Liu et al., CVPR 2020): HDR-Real and HDR-Synth.

``hdr_real``: ``ROOT/{split}/LDR_in/*.jpg`` (8-bit camera JPEGs) with ``ROOT/{split}/HDR_gt/*.hdr`` (Radiance,
linear, relative), matched by file stem (SingleHDR's own script pairs the two sorted lists, which is the
same when the names match); without split subfolders ``ROOT/LDR_in`` + ``ROOT/HDR_gt`` serve every split.
A ``HDR-Real/`` level (as in the unpacked zip) is looked through.

``hdr_synth``: HDR-only ``.exr``/``.hdr`` files in ``ROOT/{split}/`` (or listed one name per line in
``ROOT/{split}.txt``; SingleHDR's ``i_dataset_*.pkl`` lists are pickles, which hdrbench does not unpickle).
LDRs follow SingleHDR's test recipe with the virtual camera: every HDR normalised to mean 0.5, exposures
``2**ev`` for ``ev`` in ``evs`` (default -3..3, 7 pairs per HDR, ids ``{stem}_ev{+k}``), a camera response
(default gamma 2.2; SingleHDR samples DoRF curves, not shipped: give any curve CSV as ``response``),
8-bit quantisation. Ground truth: the exposed linear image (float EXR, 1.0 = LDR saturation).
"""

from __future__ import annotations

from pathlib import Path

from hdrbench.datasets.base import ROOT_ADVICE, Pair
from hdrbench.datasets.folders import split_root
from hdrbench.datasets.pairing import FilePairsDataset, list_files, match_pairs, require_dir
from hdrbench.datasets.synth import CAMERA_OPTIONS, Scene, SynthesizedPairs, file_signature
from hdrbench.errors import HDRBenchError
from hdrbench.io import read_hdr

SINGLEHDR_CITATION = "Liu et al., Single-Image HDR Reconstruction by Learning to Reverse the Camera Pipeline, CVPR 2020"


class HDRReal(FilePairsDataset):
    """HDR-Real: camera JPEGs and their merged HDRs (see the module docstring)."""

    summary = "SingleHDR HDR-Real: LDR_in/*.jpg with HDR_gt/*.hdr, matched by stem"
    citation = SINGLEHDR_CITATION
    hdr_convention = "Radiance .hdr linear as stored (relative scale)"
    test_sets = ("test",)

    def pairs(self, split: str) -> list[Pair]:
        root = self.require_root()
        if (root / "HDR-Real").is_dir():
            root = root / "HDR-Real"
        base = split_root(root, split, "LDR_in")
        ldr_dir = require_dir(base / "LDR_in", "HDR-Real's LDR_in/ folder")
        hdr_dir = require_dir(base / "HDR_gt", "HDR-Real's HDR_gt/ folder")
        return match_pairs(list_files(ldr_dir, [".jpg", ".jpeg", ".png"]), list_files(hdr_dir, [".hdr", ".exr"]),
                           ldr_key=lambda p: p.stem, hdr_key=lambda p: p.stem,
                           skip_unpaired=bool(self.options["skip_unpaired"]), where=base)


class HDRSynth(SynthesizedPairs):
    """HDR-Synth: HDR-only images photographed at several exposures (see the module docstring)."""

    summary = "SingleHDR HDR-Synth: HDR-only files, LDRs by the virtual camera at EV -3..3 (mean 0.5)"
    citation = SINGLEHDR_CITATION
    default_options = {**CAMERA_OPTIONS, "exposure": "ev", "ev_anchor": "mean", "evs": (-3, -2, -1, 0, 1, 2, 3)}
    option_types = {**SynthesizedPairs.option_types, "evs": tuple[float, ...]}
    test_sets = ("test",)

    def hdr_files(self, split: str) -> list[Path]:
        if self.root is None:
            raise HDRBenchError(f"dataset 'hdr_synth' needs a root folder ({ROOT_ADVICE})")
        root = require_dir(self.root, "the HDR-Synth folder")
        if (root / "HDR-Synth").is_dir():
            root = root / "HDR-Synth"
        listing = root / f"{split}.txt"
        if listing.is_file():
            names = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
            files = [root / n for n in names]
            missing = [str(f) for f in files if not f.is_file()]
            if missing:
                raise HDRBenchError(f"{len(missing)} file(s) listed but missing, e.g. {missing[0]}", listing)
        else:
            base = root / split if (root / split).is_dir() else root
            files = list_files(base, [".exr", ".hdr"])
        if not files:
            raise HDRBenchError(f"no .exr/.hdr files for split '{split}' (expected {root}/{split}/ or {listing.name})",
                                root)
        return files

    def scenes(self, split: str) -> list[Scene]:
        out = []
        for path in self.hdr_files(split):
            for ev in self.options["evs"]:
                out.append(Scene(f"{path.stem}_ev{int(ev):+d}" if float(ev).is_integer() else f"{path.stem}_ev{ev:+g}",
                                 _reader(path), file_signature(path), {"source": str(path)},
                                 camera={"exposure": "ev", "ev": float(ev)}))
        return out


def _reader(path: Path):
    return lambda: read_hdr(path)
