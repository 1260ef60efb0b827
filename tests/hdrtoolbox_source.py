"""Where the tests find HDR Toolbox (Banterle et al., github.com/banterle/HDR_Toolbox) and GNU Octave.

One place for both Octave-backed comparisons (expansion operators, tone mappers). The toolbox is found at
``$HDR_TOOLBOX`` (the repository root or its ``source_code`` folder), else ``/tmp/hdrtoolbox``; export it with
``mkdir -p /tmp/hdrtoolbox && git -C <clone> archive 5375d05 source_code | tar -x -C /tmp/hdrtoolbox``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

COMMIT = "5375d056fb7eee3beebe5c1fe0b199fbadfcc049"
DEFAULT_DIR = "/tmp/hdrtoolbox"
HOW = f"set HDR_TOOLBOX to an HDR Toolbox checkout at {COMMIT[:7]} (its root or source_code; default {DEFAULT_DIR})"


def toolbox_dir() -> Path | None:
    """The toolbox's ``source_code`` folder, or None where neither ``$HDR_TOOLBOX`` nor the default holds it."""
    for base in (os.environ.get("HDR_TOOLBOX"), DEFAULT_DIR):
        if not base:
            continue
        for folder in (Path(base) / "source_code", Path(base)):
            if (folder / "EO" / "AkyuzEO.m").is_file() and (folder / "Tmo" / "ReinhardTMO.m").is_file():
                return folder
    return None


def octave_binary() -> str | None:
    """``octave-cli`` (or ``octave``) on PATH, else None."""
    return shutil.which("octave-cli") or shutil.which("octave")
