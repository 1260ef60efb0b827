"""The small things a new user trips over: provenance in predicted EXRs and score sidecars, one-line warnings,
data synth and data info saying what they found, a changed recipe named in a short error, a substitution
announced once, and DCDR saying when its loss meets unbounded HDR."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import pytest
import test_train_fakes  # noqa: F401  (registers the fakes)
import torch

import hdrbench
from hdrbench import io
from hdrbench.io import read_exr_attributes


def ldr_file(path: Path, h: int = 20, w: int = 24) -> Path:
    g = np.linspace(0, 1, h * w * 3, dtype=np.float32).reshape(h, w, 3)
    return io.write_ldr(path, g)


def test_predict_writes_provenance_and_score_sidecar_carries_it(tmp_path, run_main):
    from hdrbench.checkpoint import save_weights
    from hdrbench.method import create_method

    method = create_method("fake-net", width=4)
    torch.manual_seed(0)
    ckpt = save_weights(method.build_network(), tmp_path / "w.safetensors", method="fake-net", options={"width": 4})
    src = ldr_file(tmp_path / "in.png")
    code, _, err = run_main("predict", "--method", "fake-net", "--option", "width=4", "--checkpoint", ckpt,
                       "--tile", "0", "--device", "cpu", src, tmp_path / "out.exr")
    assert code == 0, err
    attrs = read_exr_attributes(tmp_path / "out.exr")
    assert attrs["method"] == "fake-net" and json.loads(attrs["options"])["width"] == 4
    assert attrs["checkpoint_sha256"] == hashlib.sha256(Path(ckpt).read_bytes()).hexdigest()
    assert attrs["hdrbench_version"] == hdrbench.__version__ and attrs["input"] == str(src)
    gt = tmp_path / "gt.exr"
    io.write_exr(gt, np.clip(io.read_hdr(tmp_path / "out.exr") * 1.1, 0, 1) + 0.01)
    code, _, err = run_main("score", tmp_path / "out.exr", gt, "--metric", "psnr-l", "--out", tmp_path / "s.csv")
    assert code == 0, err
    side = json.loads((tmp_path / "s.csv.json").read_text())
    assert side["protocol"]["name"] == "dcdr" and side["hdrbench_version"] == hdrbench.__version__
    assert side["predictions"][str(tmp_path / "out.exr")]["checkpoint_sha256"] == attrs["checkpoint_sha256"]


def test_random_init_warning_is_one_plain_line(tmp_path, run_main):
    code, out, err = run_main("predict", "--method", "fake-net", "--random-init", "--tile", "0", "--device", "cpu",
                         ldr_file(tmp_path / "in.png"), tmp_path / "o.exr")
    assert code == 0, err
    lines = [ln for ln in err.splitlines() if "UNTRAINED" in ln]
    assert len(lines) == 1 and lines[0].startswith("hdrbench: warning: --random-init")
    assert "UserWarning" not in err and "warnings.warn" not in err
    assert "random-init" in read_exr_attributes(tmp_path / "o.exr")["checkpoint"]


def test_data_synth_reports_what_it_clipped(tmp_path, run_main):
    src = np.full((24, 32, 3), 0.5, np.float32)
    src[0, 0, 0] = -1876.0
    src[1, 1, 1] = -0.25
    io.write_exr(tmp_path / "hdr" / "a.exr", src)
    code, out, err = run_main("data", "synth", "--hdr-dir", tmp_path / "hdr", "--out", tmp_path / "pairs")
    assert code == 0, err
    assert "2 negative values in 1 image(s) (min -1.88e+03)" in err
    assert "--protocol scene" in out  # says which protocol fits what it wrote
    manifest = json.loads((tmp_path / "pairs" / "manifest.json").read_text())
    assert manifest[0]["source_negative_values"] == 2


def test_data_info_fails_on_unusable_data(tmp_path, run_main):
    root = tmp_path / "pairs"
    ldr_file(root / "ldr" / "a.png")
    io.write_exr(root / "hdr" / "a.exr", np.ones((20, 24, 3), np.float32))
    code, out, err = run_main("data", "info", "--dataset", "folder", "--root", root)
    assert code == 0, err
    assert "1 pairs (1 read and checked)" in out
    ldr_file(root / "ldr" / "b.png")  # unpaired
    code, out, err = run_main("data", "info", "--dataset", "folder", "--root", root)
    assert code == 2 and "unpaired" in err and err.count("\n") == 1
    io.write_exr(root / "hdr" / "b.exr", np.ones((20, 25, 3), np.float32))  # paired, wrong size
    code, out, err = run_main("data", "info", "--dataset", "folder", "--root", root)
    assert code == 2 and "must have the same size" in err
    io.write_png16(root / "ldr" / "b.png", np.full((20, 25, 3), 0.5, np.float32))  # the right size, 16-bit
    code, out, err = run_main("data", "info", "--dataset", "folder", "--root", root)
    assert code == 2 and "expected an 8-bit LDR" in err


def test_changed_recipe_error_is_short_and_names_the_change(tmp_path, run_main):
    args = ["train", "--method", "fake-net", "--dataset", "fake-data", "--out", str(tmp_path), "--checkpoint-every",
            "2", "--iterations", "4"]
    assert run_main(*args)[0] == 0
    (tmp_path / "final.safetensors").unlink()  # keep the last checkpoint: a resumable, different run
    code, _, err = run_main(*args[:-1], "6")
    assert code == 2 and err.count("\n") == 1 and len(err) < 400, err
    assert "iterations: 4 -> 6" in err and "--fresh" in err


def test_vgg_substitution_is_announced_once(monkeypatch, tmp_path, caplog):
    import hdrbench.weights
    from hdrbench.nn.vgg import VGGFeatures

    vgg16 = hdrbench.weights.cache_files()["vgg16"]
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))  # no torchvision VGG19 file
    monkeypatch.setenv("HDRBENCH_CACHE", str(tmp_path / "cache"))  # a cache with VGG16 only: substitute
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / vgg16.name).symlink_to(vgg16)
    monkeypatch.setattr(hdrbench.weights, "_SAID", set())
    layers = ["conv1_2", "conv2_2", "conv3_4", "conv4_4", "conv5_4"]
    with caplog.at_level(logging.WARNING):
        VGGFeatures(layers, arch="vgg19")
        VGGFeatures(layers, arch="vgg19")
    said = [r.getMessage() for r in caplog.records if "vgg" in r.getMessage().lower()]
    assert len(said) == 1 and "vgg19 -> vgg16" in said[0] and "conv3_4->conv3_3" in said[0]


def test_dcdr_says_when_its_loss_meets_unbounded_hdr(monkeypatch, caplog):
    import hdrbench.weights
    from hdrbench.method import create_method

    monkeypatch.setattr(hdrbench.weights, "_SAID", set())
    method = create_method("dcdr")
    torch.manual_seed(0)
    net, loss = method.build_network(), method.build_loss()
    ldr = torch.rand(1, 3, 32, 32)
    ldr[0, :, 0, 0] = 1.0  # so that 300 * ldr ** 2.2 peaks at 300
    with caplog.at_level(logging.WARNING):
        method.training_loss(net, loss, ldr, ldr ** 2.2, None)  # [0, 1]: silent
        assert not [r for r in caplog.records if "assumes [0, 1]" in r.getMessage()]
        method._scale_checked = False
        method.training_loss(net, loss, ldr, ldr ** 2.2 * 300, None)
    said = [r.getMessage() for r in caplog.records if "assumes [0, 1]" in r.getMessage()]
    assert len(said) == 1 and "reaches 300" in said[0] and "vgg_weight=0" in said[0]


@pytest.mark.parametrize("half", [False, True])
def test_exr_attributes_roundtrip(tmp_path, half):
    p = io.write_exr(tmp_path / "a.exr", np.zeros((4, 4, 3), np.float32), half=half,
                     attributes={"method": "x", "options": '{"a": 1}'})
    assert read_exr_attributes(p) == {"method": "x", "options": '{"a": 1}'}
    assert read_exr_attributes(tmp_path / "a.npy") == {}
