"""SI-HDR benchmark (Hanji et al., SIGGRAPH 2022): 181 scenes, two simulated exposures, evaluation only.

Layout: ``ROOT/reference/NNN.exr`` (scene-linear, relative) and ``ROOT/input/clip_50/NNN.png``,
``ROOT/input/clip_95/NNN.png`` (8-bit camera images; ``clip_95``: about 5 % of pixels saturated,
``clip_50``: about 50 %). Archives that unpack one level deeper (``reference/sihdr/reference/``) are found.
Test sets: ``clip_95`` and ``clip_50``; there is no training split.
"""

from __future__ import annotations

from pathlib import Path

from hdrbench.datasets.base import Pair
from hdrbench.datasets.pairing import FilePairsDataset, match_pairs, require_dir
from hdrbench.errors import HDRBenchError


def _deep_files(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)


class SIHDR(FilePairsDataset):
    """SI-HDR reference EXRs with their clip_50 / clip_95 inputs (see the module docstring)."""

    summary = "SI-HDR: reference/*.exr with input/clip_95|clip_50/*.png (evaluation only)"
    citation = ("Hanji et al., Comparison of single image HDR reconstruction methods: the caveats of quality "
                "assessment, SIGGRAPH 2022")
    hdr_convention = "OpenEXR scene-linear as stored (relative scale)"
    test_sets = ("clip_95", "clip_50")

    def pairs(self, split: str) -> list[Pair]:
        if split not in self.test_sets:
            raise HDRBenchError(f"SI-HDR has the test sets clip_95 and clip_50 only, not '{split}' (no training split)")
        root = self.require_root()
        ref = require_dir(root / "reference", "SI-HDR's reference/ folder of EXRs")
        inputs = require_dir(root / "input" / split, f"SI-HDR's input/{split}/ folder of PNGs")
        return match_pairs(_deep_files(inputs, (".png", ".jpg")), _deep_files(ref, (".exr",)),
                           ldr_key=lambda p: p.stem, hdr_key=lambda p: p.stem,
                           skip_unpaired=bool(self.options["skip_unpaired"]), where=f"{root} ({split})")
