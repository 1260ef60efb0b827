"""The result viewer (``index.html``): its data files, and the page itself in headless chromium.

The browser tests drive Debian's ``chromium`` through its DevTools protocol (``websocket-client``) on a tiny
benchmark: a ``folder`` dataset of two 48x64 scenes with a bright "sun" (linear values 2 … 8, clipped in the
8-bit LDR) and two external methods, one that keeps the highlight (0.9 × ground truth) and one that clips it.
Run them alone with ``python -m pytest -q -p no:xdist tests/test_viewer.py``.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hdrbench import io
from hdrbench.config import parse_config
from hdrbench.evaluate import evaluate
from hdrbench.report import viewer as viewer_mod
from hdrbench.report.tables import write_reports
from hdrbench.report.viewer import downsample, half_planes, write_viewer
from hdrbench.report.viewer_browser import DevTools, find_chromium, open_page, set_control

H, W = 48, 64
SUN = (slice(10, 22), slice(36, 52))  # rows, columns of the highlight


def scene(k: int) -> np.ndarray:
    """Linear HDR (H, W, 3): a sky gradient (0.05 … 0.6) and a sun of 2 … 8 (k shifts the colours)."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    hdr = np.stack([0.05 + 0.5 * xx / W, 0.1 + 0.4 * yy / H, np.full_like(xx, 0.3 + 0.1 * k)], axis=-1)
    hdr[SUN] = (2.0 + 6.0 * (xx[SUN] - SUN[1].start) / 15.0)[..., None] * np.array([1.0, 0.9, 0.7 + 0.1 * k])
    return hdr.astype(np.float32)


def make_results(root: Path) -> dict:
    """Dataset, external predictions, the config dict; evaluated and reported into ``root/out``."""
    for k in range(2):
        hdr = scene(k)
        io.write_exr(root / "data" / "test" / "hdr" / f"scene{k}.exr", hdr)
        io.write_ldr(root / "data" / "test" / "ldr" / f"scene{k}.png", np.clip(hdr, 0, 1) ** (1 / 2.2))
        io.write_exr(root / "keep" / "test" / f"scene{k}.exr", 0.9 * hdr)
        io.write_exr(root / "clip" / "test" / f"scene{k}.exr", np.clip(hdr, 0, 1))
    data = {"benchmark": {"name": "tiny", "output": str(root / "out"), "device": "cpu"},
            "dataset": {"name": "folder", "root": str(root / "data")},
            "methods": [{"name": "keeps", "label": "Keeps highlights", "external": str(root / "keep")},
                        {"name": "clips", "label": "Clips", "external": str(root / "clip")}],
            "evaluate": {"metrics": ["psnr-l", "psnr-mu"], "protocol": "ntire2021"},
            "report": {"bootstrap": 200}, "plot": {"images": 2}}
    cfg = parse_config(data, root / "bench.toml")
    evaluate(cfg, progress=False)
    write_reports(cfg)
    return data


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("viewer")
    data = make_results(root)
    cfg = parse_config(data, root / "bench.toml")
    return cfg, write_viewer(cfg)


# ---------------------------------------------------------------- data files (no browser)

def test_half_planes_round_trip_through_numpy_float16():
    rng = np.random.default_rng(0)
    a, b = rng.random((3, 4, 3), np.float32) * 50, rng.random((3, 4, 3), np.float32)
    raw = half_planes([a, b])
    n = a.size + b.size
    lo, hi = np.frombuffer(raw[:n], np.uint8), np.frombuffer(raw[n:], np.uint8)
    back = (lo.astype(np.uint16) | (hi.astype(np.uint16) << 8)).view(np.float16).astype(np.float32)
    expect = np.concatenate([a.ravel(), b.ravel()]).astype(np.float16).astype(np.float32)
    np.testing.assert_array_equal(back, expect)
    a[0, 0, 0], a[0, 0, 1] = np.nan, 1e6  # NaN -> 0, out of the half range -> 65504
    back = np.frombuffer(half_planes([a]), np.uint8).reshape(2, -1)
    first = (back[0, :2].astype(np.uint16) | (back[1, :2].astype(np.uint16) << 8)).view(np.float16)
    assert first.tolist() == [0.0, 65504.0]


