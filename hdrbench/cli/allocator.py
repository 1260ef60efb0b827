"""The command line's memory allocator settings: keep freed memory for reuse instead of handing it back.

glibc's malloc serves every block above its mmap threshold (128 KiB, rising to at most 32 MiB) with a fresh
``mmap`` and unmaps it on ``free``. A 2048×1024 image's tensors are 8–200 MB, so each metric's every temporary is
new memory that the kernel must fault in and zero page by page: scoring one pair with the five paper metrics
took ≈ 1.1 million page faults and ≈ 2.3 s of system time on 2 cores. With the threshold and the heap's trim
threshold raised to their maximum, large blocks come from the heap and freed ones are reused (≈ 0.4 million
faults, ≈ 1 s of system time; ``benchmarks/cli_startup.py`` measures the command). Peak memory rises, as blocks
of different sizes fragment the heap: 5 % for that ``score``, 14 % for the demo's ``run`` (docs/scoring.md).
This is what PyTorch's CPU performance guide gets from jemalloc or tcmalloc, without a preloaded library.

Only the ``hdrbench`` process sets it (:func:`hdrbench.cli.entry`), never a program that imports hdrbench;
``HDRBENCH_MALLOC=default`` leaves the allocator as it is.
"""

from __future__ import annotations

import os
import sys

_M_TRIM_THRESHOLD = -1  # mallopt parameter numbers, <malloc.h>
_M_MMAP_THRESHOLD = -3
_LARGEST = 2**31 - 1  # mallopt takes an int


def retain_freed_memory() -> bool:
    """Raise glibc malloc's mmap and trim thresholds so freed blocks are reused; ``True`` when both were set.

    Does nothing (``False``) off glibc, or with ``HDRBENCH_MALLOC=default``.
    """
    if os.environ.get("HDRBENCH_MALLOC", "").lower() == "default" or not sys.platform.startswith("linux"):
        return False
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return False
    except (ValueError, OSError):  # not glibc (musl has no such name)
        return False
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, _LARGEST)) & bool(libc.mallopt(_M_TRIM_THRESHOLD, _LARGEST))
