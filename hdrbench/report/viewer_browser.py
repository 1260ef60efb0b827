"""Headless chromium driven through its DevTools protocol: the viewer's browser tests and its screenshots.

Needs a ``chromium`` (Debian: ``apt-get install chromium``; another binary through ``HDRBENCH_CHROMIUM``) and
the ``websocket-client`` package (the ``dev`` extra). Screenshot of a written viewer::

    python -m hdrbench.report.viewer_browser results/demo/index.html docs/viewer.png --ev 2 --show 'LDR input,HDRCNN'
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from hdrbench.errors import HDRBenchError

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions")


def find_chromium() -> str | None:
    """The browser binary: ``$HDRBENCH_CHROMIUM``, else ``chromium`` / ``chromium-browser`` / ``google-chrome``."""
    for name in (os.environ.get("HDRBENCH_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


class DevTools:
    """A minimal DevTools-protocol client on one page target; events received so far are in :attr:`events`."""

    def __init__(self, url: str):
        import websocket

        self.ws = websocket.create_connection(url, timeout=60, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def js(self, expression: str, *, wait: bool = False) -> Any:
        """The JSON value of ``expression`` in the page (``wait``: await the promise it returns)."""
        res = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=wait)
        if "exceptionDetails" in res:
            raise RuntimeError(f"{expression}: {res['exceptionDetails']}")
        return res["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 60.0) -> None:
        end = time.monotonic() + timeout
        while not self.js(expression):
            if time.monotonic() > end:
                raise TimeoutError(expression)
            time.sleep(0.1)

    def screenshot(self, x: float, y: float, w: float, h: float) -> np.ndarray:
        """The rendered pixels, uint8 (h, w, 3), of a rectangle of the page in CSS pixels."""
        import imageio.v3 as iio

        res = self.call("Page.captureScreenshot", format="png",
                        clip={"x": x, "y": y, "width": w, "height": h, "scale": 1})
        return iio.imread(base64.b64decode(res["data"]))[..., :3]


@contextmanager
def open_page(index: Path, *, width: int = 1400, height: int = 1000, exe: str | None = None) -> Iterator[DevTools]:
    """Start headless chromium (fresh profile), open ``index`` and wait until the viewer is ready."""
    exe = exe or find_chromium()
    if exe is None:
        raise HDRBenchError("no chromium found; install it (Debian: apt-get install chromium) or set HDRBENCH_CHROMIUM")
    # chromium's helper processes may still write into the profile after the main one exits: the whole
    # process group is stopped, and the profile's removal is retried rather than failing the caller.
    with tempfile.TemporaryDirectory(prefix="hdrbench-chromium-", ignore_cleanup_errors=True) as profile:
        proc = subprocess.Popen([exe, *FLAGS, f"--window-size={width},{height}", f"--user-data-dir={profile}",
                                 "--remote-debugging-port=0", "about:blank"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            port_file, end = Path(profile) / "DevToolsActivePort", time.monotonic() + 60
            while not (port_file.is_file() and port_file.read_text().strip()):
                if proc.poll() is not None or time.monotonic() > end:
                    raise HDRBenchError(f"chromium did not start (exit code {proc.poll()})", exe)
                time.sleep(0.1)
            port = int(port_file.read_text().split()[0])
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as r:
                target = next(t for t in json.load(r) if t["type"] == "page")
            dt = DevTools(target["webSocketDebuggerUrl"])
            for domain in ("Runtime", "Log", "Network", "Page"):
                dt.call(f"{domain}.enable")
            dt.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                    mobile=False)
            dt.call("Page.navigate", url=Path(index).resolve().as_uri())
            dt.wait_for("document.body && document.body.dataset.ready === '1'")
            try:
                yield dt
            finally:
                dt.ws.close()
        finally:
            _stop(proc)
            _remove_profile(Path(profile))


def _stop(proc: subprocess.Popen) -> None:
    """Terminate chromium and its helper processes (its own process group); kill what outlives 10 s."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    try:  # helpers that ignored SIGTERM
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _remove_profile(profile: Path, tries: int = 20) -> None:
    """Delete the temporary profile, retrying while late writers finish (what remains is left to the OS)."""
    for _ in range(tries):
        shutil.rmtree(profile, ignore_errors=True)
        if not profile.exists():
            return
        time.sleep(0.1)


def set_control(dt: DevTools, element_id: str, value: Any, event: str = "input") -> None:
    """Set a control's value as a user would and fire its event (the page re-renders synchronously)."""
    dt.js(f"(() => {{ const e = document.getElementById({element_id!r}); "
          f"if (e.type === 'checkbox') e.checked = {json.dumps(value)}; else e.value = {json.dumps(str(value))}; "
          f"e.dispatchEvent(new Event({event!r})); }})()")


def main(argv: list[str] | None = None) -> None:
    import argparse

    import imageio.v3 as iio

    ap = argparse.ArgumentParser(description="Screenshot of the viewer's image view (and its controls).")
    ap.add_argument("index", type=Path)
    ap.add_argument("png", type=Path)
    ap.add_argument("--image", type=int, default=0)
    ap.add_argument("--ev", type=float, default=None, help="exposure (default: the page's automatic one)")
    ap.add_argument("--tone", default="gamma",
                    help="linear, gamma, pu21, or a named tone mapper as tmo:NAME (e.g. tmo:reinhard-local)")
    ap.add_argument("--mode", default="grid", choices=["grid", "split"])
    ap.add_argument("--show", default="", help="comma-separated panel titles to show (default: all)")
    ap.add_argument("--errmap", action="store_true")
    ap.add_argument("--width", type=int, default=1400)
    args = ap.parse_args(argv)
    with open_page(args.index, width=args.width, height=2000) as dt:
        set_control(dt, "image", args.image, "change")
        dt.wait_for("document.body.dataset.ready === '1'")
        set_control(dt, "mode", args.mode, "change")
        set_control(dt, "tone", args.tone, "change")
        dt.wait_for("document.body.dataset.ready === '1'")  # a precomputed tone mapper loads its file
        if args.ev is not None:
            set_control(dt, "ev", args.ev)
        if args.show:
            shown = json.dumps(args.show.split(","))
            dt.js(f"document.querySelectorAll('#shown input').forEach(b => {{ if (b.checked !== {shown}"
                  ".includes(b.dataset.title)) b.click(); })")
        set_control(dt, "errmap", args.errmap, "change")
        top, bottom = dt.js("(() => { const a = document.getElementById('compare').getBoundingClientRect(); "
                            "const b = document.getElementById('image-scores').getBoundingClientRect(); "
                            "return [a.top, b.bottom]; })()")
        img = dt.screenshot(0, top, args.width, bottom - top + 8)
    args.png.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(args.png, img)
    print(f"wrote {args.png} ({img.shape[1]}x{img.shape[0]})")


if __name__ == "__main__":
    main()
