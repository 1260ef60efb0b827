"""What each command imports (the start-up time a user waits for; timed by benchmarks/cli_startup.py):
``--help`` no torch, ``score`` of EXR files no torchvision, cvvdp or OpenCV, ``list`` counts parameters
without CPU weights."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from hdrbench import io


def modules_after(*argv: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``hdrbench ARGV`` in-process."""
    code = ("import sys, json\nfrom hdrbench.cli import main\ntry:\n    main(" + repr(list(argv)) + ")\n"
            "except SystemExit:\n    pass\nprint('MODULES=' + json.dumps(sorted(sys.modules)))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("MODULES="))
    return set(json.loads(line.removeprefix("MODULES=")))


def test_help_imports_no_torch_and_no_command():
    mods = modules_after("--help")
    assert "torch" not in mods and "numpy" not in mods
    assert not [m for m in mods if m.startswith("hdrbench.cli.") and m != "hdrbench.cli.options"]


def test_score_imports_neither_torchvision_nor_cvvdp(tmp_path):
    gt = np.random.default_rng(0).random((40, 48, 3)).astype(np.float32)
    io.write_exr(tmp_path / "gt.exr", gt)
    io.write_exr(tmp_path / "p.exr", gt * 0.9)
    mods = modules_after("score", str(tmp_path / "p.exr"), str(tmp_path / "gt.exr"), "--device", "cpu",
                         "--metric", "psnr-l", "--metric", "lpips")
    assert "torch" in mods and "hdrbench.metrics.lpips" in mods
    assert "torchvision" not in mods and "pycvvdp" not in mods and "torch._dynamo" not in mods
    assert "cv2" not in mods  # EXR goes through OpenEXR; OpenCV is imported for PNG/TIFF/HDR files only


def test_list_parameter_counts_equal_the_cpu_networks(cli):
    from hdrbench.method import count_parameters, create_method

    proc = cli("list", "--json", "--kind", "method")
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert {"identity", "hdrcnn", "singlehdr", "fhdr", "hdrtv", "kunet", "hdrunet", "dcdr", "dcdr-no-dcrb"} <= set(rows)
    for name in rows:  # shapes-only counts against networks built, initialised and loaded for real
        assert rows[name]["params"] == count_parameters(create_method(name).build_network()), name


def test_shapes_only_reads_no_weights_and_restores_the_initialisers(monkeypatch):
    import torch

    from hdrbench import weights
    from hdrbench.method import count_parameters, create_method
    from hdrbench.nn.shapes import building_shapes_only, shapes_only

    def no_reads(*args, **kwargs):
        raise AssertionError("a weight file was read while building for shapes only")

    before = torch.nn.init.kaiming_uniform_
    monkeypatch.setattr(weights, "resolve_backbone", no_reads)
    with shapes_only():
        assert building_shapes_only()
        w = torch.zeros(4, 4)
        assert torch.nn.init.kaiming_uniform_(w) is w and not w.any()
        net = create_method("singlehdr").build_network()  # VGG16 encoder + inverse-EMoR table
    assert not building_shapes_only() and torch.nn.init.kaiming_uniform_ is before
    assert count_parameters(net) == 27_769_868  # the official network's count (test_contract_methods)
    with pytest.raises(AssertionError, match="weight file was read"):
        create_method("singlehdr").build_network()  # outside: the encoder's weights are read
