"""Paper-ready LaTeX: every user string escaped, the packages it needs listed, no repeated "Table 1." in the
caption; the table compiles with pdflatex (when installed) in a document that loads exactly those packages."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest
from test_train_fakes import FakeMethod, stamped  # also registers fake-psnr / fake-mae

from hdrbench.checkpoint import save_weights
from hdrbench.config import parse_config
from hdrbench.evaluate import ResultStore, Score
from hdrbench.report.tables import caption_text, latex_escape, write_reports

NASTY = {"a": "LDR^2.2 & 50% #1 {x}", "b": "HDR_CNN ~ $5 \\ μ-law — v2"}


def store_with_nasty_labels(tmp_path):
    save_weights(FakeMethod().build_network(), tmp_path / "x.safetensors", method="fake-net")
    methods = [{"name": "fake-net", "id": m, "label": label, "checkpoint": "x.safetensors"}
               for m, label in NASTY.items()]
    data = {"benchmark": {"name": "tex", "output": str(tmp_path / "out")},
            "dataset": {"name": "fake-data", "options": {"n_test": 5}},
            "methods": methods, "evaluate": {"metrics": ["fake-psnr", "fake-mae"]},
            "report": {"bootstrap": 100, "tables": {"table1": {"title": "Table 1. Results & 100% of {cases}_x",
                                                               "params": True}}}}
    cfg = parse_config(data, tmp_path / "bench.toml")
    rng = np.random.default_rng(0)
    with ResultStore(cfg.runs.results) as store:
        for k, m in enumerate(NASTY):
            store.add(stamped(cfg, [Score(m, "fake-data", ts, f"{ts}_{i:02d}", metric,
                                          float(v + k + rng.normal(0, 0.1)), lower_better=metric == "fake-mae")
                                    for ts in ("set_a", "set_b") for i in range(5)
                                    for metric, v in (("fake-psnr", 30.0), ("fake-mae", 0.1))]))
            store.record_method(m, name="fake-net", label=NASTY[m], params=None if k else 1_000_000, checkpoint="h",
                                source="network", options={}, substitutions=[])
    return cfg


def test_escape_and_caption():
    assert latex_escape("a_b&c%d$e#f{g}h~i^j\\k") == (r"a\_b\&c\%d\$e\#f\{g\}h\textasciitilde{}i"
                                                      r"\textasciicircum{}j\textbackslash{}k")
    assert caption_text("Table 1. Quantitative comparison") == "Quantitative comparison"
    assert caption_text("table 2: Ablation") == "Ablation"
    assert caption_text("Tables of results") == "Tables of results"


def test_table_escapes_user_strings_and_lists_its_packages(tmp_path):
    cfg = store_with_nasty_labels(tmp_path)
    write_reports(cfg)
    tex = (cfg.runs.reports / "table1.tex").read_text()
    assert tex.startswith("% needs \\usepackage{booktabs,xcolor,graphicx}")
    assert r"LDR\textasciicircum{}2.2 \& 50\% \#1 \{x\}" in tex
    assert r"HDR\_CNN \textasciitilde{} \$5 \textbackslash{} $\mu$-law --- v2" in tex
    caption = re.search(r"\\caption\{(.*)\}", tex).group(1)
    assert caption.startswith(r"Results \& 100\% of \{cases\}\_x (") and "Table 1" not in caption


def test_table_compiles_with_pdflatex(tmp_path):
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        pytest.skip("pdflatex is not installed (Debian: apt-get install texlive-latex-base texlive-latex-extra)")
    cfg = store_with_nasty_labels(tmp_path)
    write_reports(cfg)
    tex = (cfg.runs.reports / "table1.tex").read_text()
    packages = re.match(r"% needs \\usepackage\{([^}]*)\}", tex).group(1)
    doc = tmp_path / "doc.tex"
    doc.write_text(f"\\documentclass{{article}}\n\\usepackage[T1]{{fontenc}}\n\\usepackage{{{packages}}}\n"
                   f"\\begin{{document}}\n\\input{{{cfg.runs.reports / 'table1.tex'}}}\n\\end{{document}}\n")
    proc = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", doc.name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 0
    log = (tmp_path / "doc.log").read_text(errors="replace")
    assert "Missing character" not in log and "Undefined control sequence" not in log
