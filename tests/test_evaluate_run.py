"""``hdrbench run``: killed (SIGKILL) mid-way and started again, it ends with an uninterrupted run's rows."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

TESTS = Path(__file__).parent
BENCH = """
[benchmark]
name = "k"
output = "{out}"
device = "cpu"
[dataset]
name = "fake-data"
[train]
recipe = {{ iterations = 60 }}
checkpoint_every = 4
tensorboard = false
[evaluate]
protocol = "ntire2021"
metrics = ["fake-mae", "fake-psnr"]
[plot]
images = 1
[[methods]]
name = "fake-net"
id = "a"
train = true
[[methods]]
name = "fake-net"
id = "b"
train = true
options = {{ width = 4 }}
"""


def start(bench: Path) -> subprocess.Popen:
    code = (f"import sys; sys.path.insert(0, {str(TESTS)!r}); import test_train_fakes; "
            f"from hdrbench.cli import main; main(['run', {str(bench)!r}])")
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def rows(out: Path) -> list[tuple]:
    with sqlite3.connect(out / "results.sqlite") as db:
        return sorted(db.execute("SELECT method, dataset, test_set, image, metric, value FROM scores").fetchall())


def test_run_killed_midway_resumes_to_the_same_rows(tmp_path):
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    for d in (killed, clean):
        d.mkdir()
        (d / "bench.toml").write_text(BENCH.format(out=d / "out"))
    proc = start(killed / "bench.toml")
    deadline = time.time() + 120
    while time.time() < deadline and not (killed / "out" / "checkpoints" / "a" / "latest.json").exists():
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)  # mid-way through training method "a"
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (killed / "out" / "checkpoints" / "a" / "final.safetensors").exists()  # it really stopped early
    again = start(killed / "bench.toml")
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    import test_train_fakes  # noqa: F401  (the reference run happens in this process)

    from hdrbench.cli import main

    main(["run", str(clean / "bench.toml")])
    got, want = rows(killed / "out"), rows(clean / "out")
    assert len(want) == 2 * 2 * 3 * 2 and len({r[:5] for r in got}) == len(got)
    assert got == want  # same rows and values: training resumed exactly, nothing lost or repeated
    for name in ("table1.csv", "table1.md", "table1.tex", "figure5.png", "timings.json"):
        assert (killed / "out" / name).is_file()