def test_downsample_is_a_block_mean():
    img = np.arange(5 * 7 * 1, dtype=np.float32).reshape(5, 7, 1)
    out = downsample(img, 2)
    assert out.shape == (2, 3, 1)
    assert out[1, 2, 0] == img[2:4, 4:6, 0].mean()


def test_viewer_files_hold_every_panel_and_the_tables(results):
    cfg, viewer = results
    out = cfg.runs.reports
    assert viewer.index == out / "index.html" and viewer.images == 2 and viewer.downsample == 1
    assert viewer.size_bytes == sum(p.stat().st_size for p in viewer.files)
    text = (out / "viewer" / "data.js").read_text()
    data = json.loads(text.removeprefix("window.HDR_VIEWER_DATA = ").rstrip().removesuffix(";"))
    img = data["images"][0]
    assert [p["kind"] for p in img["panels"]] == ["ldr", "pred", "pred", "gt"]
    assert [p["method"] for p in img["panels"]][1:3] == ["keeps", "clips"]
    y, x, s = img["box"]  # the most clipped LDR region lies on the sun
    assert SUN[0].start - s // 2 <= y and x >= SUN[1].start - s // 2
    # the stored pixels are the float values as half floats: ground truth panel of image 0
    payload = re.search(r'"([A-Za-z0-9+/=]+)"', (out / "viewer" / img["file"]).read_text()).group(1)
    raw = gzip.decompress(base64.b64decode(payload))
    n = len(raw) // 2
    half = (np.frombuffer(raw[:n], np.uint8).astype(np.uint16) | (np.frombuffer(raw[n:], np.uint8).astype(np.uint16)
                                                                  << 8)).view(np.float16)
    gt = half.reshape(4, H, W, 3)[3].astype(np.float32)
    np.testing.assert_allclose(gt, scene(0), rtol=1e-3)
    # the report's table cells, with intervals and p-values
    csv = pd.read_csv(out / "table1.csv")
    col = data["tables"][0]["columns"][0]
    row = csv[(csv.method == "clips") & (csv.metric == "psnr-l")].iloc[0]
    assert col["cells"]["clips"]["ci_low"] == pytest.approx(row.ci_low)
    assert col["cells"]["clips"]["p_vs_best"] == pytest.approx(row.p_vs_best)
    assert data["scores"]["values"]["test"]["psnr-l"]["scene1"]["keeps"] > 0


