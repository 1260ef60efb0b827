"""The CLI process's malloc settings (``hdrbench.cli.allocator``): freed large blocks are reused, so a loop that
allocates, touches and frees the same 64 MB faults its pages in once instead of on every pass."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or not os.confstr("CS_GNU_LIBC_VERSION"),
                                reason="glibc's mallopt is Linux/glibc only")

# Page faults taken by 6 passes of: allocate 64 MB, write every page, free (16,384 pages of 4 KiB per pass).
# (malloc/memset/free through ctypes: numpy would ask for huge pages, which hides the faults.)
LOOP = ("import ctypes, resource\n"
        "libc = ctypes.CDLL('libc.so.6')\n"
        "libc.malloc.restype = ctypes.c_void_p\n"
        "libc.free.argtypes = [ctypes.c_void_p]\n"
        "def faults():\n"
        "    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "    for _ in range(6):\n"
        "        p = libc.malloc(64 << 20)\n"
        "        ctypes.memset(p, 1, 64 << 20)\n"
        "        libc.free(p)\n"
        "    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before\n")


def run(code: str, **env: str) -> str:
    full = {k: v for k, v in os.environ.items() if k != "HDRBENCH_MALLOC"} | env
    proc = subprocess.run([sys.executable, "-c", LOOP + code], capture_output=True, text=True, env=full, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.fixture(scope="module")
def plain_faults() -> int:
    """The loop's faults under glibc's defaults: every pass maps fresh pages (the premise of the setting)."""
    n = int(run("print(faults())"))
    if n < 6 * 15_000:  # e.g. transparent huge pages set to "always": few faults either way
        pytest.skip(f"fresh mappings take few page faults on this kernel ({n} for 6 x 64 MB)")
    return n


def test_retained_memory_is_faulted_in_once(plain_faults):
    retained = run("from hdrbench.cli.allocator import retain_freed_memory\n"
                   "print(retain_freed_memory(), faults())").split()
    assert retained[0] == "True" and int(retained[1]) < 2 * 16_384  # the first pass only


def test_the_console_entry_sets_it_and_the_variable_opts_out(plain_faults):
    code = ("from unittest import mock\nimport hdrbench.cli as c\n"
            "with mock.patch.object(c, 'main', lambda: print(faults())):\n    c.entry()\n")
    assert int(run(code)) < 2 * 16_384
    assert int(run(code, HDRBENCH_MALLOC="default")) > 6 * 15_000
    assert run("from hdrbench.cli.allocator import retain_freed_memory\nprint(retain_freed_memory())",
               HDRBENCH_MALLOC="default") == "False"
