"""Regenerate octave_imresize.npz: GNU Octave's imresize (octave-image, bicubic) of a seeded random image.

Needs octave-cli with the image package (Debian: apt-get install octave octave-image). Run from anywhere:
    python tests/data/hdrvdp2/make_octave_imresize.py
"""

import subprocess
import tempfile
from pathlib import Path

import numpy as np
from scipy.io import loadmat, savemat

SIZES = [(19, 25), (74, 100), (12, 17), (37, 25), (19, 50), (60, 33)]  # halving, doubling, other factors


def main() -> None:
    x = np.random.default_rng(7).random((37, 50))
    out = {"input": x}
    with tempfile.TemporaryDirectory() as tmp:
        savemat(Path(tmp, "in.mat"), {"x": x})
        script = ["pkg load image; load('in.mat');"]
        script += [f"r{i} = imresize(x, [{h} {w}]);" for i, (h, w) in enumerate(SIZES)]
        script += ["save('-v7', 'out.mat', " + ", ".join(f"'r{i}'" for i in range(len(SIZES))) + ");"]
        subprocess.run(["octave-cli", "--quiet", "--eval", " ".join(script)], cwd=tmp, check=False)
        res = loadmat(Path(tmp, "out.mat"))
        version = subprocess.run(["octave-cli", "--quiet", "--eval", "disp(OCTAVE_VERSION); pkg load image; "
                                  "p = pkg('list', 'image'); disp(p{1}.version)"], capture_output=True, text=True)
    for i, (h, w) in enumerate(SIZES):
        out[f"{h}x{w}"] = res[f"r{i}"]
    out["versions"] = np.array(version.stdout.split()[:2])
    np.savez_compressed(Path(__file__).with_name("octave_imresize.npz"), **out)


if __name__ == "__main__":
    main()
