"""Build (once, cached) and load the C++/OpenMP kernels of ``deform_conv_cpu.cpp`` through ctypes.

The kernels are plain C++ with a C ABI (no torch headers, so the build takes seconds): ``g++ -O3
-march=native -fopenmp``. They share torch's OpenMP runtime and call torch's own BLAS (``sgemm_`` /
``dgemm_`` exported by ``libtorch_cpu.so``, i.e. MKL on x86-64 wheels), whose address is handed over at
load time. The shared library is cached in ``$HDRBENCH_CACHE/ops`` (default
``~/.cache/hdrbench/ops``) under a name keyed by the source, the compiler, its flags and the CPU's
instruction-set flags, so an edit, another compiler or another CPU builds afresh. The build writes a
temporary file and renames it, so concurrent processes (``pytest -n``) do not see half a library.

``load()`` returns ``None`` (after one logged warning) when no compiler is found or the build fails;
:mod:`dcdr.ops` then falls back to torchvision's kernel. ``$CXX`` names the compiler (default ``g++``).
``python -m dcdr.ops`` (``make ops``) builds it ahead of first use.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

import torch  # noqa: F401  (loads torch's OpenMP runtime first, so the kernels share its thread pool)

from hdrbench.weights import cache_dir

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("deform_conv_cpu.cpp")
BASE_FLAGS = ("-O3", "-fopenmp", "-shared", "-fPIC", "-std=c++17")
ARCH_FLAGS = ("-march=native",)


def _cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line
    except OSError:
        pass
    return platform.processor()


def _compiler_version(cxx: str) -> str:
    try:
        return subprocess.run([cxx, "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def library_path(cxx: str, flags: tuple[str, ...]) -> Path:
    """Cache path of the library built from the current source with ``cxx`` and ``flags``."""
    key = hashlib.sha256()
    for part in (SOURCE.read_bytes(), " ".join(flags).encode(), _compiler_version(cxx).encode(),
                 _cpu_flags().encode(), platform.machine().encode()):
        key.update(part)
        key.update(b"\0")
    return cache_dir() / "ops" / f"deform_conv_cpu-{key.hexdigest()[:16]}.so"


def _compile(cxx: str, flags: tuple[str, ...], target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        proc = subprocess.run([cxx, *flags, str(SOURCE), "-o", tmp], capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "compiler failed")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def build() -> Path:
    """Build the library if its cache entry is missing and return its path; raises on failure."""
    cxx = os.environ.get("CXX", "g++")
    if shutil.which(cxx) is None:
        raise RuntimeError(f"no C++ compiler '{cxx}' on PATH (install g++ or set CXX)")
    errors = []
    for flags in (BASE_FLAGS + ARCH_FLAGS, BASE_FLAGS):  # retry without -march=native if the compiler refuses it
        target = library_path(cxx, flags)
        if target.exists():
            return target
        try:
            _compile(cxx, flags, target)
            return target
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            errors.append(str(exc))
    raise RuntimeError("; ".join(errors))


def _blas_symbols() -> tuple[int, int, int | None]:
    """Addresses of ``sgemm_``, ``dgemm_`` and (MKL only) ``MKL_Set_Num_Threads_Local`` in torch's BLAS."""
    lib_dir = Path(torch.__file__).parent / "lib"
    candidates = [lib_dir / "libtorch_cpu.so", *sorted(lib_dir.glob("*blas*")),
                  *sorted((lib_dir.parent.parent / "torch.libs").glob("*blas*"))]
    for path in candidates:
        try:
            lib = ctypes.CDLL(str(path))
            sgemm, dgemm = lib.sgemm_, lib.dgemm_
        except (OSError, AttributeError):
            continue
        local = getattr(lib, "MKL_Set_Num_Threads_Local", None)  # the C API (by value)
        address = ctypes.cast
        return (address(sgemm, ctypes.c_void_p).value, address(dgemm, ctypes.c_void_p).value,
                None if local is None else address(local, ctypes.c_void_p).value)
    raise RuntimeError("no BLAS sgemm_/dgemm_ found in torch's libraries")


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    ptr, i32 = ctypes.c_void_p, ctypes.c_int
    lib.dcn_set_blas.argtypes = [ptr, ptr, ptr]
    lib.dcn_set_blas.restype = None
    lib.dcn_set_blas(*_blas_symbols())
    for suffix in ("f32", "f64"):
        fn = getattr(lib, f"dcn_forward_{suffix}")
        fn.argtypes = [ptr, ptr, ptr, ptr, ptr, ptr, ptr, i32]
        fn.restype = None
        fn = getattr(lib, f"dcn_backward_{suffix}")
        fn.argtypes = [ptr, ptr, ptr, ptr, ptr, ptr, ptr, ptr, i32]
        fn.restype = i32  # 1: a per-thread gradient image could not be allocated
    return lib


@functools.cache
def load() -> ctypes.CDLL | None:
    """The loaded kernel library, building it on first use; ``None`` when it cannot be built."""
    try:
        return _declare(ctypes.CDLL(str(build())))
    except (OSError, RuntimeError, AttributeError) as exc:
        log.warning("dcdr.ops: the fast CPU deformable convolution could not be built (%s); "
                    "using torchvision's kernel instead", exc)
        return None

