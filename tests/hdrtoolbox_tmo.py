"""HDR Toolbox's tone-mapping operators run under GNU Octave: the inputs, the run, and the stored references.

``python tests/hdrtoolbox_tmo.py`` regenerates ``tests/data/hdrtoolbox_tmo/reference.npz`` (needs ``octave-cli`` and
HDR Toolbox: see :mod:`hdrtoolbox_source`). The inputs are 64x64
crops of three demo test panoramas (hdrbench/datasets/demo_data, CC0), centred on their brightest pixel, and a
second image per crop (``crop ** 0.9 * 0.5``) mapped with the crop's statistics.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from hdrtoolbox_source import COMMIT, HOW, octave_binary, toolbox_dir

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "hdrtoolbox_tmo"
REFERENCE = DATA / "reference.npz"
SCRIPT = DATA / "tmo_reference.m"
CROPS = (("blender", "city"), ("blender", "interior"), ("polyhaven", "lobby"))  # demo test scenes
SIZE = 64


def make_inputs() -> dict[str, np.ndarray]:
    """``imgs`` (3, 64, 64, 3) float32 crops, ``preds`` the second images, ``p99`` per crop (numpy's percentile)."""
    import OpenEXR

    imgs = []
    for source, name in CROPS:
        path = ROOT / "hdrbench" / "datasets" / "demo_data" / source / f"{name}.exr"
        with OpenEXR.File(str(path)) as f:
            ch = f.channels()
            pano = np.asarray(ch["RGB"].pixels if "RGB" in ch else ch["RGBA"].pixels[..., :3], np.float32)
        pano = np.maximum(np.nan_to_num(pano, nan=0.0, posinf=0.0, neginf=0.0), 0.0)
        lum = pano @ np.float32([0.2126, 0.7152, 0.0722])
        y, x = np.unravel_index(int(np.argmax(lum)), lum.shape)
        y0 = min(max(y - SIZE // 2, 0), pano.shape[0] - SIZE)
        x0 = min(max(x - SIZE // 2, 0), pano.shape[1] - SIZE)
        imgs.append(pano[y0:y0 + SIZE, x0:x0 + SIZE])
    imgs = np.stack(imgs)
    preds = (imgs.astype(np.float64) ** 0.9 * 0.5).astype(np.float32)
    p99 = np.array([np.percentile(i.astype(np.float64), 99) for i in imgs])
    return {"imgs": imgs, "preds": preds, "p99": p99}


def run_octave(inputs: dict[str, np.ndarray], toolbox: Path) -> dict[str, np.ndarray]:
    """The outputs of ``tmo_reference.m`` on ``inputs`` (float64 arrays, keys as the script names them)."""
    from scipy.io import loadmat, savemat

    with tempfile.TemporaryDirectory() as tmp:
        savemat(Path(tmp, "in.mat"), {k: np.asarray(v, np.float64) for k, v in inputs.items()})
        shutil.copy(SCRIPT, tmp)
        cmd = f"addpath(genpath('{toolbox}')); tmo_reference"
        res = subprocess.run([octave_binary() or "octave-cli", "--no-gui", "--quiet", "--eval", cmd], cwd=tmp,
                             capture_output=True, text=True, timeout=600)
        if not Path(tmp, "out.mat").is_file():
            raise RuntimeError(f"octave failed: {res.stderr.strip()[-2000:]}")
        out = loadmat(Path(tmp, "out.mat"))
    return {k: (v if v.dtype.kind in "US" else np.asarray(v, np.float64).squeeze()) for k, v in out.items()
            if not k.startswith("__")}


def main() -> None:
    toolbox = toolbox_dir()
    if toolbox is None or octave_binary() is None:
        raise SystemExit(f"needs octave-cli and HDR Toolbox: {HOW}")
    inputs = make_inputs()
    out = run_octave(inputs, toolbox)
    stored = {k: v.astype(np.float32) if k != "p99" else v for k, v in inputs.items()}
    for k, v in out.items():
        stored[k] = np.asarray(v).astype(np.float32) if v.dtype.kind == "f" and v.ndim == 3 else np.asarray(v)
    stored["hdrtoolbox_commit"] = np.array(COMMIT)
    np.savez_compressed(REFERENCE, **stored)
    print(f"wrote {REFERENCE} ({REFERENCE.stat().st_size} bytes), Octave {out['octave_version']}")


if __name__ == "__main__":
    main()