def test_large_images_are_reduced_to_the_budget(results, tmp_path, monkeypatch):
    cfg, viewer = results
    full = sum(p.stat().st_size for p in viewer.files if re.fullmatch(r"img-\d+\.js", p.name))  # the half floats
    monkeypatch.setattr(viewer_mod, "SIZE_BUDGET", full // 2)
    v = write_viewer(cfg, tmp_path)
    assert v.downsample >= 2 and any(f"reduced {v.downsample}x" in n for n in v.notes)
    assert sum(p.stat().st_size for p in v.files if re.fullmatch(r"img-\d+\.js", p.name)) <= full // 2
    data = (tmp_path / "viewer" / "data.js").read_text()
    assert f'"width":{W // v.downsample},"height":{H // v.downsample}' in data


def test_run_and_report_commands_write_the_viewer(results, tmp_path, cli):
    cfg, _ = results
    toml = ("[benchmark]\nname = 'tiny'\noutput = '{out}'\n[dataset]\nname = 'folder'\nroot = '{root}'\n"
            "[evaluate]\nmetrics = ['psnr-l', 'psnr-mu']\nprotocol = 'ntire2021'\n[plot]\nimages = 1\n"
            "formats = ['png']\n[[methods]]\nname = 'keeps'\nexternal = '{keep}'\n")
    root = cfg.dataset.root
    path = tmp_path / "bench.toml"
    path.write_text(toml.format(out=tmp_path / "out", root=root, keep=Path(root).parent / "keep"))
    index = tmp_path / "out" / "index.html"
    res = cli("run", path)
    assert res.returncode == 0, res.stderr
    assert f"viewer: {index} (1 images" in res.stdout and (tmp_path / "out" / "viewer" / "img-0.js").is_file()
    shutil.rmtree(tmp_path / "out" / "viewer")
    index.unlink()
    res = cli("report", path, "--quiet")
    assert res.returncode == 0, res.stderr
    assert f"viewer: {index} (1 images" in res.stdout and (tmp_path / "out" / "viewer" / "img-0.js").is_file()


def test_profile_removal_outlasts_a_late_writer(tmp_path):
    """chromium's helpers may still write into the profile while it is removed (CI saw 'Directory not empty')."""
    import threading
    import time

    from hdrbench.report.viewer_browser import _remove_profile

    profile = tmp_path / "profile"
    (profile / "Default").mkdir(parents=True)
    stop = time.monotonic() + 0.5

    def late_writer() -> None:
        k = 0
        while time.monotonic() < stop:
            try:
                (profile / "Default").mkdir(parents=True, exist_ok=True)
                (profile / "Default" / f"f{k}").write_bytes(b"x")
            except OSError:
                pass
            k += 1

    thread = threading.Thread(target=late_writer)
    thread.start()
    _remove_profile(profile, tries=40)  # must not raise while the writer runs
    thread.join()
    _remove_profile(profile)
    assert not profile.exists()


# ---------------------------------------------------------------- the page in headless chromium

@pytest.fixture(scope="module")
def page(results):
    if find_chromium() is None:
        pytest.skip("no chromium on PATH (Debian: apt-get install chromium; or set HDRBENCH_CHROMIUM)")
    pytest.importorskip("websocket", reason="websocket-client is not installed (pip install '.[dev]')")
    cfg, _ = results
    with open_page(cfg.runs.reports / "index.html") as dt:
        set_control(dt, "box", False, "change")  # the red box outline would tint the measured highlight
        yield dt


def panel_region(dt: DevTools, kind: str, box: tuple[int, int, int, int], index: int = 0) -> np.ndarray:
    """Screenshot of image rows/columns ``box`` = (y0, y1, x0, x1) of the ``index``-th panel of ``kind``."""
    rect = dt.js(f"(() => {{ const v = document.querySelectorAll('.panel[data-kind={kind}] .viewport')[{index}]; "
                 "const r = v.getBoundingClientRect(); return [r.left, r.top, r.width]; })()")
    left, top, width = rect
    s = width / W
    y0, y1, x0, x1 = box
    return dt.screenshot(left + x0 * s, top + y0 * s, (x1 - x0) * s, (y1 - y0) * s).astype(np.float64)


INNER_SUN = (SUN[0].start + 2, SUN[0].stop - 2, SUN[1].start + 2, SUN[1].stop - 2)


def test_page_loads_without_console_errors(page):
    page.js("1")  # collect pending events
    errors = [e for e in page.events if e["method"] == "Runtime.exceptionThrown"
              or (e["method"] == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert"))
              or (e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")]
    assert not errors, errors
    assert page.js("document.querySelectorAll('.panel canvas').length") == 4
    assert page.js("document.querySelectorAll('table.report').length") >= 1


def test_no_external_requests(page, results):
    cfg, viewer = results
    urls = [e["params"]["request"]["url"] for e in page.events if e["method"] == "Network.requestWillBeSent"]
    assert any(u.endswith("/viewer/img-0.js") for u in urls), urls  # the log sees the page's requests
    assert all(u.startswith(("file://", "data:", "blob:")) for u in urls), urls
    for path in viewer.files:
        assert not re.search(r"https?://", path.read_text(encoding="utf-8")), path
    csp = page.js("document.querySelector('meta[http-equiv=Content-Security-Policy]').content")
    assert "default-src 'none'" in csp


def test_page_decodes_the_half_floats_as_numpy_does(page):
    table = np.array([float(v) for v in page.js(  # JSON has no NaN / infinity: those come back as text
        "Array.from(hdrViewer.half, v => Number.isFinite(v) ? v : String(v))")])
    expect = np.arange(65536, dtype=np.uint16).view(np.float16).astype(np.float64)
    np.testing.assert_array_equal(table, expect)
    n = H * W * 3
    gt = page.js(f"hdrViewer.pixels(0).then(f => Array.from(f.subarray({3 * n}, {4 * n})))", wait=True)
    np.testing.assert_array_equal(np.array(gt, np.float32).reshape(H, W, 3),
                                  scene(0).astype(np.float16).astype(np.float32))


def test_exposure_slider_darkens_and_reveals_the_highlight(page):
    set_control(page, "tone", "gamma", "change")
    levels = {}
    for ev in (0.0, -1.0, -2.0, -3.0):
        set_control(page, "ev", ev)
        levels[ev] = panel_region(page, "gt", INNER_SUN).mean()
    assert page.js("document.getElementById('ev-value').textContent") == "-3.0 EV"
    # at 0 EV the sun (2 … 8) is clipped white; each step down darkens it
    assert levels[0.0] > 250
    assert levels[0.0] > levels[-1.0] > levels[-2.0] > levels[-3.0] > 100
    # at -3 EV the ground truth keeps the highlight, the clipping method does not; the LDR input is not re-exposed
    ldr = panel_region(page, "ldr", INNER_SUN).mean()
    kept, clipped = (panel_region(page, "pred", INNER_SUN, i).mean() for i in (0, 1))
    assert ldr > 250 and kept > clipped + 60
    # the gradient inside the sun is visible again: brighter to the right
    sun = panel_region(page, "gt", INNER_SUN)
    assert sun[:, -3:].mean() > sun[:, :3].mean() + 30


def test_tone_curves_and_error_map(page):
    set_control(page, "ev", -1.0)
    sky = (30, 44, 2, 30)
    means = {}
    for tone in ("linear", "gamma", "pu21"):
        set_control(page, "tone", tone, "change")
        means[tone] = panel_region(page, "gt", sky).mean()
    assert means["linear"] < means["gamma"]  # x < x ** (1 / 2.2) on (0, 1)
    assert abs(means["pu21"] - means["gamma"]) > 5
    set_control(page, "tone", "gamma", "change")
    set_control(page, "ev", -3.0)
    set_control(page, "errmap", True, "change")
    kept, clipped = (panel_region(page, "pred", INNER_SUN, i).mean() for i in (0, 1))
    assert clipped > kept + 60  # the clipped highlight is the larger error
    set_control(page, "errmap", False, "change")


def test_table_sorts_on_a_header_click(page, results):
    cfg, _ = results
    csv = pd.read_csv(cfg.runs.reports / "table1.csv")
    cells = csv[csv.metric == "psnr-l"].set_index("method")["mean"]

    def order() -> list[str]:
        return page.js("[...document.querySelectorAll('table.report[data-table=table1] tbody tr')]"
                       ".map(r => r.dataset.method)")

    def click_header(text: str) -> None:
        x, y = page.js("(() => { const th = [...document.querySelectorAll('table.report[data-table=table1] th')]"
                       f".find(t => t.textContent.startsWith({text!r})); th.scrollIntoView(); "
                       "const r = th.getBoundingClientRect(); "
                       "return [r.left + r.width / 2, r.top + r.height / 2]; })()")
        for kind in ("mousePressed", "mouseReleased"):
            page.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    click_header("PSNR-L")  # higher is better: best first
    assert order() == list(cells.sort_values(ascending=False).index)
    click_header("PSNR-L")
    assert order() == list(cells.sort_values(ascending=True).index)
    click_header("Method")
    labels = page.js("[...document.querySelectorAll('table.report[data-table=table1] tbody td.label')]"
                     ".map(c => c.textContent)")
    assert labels == sorted(labels)
    best = page.js("document.querySelector('table.report[data-table=table1] td.rank-1').title")
    assert "bootstrap interval" in best and "best of this column" in best


def test_zoom_is_linked_and_the_split_slider_reveals_either_side(page):
    set_control(page, "mode", "grid", "change")
    x, y = page.js("(() => { const r = document.querySelector('.panel[data-kind=gt] .viewport')"
                   ".getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()")
    page.call("Input.dispatchMouseEvent", type="mouseWheel", x=x, y=y, deltaX=0, deltaY=-300)
    transforms = page.js("[...document.querySelectorAll('.layer')].map(l => l.style.transform)")
    assert len(transforms) == 4 and len(set(transforms)) == 1  # every panel shows the same zoomed region
    assert page.js("hdrViewer.state.zoom") == pytest.approx(2.0)
    page.call("Input.dispatchMouseEvent", type="mousePressed", x=x, y=y, button="left", clickCount=2)
    page.call("Input.dispatchMouseEvent", type="mouseReleased", x=x, y=y, button="left", clickCount=2)
    assert page.js("hdrViewer.state.zoom") == 1  # double-click: fit
    set_control(page, "ev", -3.0)
    set_control(page, "mode", "split", "change")
    set_control(page, "split-a", 2, "change")  # left: the clipping method, right: the ground truth
    set_control(page, "split-b", 3, "change")
    set_control(page, "split", 100)
    left = panel_region(page, "split", INNER_SUN).mean()
    set_control(page, "split", 0)
    right = panel_region(page, "split", INNER_SUN).mean()
    assert right > left + 60
    set_control(page, "mode", "grid", "change")


# ---------------------------------------------------------------- named tone mappers (hdrbench.report.tonemappers)

def test_named_tone_mappers_are_listed_captioned_and_computed_as_in_python(page, results):
    """Every registered operator is offered; its caption replaces the curve's; the page's display values of the
    ground truth and of a prediction (mapped with the ground truth's statistics) equal tonemappers.py's; the
    precomputed local operator is drawn from its file; exposure does not apply to the named operators."""
    from hdrbench.report.tonemappers import STATISTICS_NOTE, TONEMAPPERS
    from hdrbench.report.viewer_tonemap import as_stored

    cfg, viewer = results
    assert (cfg.runs.reports / "viewer" / "img-0-reinhard-local.js") in viewer.files
    set_control(page, "image", 0, "change")
    page.wait_for("document.body.dataset.ready === '1'")
    set_control(page, "tone", "gamma", "change")
    options = page.js("[...document.querySelectorAll('#tone option')].map(o => o.value)")
    assert [o for o in options if o.startswith("tmo:")] == [f"tmo:{n}" for n in TONEMAPPERS]
    before = page.js("document.getElementById('tone-caption').textContent")
    assert "gamma 2.2" in before
    gt = as_stored(scene(0))
    keeps = as_stored(0.9 * scene(0))
    for name, op in TONEMAPPERS.items():
        set_control(page, "tone", f"tmo:{name}", "change")
        page.wait_for("document.body.dataset.ready === '1'")
        caption = page.js("document.getElementById('tone-caption').textContent")
        assert caption.startswith(op.caption) and STATISTICS_NOTE in caption and caption != before
        assert page.js("document.getElementById('ev').disabled") is True
        stats = op.statistics(gt)
        for k, hdr in ((3, gt), (1, keeps)):
            got = np.array(page.js(f"hdrViewer.tonemapped({k})"), np.float64).reshape(H, W, 3)
            want = op(hdr, stats=stats).astype(np.float64)
            if op.local:  # precomputed: the 8-bit values written by Python
                np.testing.assert_allclose(got, np.round(want * 255) / 255, atol=1e-6, err_msg=name)
            else:
                np.testing.assert_allclose(got, want, atol=2e-5, err_msg=name)
        if op.local:  # what the canvas shows is those bytes
            y0, y1, x0, x1 = INNER_SUN
            expected = np.round(255 * op(gt, stats=stats)[y0:y1, x0:x1]).mean()
            assert panel_region(page, "gt", INNER_SUN).mean() == pytest.approx(expected, abs=6)
    set_control(page, "tone", "gamma", "change")
    assert page.js("document.getElementById('ev').disabled") is False
    assert page.js("document.getElementById('tone-caption').textContent") == before


# ---------------------------------------------------------------- native HDR panels (hdrbench.report.hdr_panels)

def test_viewer_embeds_native_hdr_panels(results):
    """Each image's prediction and ground-truth panels as AVIF-PQ and Ultra HDR JPEG data URIs (viewer/hdr-<n>.js)."""
    import imagecodecs

    cfg, viewer = results
    out = cfg.runs.reports / "viewer"
    data = json.loads((out / "data.js").read_text().removeprefix("window.HDR_VIEWER_DATA = ").rstrip()
                      .removesuffix(";"))
    assert data["images"][0]["hdr"] == {"file": "hdr-0.js", "encodings": ["avif-pq", "ultrahdr"]}
    assert "203 cd/m²" in data["hdr_display"] and out / "hdr-0.js" in viewer.files
    files = json.loads((out / "hdr-0.js").read_text().removeprefix("hdrViewerNative(0, ").rstrip().removesuffix(");"))
    assert [f["panel"] for f in files["avif-pq"]] == [f["panel"] for f in files["ultrahdr"]] == [1, 2, 3]
    avif = base64.b64decode(files["avif-pq"][0]["uri"].removeprefix("data:image/avif;base64,"))
    assert imagecodecs.avif_decode(avif).shape == (H, W, 3) and b"colrnclx\x00\x09\x00\x10" in avif  # BT.2020, PQ
    jpeg = base64.b64decode(files["ultrahdr"][2]["uri"].removeprefix("data:image/jpeg;base64,"))
    assert imagecodecs.ultrahdr_check(jpeg)


def test_native_hdr_note_where_the_display_reports_no_hdr(page):
    assert page.js("matchMedia('(dynamic-range: high)').matches") is False  # headless chromium: an SDR screen
    assert page.js("document.getElementById('hdr-note').textContent") == (
        "not shown: this display/browser does not report HDR (CSS dynamic-range: high)")
    assert page.js("document.getElementById('hdr-mode').disabled") is True
    assert page.js("document.getElementById('hdr-controls').hidden") is False
    assert page.js("document.querySelectorAll('#hdr-view img').length") == 0


def test_native_hdr_panels_decode_where_the_display_reports_hdr(page):
    """With matchMedia answering HDR (headless chromium cannot emulate the feature), the page shows the chosen
    encoding's panels, and chromium decodes every AVIF-PQ and Ultra HDR JPEG to the panel's size."""
    page.js("window._mm = window.matchMedia; window.matchMedia = (q) => q === '(dynamic-range: high)' ? "
            "{matches: true, media: q, addEventListener() {}} : window._mm(q)")
    try:
        page.js("hdrViewer.showNative()", wait=True)
        assert page.js("document.getElementById('hdr-mode').disabled") is False
        assert "fixed rendering" in page.js("document.getElementById('hdr-note').textContent")
        for mode in ("avif-pq", "ultrahdr"):
            set_control(page, "hdr-mode", mode, "change")
            page.wait_for("(() => { const i = [...document.querySelectorAll('#hdr-view img')]; "
                          "return i.length === 3 && i.every(x => x.complete && x.naturalWidth > 0); })()")
            assert page.js("[...document.querySelectorAll('#hdr-view img')].map(i => [i.naturalWidth, "
                           "i.naturalHeight])") == [[W, H]] * 3
            assert page.js("[...document.querySelectorAll('#hdr-view .panel')].map(p => p.dataset.kind)") == [
                "pred", "pred", "gt"]
    finally:
        page.js("window.matchMedia = window._mm")
        set_control(page, "hdr-mode", "", "change")
    assert page.js("document.querySelectorAll('#hdr-view img').length") == 0
