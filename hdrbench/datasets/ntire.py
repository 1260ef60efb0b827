"""NTIRE 2021 HDR challenge, single-frame track.

Layout (``ROOT/{split}/`` or ``ROOT`` itself): per id ``NNNN``: ``NNNN_medium.png`` (8-bit LDR input),
``NNNN_gt.png`` (16-bit, **gamma-encoded** HDR) and ``NNNN_alignratio.npy`` (a scalar). The challenge
scripts decode ``gt_uint16 / alignratio`` and linearise with ``** 2.24``; this reader does the same, so the
HDR it returns is linear: ``(png16 / alignratio) ** 2.24`` (relative scale, peak about 1).
Short/long exposures (``_short``/``_long``) and ``_exposures.npy`` are ignored (multi-frame track).
"""

from __future__ import annotations

import numpy as np

from hdrbench.datasets.base import Pair
from hdrbench.datasets.pairing import FilePairsDataset, list_files, match_pairs
from hdrbench.errors import HDRBenchError
from hdrbench.io import read_image

NTIRE_GAMMA = 2.24


def _load_alignratio(path) -> float:
    try:
        value = np.load(path, allow_pickle=False)
        ratio = float(np.asarray(value, dtype=np.float64).reshape(-1)[0])
    except Exception as exc:
        raise HDRBenchError(f"cannot read the align ratio ({exc}); expected a scalar .npy", path) from None
    if not np.isfinite(ratio) or ratio <= 0:
        raise HDRBenchError(f"align ratio {ratio} is not a positive number", path)
    return ratio


class NTIRE2021(FilePairsDataset):
    """NTIRE 2021 single-frame pairs (see the module docstring)."""

    summary = "NTIRE 2021 single-frame: NNNN_medium.png -> NNNN_gt.png / alignratio, linearised with ** 2.24"
    citation = "Pérez-Pellitero et al., NTIRE 2021 Challenge on High Dynamic Range Imaging, CVPRW 2021"
    hdr_convention = "(16-bit gt / alignratio) ** 2.24, linear, relative"
    default_options = {"skip_unpaired": False, "gamma": NTIRE_GAMMA}
    test_sets = ("test",)

    def pairs(self, split: str) -> list[Pair]:
        root = self.require_root()
        base = root / split if (root / split).is_dir() else root
        files = list_files(base, [".png"], "*_medium.png")
        pairs = match_pairs(files, list_files(base, [".png"], "*_gt.png"),
                            ldr_key=lambda p: p.name[: -len("_medium.png")],
                            hdr_key=lambda p: p.name[: -len("_gt.png")],
                            skip_unpaired=bool(self.options["skip_unpaired"]), where=base)
        out = []
        for p in pairs:
            ratio = p.hdr.with_name(f"{p.id}_alignratio.npy")
            if not ratio.is_file():
                raise HDRBenchError(f"missing {ratio.name} next to {p.hdr.name}; NTIRE ground truth needs it", ratio)
            out.append(Pair(p.id, p.ldr, p.hdr, {"alignratio_file": str(ratio)}))
        return out

    def read_hdr_file(self, pair: Pair) -> np.ndarray:
        gt = read_image(pair.hdr)
        if gt.dtype != np.uint16:
            raise HDRBenchError("is not a 16-bit PNG; NTIRE ground truth is uint16", pair.hdr)
        ratio = _load_alignratio(pair.meta.get("alignratio_file") or pair.hdr.with_name(f"{pair.id}_alignratio.npy"))
        return ((gt.astype(np.float32) / np.float32(ratio)) ** np.float32(self.options["gamma"])).astype(np.float32)
