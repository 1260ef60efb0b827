"""Overexposed regions: masks, components and distances against a hand-checked case; in-region scores against a
direct numpy computation of the same masked mean square."""

from __future__ import annotations

import math

import numpy as np
import torch

from hdrbench.metrics.protocols import get_protocol
from hdrbench.metrics.regions import RegionSpec, bin_labels, find_regions, overexposed_mask, region_scores


def ldr_of(gray: np.ndarray) -> np.ndarray:
    """An 8-bit RGB image whose three channels equal ``gray`` (so its BT.601 gray is ``gray``)."""
    return np.repeat(gray[..., None], 3, axis=-1).astype(np.uint8)


def test_mask_is_strictly_above_240_on_the_gray_value():
    g = np.array([[239, 240, 241, 255]], np.uint8)
    assert overexposed_mask(ldr_of(g)).tolist() == [[False, False, True, True]]
    rgb = np.zeros((1, 2, 3), np.uint8)
    rgb[0, 0] = (255, 0, 0)  # gray = round(0.299 * 255) = 76: not overexposed by gray, but by a channel
    rgb[0, 1] = (250, 250, 250)
    assert overexposed_mask(rgb).tolist() == [[False, True]]
    assert overexposed_mask(rgb, rule="channel").tolist() == [[True, True]]
    assert overexposed_mask(rgb.astype(np.float32) / 255.0).tolist() == [[False, True]]  # [0, 1] floats


def test_components_distances_and_areas_by_hand():
    g = np.zeros((7, 9), np.uint8)
    g[1:6, 1:6] = 255  # a 5x5 square: centre 3 px from the nearest well-exposed pixel
    g[0, 8] = 255  # a single pixel in the corner
    r = find_regions(ldr_of(g))
    assert r.mask.sum() == 26 and r.labels.max() == 2
    # Euclidean distance to the nearest well-exposed pixel, by hand: ring 1, 2, centre 3
    want = np.zeros((7, 9))
    want[1:6, 1:6] = 1
    want[2:5, 2:5] = 2
    want[3, 3] = 3
    want[0, 8] = 1
    assert np.array_equal(r.distance, want)
    assert r.area[3, 3] == 25 and r.area[0, 8] == 1 and r.area[0, 0] == 0
    diag = np.zeros((3, 3), np.uint8)
    diag[0, 0] = diag[1, 1] = 255  # touching corners: one component (8-connected)
    assert find_regions(ldr_of(diag)).labels.max() == 1


def test_bin_labels():
    assert bin_labels((1.0, 4.0, 16.0, math.inf), " px") == ["1–4 px", "4–16 px", "≥16 px"]


def test_an_error_deep_inside_a_large_region_lands_only_in_the_far_and_large_bins():
    h = w = 160
    g = np.full((h, w), 100, np.uint8)
    g[10:150, 10:150] = 255  # one 140x140 clipped region: centre ~70 px from real content
    g[5, 5] = 255  # and a lone clipped pixel: a small component, distance 1
    ldr = ldr_of(g)
    rng = np.random.default_rng(0)
    gt = rng.uniform(0.05, 0.9, (1, 3, h, w))
    pred = gt.copy()
    r = find_regions(ldr)
    deep = r.distance >= 64
    assert deep.sum() > 0
    pred[0][:, deep] += 0.05  # the error: only where a network must reach >= 64 px
    protocol = get_protocol("dcdr")
    spec = RegionSpec()
    metrics = {n: protocol.create(n) for n in ("psnr-l", "psnr-mu")}
    p, t = protocol.prepare(torch.from_numpy(pred), torch.from_numpy(gt))
    strata = spec.strata(r)
    by_distance = region_scores(p, t, [m for _, m in strata["by_distance"]], metrics)
    by_size = region_scores(p, t, [m for _, m in strata["by_size"]], metrics)
    labels = [lab for lab, _ in strata["by_distance"]]
    assert labels == ["1–4 px", "4–16 px", "16–64 px", "≥64 px"]
    for rec in by_distance[:3]:
        assert rec["psnr-l"] == math.inf and rec["psnr-mu"] == math.inf  # near bins: exact
    # the far bin against numpy: PSNR-L of the clipped [0, 1] values over the bin's pixels, all channels
    far = strata["by_distance"][3][1]
    pc, gc = np.clip(pred, 0, 1), gt  # dcdr: both / max(1, max gt) = 1, prediction clipped to [0, 1]
    mse = np.mean((pc[0][:, far] - gc[0][:, far]) ** 2)
    assert by_distance[3]["pixels"] == int(far.sum())
    assert abs(by_distance[3]["psnr-l"] - 10 * np.log10(1 / mse)) < 1e-9
    mu = 10.0
    tm = np.log1p(mu * pc) / np.log1p(mu) - np.log1p(mu * gc) / np.log1p(mu)
    assert abs(by_distance[3]["psnr-mu"] - 10 * np.log10(1 / np.mean(tm[0][:, far] ** 2))) < 1e-6
    # by size: the lone pixel is in the smallest bin (exact); the error in the largest bin (>= 16384 px²)
    assert [lab for lab, _ in strata["by_size"]][-1] == "≥16384 px²"
    assert by_size[0]["pixels"] == 1 and by_size[0]["psnr-l"] == math.inf
    assert by_size[1]["pixels"] == 0 and by_size[1]["psnr-l"] is None  # an empty bin says so
    assert by_size[3]["pixels"] == 140 * 140 and by_size[3]["psnr-l"] < 60
    # energy ratio and log2 error by hand over the far bin
    w_ = np.array([0.212656, 0.715158, 0.072186])[:, None]
    yp, yg = (w_ * pc[0][:, far]).sum(0), (w_ * gc[0][:, far]).sum(0)
    assert abs(by_distance[3]["energy-ratio"] - yp.sum() / yg.sum()) < 1e-9
    assert abs(by_distance[3]["log2-error"] - np.mean(np.abs(np.log2(yp) - np.log2(yg)))) < 1e-9
    assert by_distance[0]["energy-ratio"] == 1.0 and by_distance[0]["log2-error"] == 0.0


def test_a_fully_clipped_image_has_unbounded_distances_and_bad_specs_are_one_line():
    import pytest

    from hdrbench.errors import HDRBenchError

    r = find_regions(ldr_of(np.full((4, 4), 255, np.uint8)))
    assert np.isinf(r.distance).all() and r.fraction == 1.0
    far = RegionSpec().strata(r)["by_distance"][-1][1]
    assert far.all()  # unbounded distances count in the last bin
    with pytest.raises(HDRBenchError, match="increasing finite edges"):
        RegionSpec(distance_edges=(4.0, 1.0))
    with pytest.raises(HDRBenchError, match="threshold must be an 8-bit value"):
        RegionSpec(threshold=300)
