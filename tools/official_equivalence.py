"""Worst relative error of each official reference case, loaded the way ``--checkpoint`` loads it.

Usage (from the repository root; ``shared/`` next to it, or ``--root`` pointing at ``reference/official``)::

    OMP_NUM_THREADS=1 .venv/bin/python tools/official_equivalence.py [--root ../shared/reference/official]

Prints one row per case: ``max |ours − official| / max |official|`` (the README of the reference set defines
``output.npy``: the official network's raw output for ``input.npy``).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import torch

import hdrbench


def rel(ours: torch.Tensor, ref: np.ndarray) -> float:
    return float(np.abs(ours.detach().numpy() - ref).max() / np.abs(ref).max())


def main() -> None:
    default = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "official"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=default)
    root = parser.parse_args().root
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", UserWarning)
    arr = {}

    def a(path: str) -> np.ndarray:
        return arr.setdefault(path, np.load(root / path))

    def t(path: str) -> torch.Tensor:
        return torch.from_numpy(a(path))

    rows: list[tuple[str, float]] = []
    with torch.no_grad():
        for name, file in (("hdrunet", "pretrained_model.pth"), ("kunet", "latest_G.pth")):
            method, net = hdrbench.load_model(name, root / name / file)
            rows.append((name, rel(method.forward(net, t(f"{name}/input.npy")), a(f"{name}/output.npy"))))
        for it, ref in ((1, "output.npy"), (4, "output_iter4.npy")):
            _, net = hdrbench.load_model("fhdr", root / "fhdr/latest.ckpt", iterations=it)
            rows.append((f"fhdr (iterations={it})", rel(net((t("fhdr/input.npy") + 1) / 2) * 2 - 1, a(f"fhdr/{ref}"))))
        from baselines.hdrtv import official_cascade

        files = [root / "hdrtv/agcm/AGCM_G.pth", root / "hdrtv/le/LE_weights.pth",
                 root / "hdrtv/hg_nf16/HG_nf16_weights.pth"]
        _, net = hdrbench.load_model("hdrtv", files)
        rows.append(("hdrtv AGCM (stage input)", rel(net.agcm(t("hdrtv/agcm/input.npy"), t("hdrtv/agcm/cond.npy")),
                                                    a("hdrtv/agcm/output.npy"))))
        rows.append(("hdrtv LE (stage input)", rel(net.le(t("hdrtv/le/input.npy")), a("hdrtv/le/output.npy"))))
        rows.append(("hdrtv HG nf16 (stage input)", rel(net.hg(t("hdrtv/hg_nf16/input.npy"),
                                                               t("hdrtv/hg_nf16/mask.npy")),
                                                        a("hdrtv/hg_nf16/output.npy"))))
        ldr = torch.from_numpy(a("hdrtv/agcm/ldr_u8.npy")).permute(2, 0, 1)[None].float() / 255.0
        outs = official_cascade(net, ldr)
        for stage, folder in (("agcm", "agcm"), ("le", "le"), ("hg", "hg_nf16")):
            rows.append((f"hdrtv official cascade from the 8-bit SDR: {stage}",
                         rel(outs[stage], a(f"hdrtv/{folder}/output.npy"))))
    for name, err in rows:
        print(f"{name:50s} {err:.2e}")


if __name__ == "__main__":
    main()
