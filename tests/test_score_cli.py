"""``hdrbench score``: files and folders, JSON lines, CSV with its parameter record, one-line errors (exit 2)."""

from __future__ import annotations

import json
import math

import imagecodecs
import numpy as np
import pandas as pd
import pytest
from skimage.metrics import peak_signal_noise_ratio

from hdrbench import io
from hdrbench.errors import HDRBenchError

METRICS = ["--metric", "psnr-l", "--metric", "psnr-mu", "--metric", "ssim", "--metric", "lpips"]


@pytest.fixture
def folders(tmp_path, rng):
    pred, gt = tmp_path / "pred", tmp_path / "gt"
    pred.mkdir(), gt.mkdir()
    for i in range(2):
        g = rng.random((36, 44, 3)).astype(np.float32) * 0.9 + 0.05
        io.write_exr(gt / f"img{i}.exr", g)
        p = np.clip(g + rng.normal(0, 0.02, g.shape), 0, 1).astype(np.float32)
        np.save(pred / f"img{i}.npy", p)
    return pred, gt


def test_score_two_files_json(folders, run_main):
    pred, gt = folders
    code, out, err = run_main("score", pred / "img0.npy", gt / "img0.exr", *METRICS, "--json")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1
    rec = json.loads(lines[0])
    assert rec["protocol"] == "dcdr" and set(rec["metrics"]) == {"psnr-l", "psnr-mu", "ssim", "lpips"}
    p, g = np.load(pred / "img0.npy"), io.read_hdr(gt / "img0.exr")
    assert rec["metrics"]["psnr-l"] == pytest.approx(peak_signal_noise_ratio(g, p, data_range=1.0), abs=1e-3)
    assert 0 < rec["metrics"]["lpips"] < 0.2 and 0.9 < rec["metrics"]["ssim"] <= 1


def test_score_folders_csv_and_crf(folders, tmp_path, run_main):
    pred, gt = folders
    out_csv = tmp_path / "scores.csv"
    code, out, err = run_main("score", pred, gt, "--metric", "psnr-l", "--metric", "pu21-psnr", "--crf",
                              "--protocol", "ntire2021", "--out", out_csv)
    assert code == 2 and "protocol 'ntire2021' does not define it" in err  # CRF belongs to SI-HDR
    code, out, err = run_main("score", pred, gt, "--metric", "pu21-psnr", "--metric", "pu21-ssim", "--crf",
                              "--protocol", "sihdr", "--out", out_csv)
    assert code == 0, err
    df = pd.read_csv(out_csv)
    assert list(df.columns) == ["pred", "gt", "pu21-psnr", "pu21-ssim", "pu21-psnr@crf", "pu21-ssim@crf", "warnings"]
    assert len(df) == 2 and df["pu21-psnr"].notna().all()
    record = json.loads((tmp_path / "scores.csv.json").read_text())
    assert record["protocol"]["name"] == "sihdr" and record["metrics"]["pu21-psnr"]["params"]["anchor"] == "gt-max"
    assert "mean of 2 pairs" in out


def test_default_metrics_are_the_papers_five(folders, tmp_path, run_main):
    pred, gt = folders
    code, out, err = run_main("score", pred / "img0.npy", gt / "img0.exr", "--json", "--ppd", "30", "--scale",
                         "100", "--out", tmp_path / "s.csv")
    assert code == 0, err
    rec = json.loads(out.strip().splitlines()[0])
    assert list(rec["metrics"]) == ["psnr-l", "psnr-mu", "ssim", "lpips", "hdrvdp2"]
    assert 0 < rec["metrics"]["hdrvdp2"] < 100
    vdp = json.loads((tmp_path / "s.csv.json").read_text())["metrics"]["hdrvdp2"]["params"]
    assert vdp["pixels_per_degree"] == 30 and vdp["input_scale"] == 100 and vdp["color_encoding"] == "rgb-native"


def test_identical_images_json_null_for_infinite_psnr(folders, run_main):
    _, gt = folders
    code, out, _ = run_main("score", gt / "img0.exr", gt / "img0.exr", "--metric", "psnr-l", "--json")
    assert code == 0 and json.loads(out)["metrics"]["psnr-l"] is None
    code, out, _ = run_main("score", gt / "img0.exr", gt / "img0.exr", "--metric", "psnr-l")
    assert code == 0 and math.isinf(float(out.split()[-2]))


