"""The console entry's fast exit (``hdrbench.cli.entry``): same output, exit codes and exit handlers as a full
interpreter shutdown, which it skips (about 0.4 s of torch teardown per command)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def run(*argv: str, full: bool = False, code: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "HDRBENCH_FULL_EXIT": "1"} if full else {k: v for k, v in os.environ.items()
                                                                  if k != "HDRBENCH_FULL_EXIT"}
    args = [sys.executable, "-c", code] if code else [sys.executable, "-m", "hdrbench", *argv]
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.parametrize("full", [False, True])
def test_output_and_exit_codes_match_a_full_shutdown(tmp_path, full):
    ok = run("list", "--json", "--kind", "method", full=full)
    assert ok.returncode == 0, ok.stderr
    assert {r["name"] for r in json.loads(ok.stdout)} >= {"dcdr", "hdrunet", "identity"}  # all of it, flushed
    bad = run("score", str(tmp_path / "missing.exr"), str(tmp_path / "gt.exr"), full=full)
    assert bad.returncode == 2 and bad.stderr.strip().startswith("hdrbench: error:") and "missing.exr" in bad.stderr
    usage = run("score", "--no-such-option", full=full)
    assert usage.returncode == 2 and "no-such-option" in usage.stderr


def test_exit_handlers_run_and_string_exits_print(tmp_path):
    marker = tmp_path / "atexit.txt"
    code = ("import atexit, sys\nfrom pathlib import Path\n"
            f"atexit.register(lambda: Path({str(marker)!r}).write_text('ran'))\n"
            "sys.argv = ['hdrbench', '--version']\nfrom hdrbench.cli import entry\nentry()\n")
    proc = run(code=code)
    assert proc.returncode == 0 and "version" in proc.stdout.lower() and marker.read_text() == "ran"
    code = ("import sys\nfrom unittest import mock\nimport hdrbench.cli as c\n"
            "with mock.patch.object(c, 'main', side_effect=SystemExit('stopped: reason')):\n    c.entry()\n")
    proc = run(code=code)
    assert proc.returncode == 1 and proc.stderr.strip() == "stopped: reason"


def test_a_running_worker_thread_gets_the_full_shutdown(tmp_path):
    """A non-daemon thread still running when the command returns is joined, not killed."""
    marker = tmp_path / "thread.txt"
    code = ("import threading, time\nfrom pathlib import Path\nfrom unittest import mock\nimport hdrbench.cli as c\n"
            f"def work():\n    time.sleep(0.5)\n    Path({str(marker)!r}).write_text('done')\n"
            "def main():\n    threading.Thread(target=work).start()\n"
            "with mock.patch.object(c, 'main', main):\n    c.entry()\n")
    proc = run(code=code)
    assert proc.returncode == 0, proc.stderr
    assert marker.read_text() == "done"
