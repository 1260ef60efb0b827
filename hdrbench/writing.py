"""Writing output files safely: whole or not at all, and every failure one line naming the file.

Every file hdrbench writes goes through :func:`atomic_write`: the bytes go to a hidden temporary file in the
target's folder (``.NAME.PID.XXXX.tmp``), which is renamed onto the target (:func:`os.replace`, atomic on
one file system) only once it is complete. A failure (disk full, read-only folder, a file where a folder
should be) removes the temporary file, leaves an existing file at the target as it was, and becomes one
:class:`hdrbench.errors.HDRBenchError` saying why and what to do. :func:`check_output` tells the same
problems before any work, for commands that know their output paths up front (:func:`check_folder` for an
output folder; :func:`make_folder` creates one).

:mod:`hdrbench.io` re-exports these functions; call them from there.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from hdrbench.errors import HDRBenchError

#: A folder with less free space than this cannot take even one file system block: :func:`check_output` fails.
MIN_FREE_BYTES = 4096
#: Suffix of the temporary files :func:`atomic_write` writes (not an image suffix: folder scans skip them).
TMP_SUFFIX = ".tmp"


class _RawFile(io.FileIO):
    """The temporary file of :func:`atomic_write`: every byte written reaches the disk through its ``write``."""


def _file_in_the_way(path: Path) -> Path | None:
    """The nearest existing ancestor of ``path`` when it is a file rather than a folder (else None)."""
    for parent in path.parents:
        if parent.exists() or parent.is_symlink():
            return None if parent.is_dir() else parent
    return None


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def _existing_folder(path: Path) -> Path:
    """The nearest existing ancestor of ``path`` (the folder a write would create folders in)."""
    return next((q for q in path.parents if q.exists()), Path("."))


def write_error(path: str | os.PathLike, exc: OSError) -> HDRBenchError:
    """One line for a failed write of ``path``: why (from ``exc.errno``) and what to do; nothing was written."""
    p = Path(path)
    code = exc.errno
    kept = " (nothing was written; an existing file there is unchanged)"
    blocker = _file_in_the_way(p)
    if blocker is not None or code in (errno.ENOTDIR, errno.EEXIST):
        where = f"'{blocker}'" if blocker is not None else "a part of this path"
        return HDRBenchError(f"cannot write: {where} is a file, not a folder; choose another output path or "
                             f"move that file away{kept}", p)
    if code in (errno.ENOSPC, errno.EDQUOT):
        return HDRBenchError(f"cannot write: no space left on the device (disk full or quota reached); free some "
                             f"space or write to another disk{kept}", p)
    if code == errno.EROFS or (code in (errno.EACCES, errno.EPERM) and _read_only(_existing_folder(p))):
        return HDRBenchError(f"cannot write: the file system is read-only; choose an output path on a writable "
                             f"disk{kept}", p)
    if code in (errno.EACCES, errno.EPERM):
        return HDRBenchError(f"cannot write: permission denied in folder '{_existing_folder(p)}'; choose a folder "
                             f"you can write to, or change its permissions{kept}", p)
    if code == errno.EISDIR or p.is_dir():
        return HDRBenchError("cannot write: this is a folder; give a file name", p)
    if code == errno.EFBIG:
        return HDRBenchError(f"cannot write: the file exceeds the file size limit of this file system or process; "
                             f"write to another disk or raise the limit (ulimit -f){kept}", p)
    if code == errno.ENAMETOOLONG:
        return HDRBenchError(f"cannot write: the file name is too long; choose a shorter one{kept}", p)
    reason = exc.strerror or str(exc)
    return HDRBenchError(f"cannot write ({reason}); check the folder, its permissions and free space{kept}", p)


def database_error(path: str | os.PathLike, exc: Exception) -> HDRBenchError:
    """One line for a failed write to the SQLite file ``path`` (``sqlite3.OperationalError`` carries no errno:
    its message tells disk full and read-only apart), as :func:`write_error` words it; the transaction was rolled
    back, so the file holds what it held before."""
    text = str(exc).lower()
    kept = "this write was rolled back; scores stored before are kept"
    if "readonly" in text or "read-only" in text:
        return HDRBenchError(f"cannot write: the database is read-only (its file, its folder or the file system); "
                             f"make it writable or choose another output folder ({kept})", path)
    code = errno.ENOSPC if "full" in text else errno.EACCES if "unable to open" in text else None
    if code is None:
        return HDRBenchError(f"cannot write the database ({exc}); check the folder, its permissions and free space "
                             "(scores stored before are kept)", path)
    err = write_error(path, OSError(code, os.strerror(code)))
    return HDRBenchError(err.message.replace("nothing was written; an existing file there is unchanged", kept), path)


def check_output(path: str | os.PathLike) -> Path:
    """``path`` as a Path if a file can be written there, else one :class:`HDRBenchError` line; writes nothing.

    For commands to call before their work: the path is not a folder, its nearest existing ancestor is a
    writable folder (not a file, not on a read-only file system) with at least :data:`MIN_FREE_BYTES` free.
    """
    p = Path(path)
    if p.is_dir():
        raise HDRBenchError("is a folder; give a file name", p)
    blocker = _file_in_the_way(p)
    if blocker is not None:
        raise HDRBenchError(f"'{blocker}' is a file, not a folder; choose another output path or move that file "
                            "away", p)
    folder = _existing_folder(p)
    if _read_only(folder):
        raise HDRBenchError(f"folder '{folder}' is on a read-only file system; choose an output path on a "
                            "writable disk", p)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise HDRBenchError(f"folder '{folder}' is not writable; choose a folder you can write to, or change its "
                            "permissions", p)
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        free = MIN_FREE_BYTES
    if free < MIN_FREE_BYTES:
        raise HDRBenchError(f"no space left on the device of folder '{folder}' ({free} bytes free); free some space "
                            "or write to another disk", p)
    return p


def check_folder(path: str | os.PathLike) -> Path:
    """``path`` as a Path if output files can be written into it (a writable folder, or one that can be made),
    else one :class:`HDRBenchError` line naming the folder (:func:`check_output`'s reasons); writes nothing."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise HDRBenchError("is a file, not a folder; choose another output folder or move that file away", p)
    try:
        check_output(p / ".hdrbench-probe")
    except HDRBenchError as exc:
        raise HDRBenchError(exc.message, p) from None
    return p


def make_folder(path: str | os.PathLike) -> Path:
    """Create the output folder ``path`` (and its parents) after :func:`check_folder`; a failure is one line
    (:func:`write_error`), never a traceback."""
    p = check_folder(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(p, exc) from None
    return p


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Open a temporary file beside ``path`` for binary writing; on success it replaces ``path``.

    Missing folders are created. When the body (or closing, or the rename) raises, the temporary file is
    removed and ``path`` keeps its old content (or stays absent); an :class:`OSError` is raised as one
    :class:`HDRBenchError` line (:func:`write_error`), anything else as it is.
    """
    p = Path(path)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.{secrets.token_hex(4)}{TMP_SUFFIX}")
    opened = False
    try:
        if p.is_dir():
            raise IsADirectoryError(errno.EISDIR, "Is a directory", str(p))
        p.parent.mkdir(parents=True, exist_ok=True)
        raw = _RawFile(tmp, "xb")
        opened = True
        with io.BufferedWriter(raw) as f:
            yield f
        os.replace(tmp, p)
    except BaseException as exc:
        if opened:
            _remove(tmp)
        if isinstance(exc, OSError):
            raise write_error(p, exc) from None
        raise


def write_bytes(path: str | os.PathLike, data: bytes | bytearray | memoryview) -> Path:
    """Write ``data`` to ``path`` through :func:`atomic_write`; returns ``path`` as a Path."""
    with atomic_write(path) as f:
        f.write(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` through :func:`atomic_write` (no newline translation); returns the Path."""
    return write_bytes(path, text.encode(encoding))