def test_bad_inputs_fail_with_one_line(folders, tmp_path, run_main):
    pred, gt = folders
    bad = np.load(pred / "img0.npy")
    bad[3, 3, 1] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    code, out, err = run_main("score", tmp_path / "nan.npy", gt / "img0.exr", "--metric", "psnr-l")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "nan.npy" in err and "--clamp" in err
    code, out, err = run_main("score", tmp_path / "nan.npy", gt / "img0.exr", "--metric", "psnr-l", "--clamp")
    assert code == 0, err
    np.save(tmp_path / "small.npy", bad[:-1])
    code, _, err = run_main("score", tmp_path / "small.npy", gt / "img0.exr", "--metric", "psnr-l")
    assert code == 2 and "shape" in err and "small.npy" in err
    io.write_exr(tmp_path / "black.exr", np.zeros((36, 44, 3), np.float32))
    code, _, err = run_main("score", pred / "img0.npy", tmp_path / "black.exr", "--metric", "psnr-l")
    assert code == 2 and "black.exr" in err and "all zeros" in err
    (pred / "img1.npy").unlink()
    code, _, err = run_main("score", pred, gt, "--metric", "psnr-l")
    assert code == 2 and "'img1'" in err
    code, _, err = run_main("score", pred / "img0.npy", gt / "img0.exr", "--param", "ssim.domain")
    assert code == 2 and "METRIC.KEY=VALUE" in err


def test_real_exit_code_and_single_stderr_line(folders, cli):
    pred, gt = folders
    proc = cli("score", pred / "img0.npy", gt / "img0.exr", "--metric", "psnr-x")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "unknown metric 'psnr-x'" in proc.stderr


def test_backend_octave_needs_the_hdrvdp_folder(folders, run_main):
    pred, gt = folders
    code, out, err = run_main("score", pred / "img0.npy", gt / "img0.exr", "--metric", "hdrvdp2",
                         "--backend", "octave")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--hdrvdp-dir" in err


# -- HDR display files (hdrbench predict --encode) are refused --------------------------------------------------
def _png_with_cicp(path, transfer: int) -> None:
    """A 16-bit PNG with a ``cICP`` chunk (BT.2020, ``transfer``) framed here by hand (length, type, CRC-32 of
    type and data: PNG spec 5.3), as a third-party HDR PNG is: no hdrbench record."""
    import struct
    import zlib

    data = bytes(imagecodecs.png_encode(np.full((4, 4, 3), 30000, dtype=np.uint16)))
    payload = bytes([9, transfer, 0, 1])
    chunk = struct.pack(">I", 4) + b"cICP" + payload + struct.pack(">I", zlib.crc32(b"cICP" + payload))
    path.write_bytes(data[:33] + chunk + data[33:])


def test_score_refuses_pq_and_hlg_display_pngs(tmp_path, run_main):
    """A PQ PNG of ``predict --encode`` (its ``cICP`` and ``hdrbench`` record), as prediction or as ground truth, and
    a third-party HLG PNG: one line each (their values are code values); a PNG with an SDR ``cICP`` still reads."""
    io.write_ldr(tmp_path / "in.png", np.random.default_rng(7).random((16, 16, 3)))
    assert run_main("predict", "--method", "identity", tmp_path / "in.png", tmp_path / "o.exr")[0] == 0
    assert run_main("predict", "--method", "identity", "--encode", "pq-png", tmp_path / "in.png",
                    tmp_path / "pq_in.png")[0] == 0
    for args, name, needle in [(("pq_in.png", "o.exr"), "pq_in.png", "is a PQ HDR display file written by hdrbench"),
                               (("o.exr", "pq_in.png"), "pq_in.png", "is a PQ HDR display file written by hdrbench")]:
        code, _, err = run_main("score", *(tmp_path / a for a in args), "--metric", "psnr-l")
        lines = [ln for ln in err.splitlines() if ln.startswith("hdrbench: error:")]
        assert code == 2 and len(lines) == 1 and lines[0].startswith(f"hdrbench: error: {tmp_path / name}: "), err
        assert needle in lines[0] and "score the linear EXR" in lines[0]
    _png_with_cicp(tmp_path / "hlg.png", 18)
    with pytest.raises(HDRBenchError, match=r"is a HLG HDR display file \(cICP: transfer HLG\)"):
        io.read_hdr(tmp_path / "hlg.png")
    _png_with_cicp(tmp_path / "sdr.png", 13)  # sRGB transfer: a plain 16-bit PNG still reads
    np.testing.assert_allclose(io.read_hdr(tmp_path / "sdr.png"), 30000 / 65535, rtol=1e-6)
