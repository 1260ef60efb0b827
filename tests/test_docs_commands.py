"""The shell blocks of docs/ marked ``<!-- runs on CPU in seconds: tests/test_docs_commands.py -->`` run as written
(``python`` is this interpreter, ``/tmp/`` a temporary folder) and exit 0."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MARK = "<!-- runs on CPU in seconds: tests/test_docs_commands.py -->"


def marked_blocks() -> list[tuple[str, int, str]]:
    """``(file, line, script)`` of every marked block."""
    out = []
    for path in sorted((ROOT / "docs").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(re.escape(MARK) + r"\n```(?:bash|sh)\n(.*?)\n```", text, flags=re.S):
            out.append((path.name, text[: m.start()].count("\n") + 1, m.group(1)))
    return out


def test_the_docs_have_marked_blocks():
    names = {name for name, _, _ in marked_blocks()}
    assert {"trust.md", "benchmarks.md"} <= names


@pytest.mark.parametrize("name,line,script", marked_blocks(), ids=lambda v: str(v) if isinstance(v, (str, int))
                         and not str(v).count("\n") else None)
def test_marked_doc_block_runs(tmp_path, name, line, script):
    script = script.replace("/tmp/", f"{tmp_path}/")
    script = re.sub(r"(^|&& |\| |; )python ", lambda m: f"{m.group(1)}{sys.executable} ", script, flags=re.M)
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, f"docs/{name}:{line}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
