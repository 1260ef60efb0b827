"""Shared fixtures: a temporary folder with small images, and a CLI runner that goes through main()."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

if not any(Path("/dev").glob("nvidia[0-9]*")):
    # Triton kernels (dcdr.ops.triton_dcn) run in Triton's interpreter where no GPU exists. The variable must be
    # set before anything imports triton (torchvision may): triton.language's own @jit helpers are built then.
    os.environ.setdefault("TRITON_INTERPRET", "1")


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """One intra-op thread per test process: `make test` runs 2 xdist workers on 2 cores, and two spinning
    OpenMP threads per process made small-tensor tests 10-20x slower on a loaded machine. CLI subprocesses
    inherit OMP_NUM_THREADS=1, so in-process and subprocess results are computed alike."""
    import os

    import torch

    before, env = torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")
    torch.set_num_threads(1)
    os.environ["OMP_NUM_THREADS"] = "1"
    yield
    torch.set_num_threads(before)
    if env is None:
        os.environ.pop("OMP_NUM_THREADS", None)
    else:
        os.environ["OMP_NUM_THREADS"] = env


@pytest.fixture(autouse=True, scope="session")
def _patch_cache_in_tmp(tmp_path_factory):
    """Training patch caches of the tests go to a temporary folder, not the user's cache."""
    import os

    before = os.environ.get("HDRBENCH_PATCH_CACHE")
    os.environ["HDRBENCH_PATCH_CACHE"] = str(tmp_path_factory.mktemp("patch_cache"))
    yield
    if before is None:
        os.environ.pop("HDRBENCH_PATCH_CACHE", None)
    else:
        os.environ["HDRBENCH_PATCH_CACHE"] = before


@pytest.fixture(scope="session")
def hdrvdp2_reference_inputs(tmp_path_factory) -> dict[str, np.ndarray]:
    """The four 256x256x3 inputs of tests/data/hdrvdp2/expected.json (ref, test_noise, test_blur, test_clip),
    regenerated with the reference's own make_inputs.py and checked by sha256."""
    import hashlib
    import json

    data = Path(__file__).parent / "data" / "hdrvdp2"
    sha = json.loads((data / "expected.json").read_text())["sha256"]
    out = tmp_path_factory.mktemp("hdrvdp2_inputs")
    subprocess.run([sys.executable, str(data / "make_inputs.py"), str(out)], check=True, capture_output=True)
    imgs = {}
    for name, digest in sha.items():
        path = out / f"{name}.npy"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, name
        imgs[name] = np.load(path)
    return imgs


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m hdrbench ARGS`` in a subprocess (real exit code, real stderr)."""
    return subprocess.run([sys.executable, "-m", "hdrbench", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


@pytest.fixture
def cli():
    return run_cli
