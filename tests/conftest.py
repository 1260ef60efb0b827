"""Shared fixtures: a temporary folder with small images, and a CLI runner that goes through main()."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest


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
