"""Figure 5: box selection, the written PNG/PDF files, red boxes and the lower-left inset."""

from __future__ import annotations

import numpy as np
import pytest
from test_evaluate import make_bench

from hdrbench import io
from hdrbench.config import parse_config
from hdrbench.errors import HDRBenchError
from hdrbench.evaluate import evaluate
from hdrbench.report.plots import select_box, tonemap, write_figures


def test_select_box_finds_the_clipped_region():
    ldr = np.full((60, 80, 3), 0.3, np.float32)
    ldr[40:52, 10:22] = 1.0  # a 12x12 clipped patch
    y, x, s = select_box(ldr, 12)
    assert (y, x, s) == (40, 10, 12)
    y, x, s = select_box(ldr, 200)  # larger than the image: clamped
    assert s == 60 and 0 <= x <= 20 and y == 0


def test_tonemap_is_scaled_gamma():
    hdr = np.array([[[0.5, 1.0, 4.0]]], np.float32)
    np.testing.assert_allclose(tonemap(hdr, 0.5), [[[0.25 ** (1 / 2.2), 0.5 ** (1 / 2.2), 1.0]]], rtol=1e-6)


def test_figures_are_written_with_red_boxes(tmp_path):
    data = make_bench(tmp_path)
    data["plot"] = {"images": ["set_a_01", "set_a_02"], "box": 6}
    cfg = parse_config(data, tmp_path / "bench.toml")
    with pytest.raises(HDRBenchError, match="no saved prediction"):
        write_figures(cfg)
    evaluate(cfg, progress=False)
    paths = write_figures(cfg)
    names = sorted(p.name for p in paths)
    assert names == sorted(f"figure5{s}.{e}" for s in ("", "_tonemapped", "_metrics") for e in ("png", "pdf"))
    img = io.read_image(cfg.output / "figure5.png")
    red = (img[..., 0] > 200) & (img[..., 1] < 60) & (img[..., 2] < 60)
    assert red.sum() > 100  # box outlines and inset frames
    h, w = red.shape
    # red marks span the panel columns (5 panels: LDR, 3 methods, GT)
    cols = np.flatnonzero(red.any(axis=0))
    assert cols.min() < w * 0.2 and cols.max() > w * 0.8
    assert (cfg.output / "figure5.pdf").read_bytes()[:4] == b"%PDF"
