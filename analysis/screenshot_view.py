"""Screenshot of the interactive view (``abm view``) taken in headless Chromium.

Usage::

    python -m analysis.screenshot_view [SCENARIO] [--out runs/view.png] [--steps 3]

Starts ``abm view SCENARIO`` on a free port, opens the page in headless Chromium (the Debian
``chromium`` package: ``apt-get install -y chromium``) driven through the DevTools protocol,
waits until the tissue view has been drawn, presses the page's *Step* button ``--steps`` times
so the live time series have points, saves a PNG and stops both processes. Needs the ``viz``
extra (``pip install -e ".[viz]"``). Prints the PNG's path; one line and exit status 2 if
Chromium or the page cannot be started.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
)
WINDOW_PX = (1600, 1200)
PAGE_TIMEOUT_S = 180.0


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout_s: float, process: subprocess.Popen) -> None:
    """Poll ``url`` until it answers (RuntimeError if ``process`` dies or time runs out)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s")


class DevTools:
    """A minimal DevTools-protocol client of one Chromium page over an open websocket."""

    def __init__(self, socket):
        self.socket = socket
        self.next_id = 0

    def call(self, method: str, **params):
        """Send one command and return its result (events in between are dropped)."""
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=60))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page."""
        return self.call("Runtime.evaluate", expression=expression,
                         returnByValue=True)["result"].get("value")

    def wait_until(self, expression: str, timeout_s: float) -> None:
        """Poll until ``expression`` is true in the page."""
        deadline = time.monotonic() + timeout_s
        while not self.evaluate(expression):
            if time.monotonic() > deadline:
                raise RuntimeError(f"page never satisfied {expression!r}")
            time.sleep(0.5)


TISSUE_DRAWN = "Array.from(document.images).some(i => i.naturalWidth > 400)"
"""True once a large matplotlib image (the tissue view) is on the page."""

CLICK_STEP = (
    "(() => { const b = Array.from(document.querySelectorAll('button'))"
    ".find(b => b.innerText.trim().toUpperCase() === 'STEP'); if (b) b.click(); return !!b; })()"
)


def screenshot(scenario: Path, out: Path, steps: int) -> Path:
    """Serve the view of ``scenario``, photograph it after ``steps`` steps, write ``out``."""
    from websockets.sync.client import connect

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise RuntimeError("chromium not found (apt-get install -y chromium)")
    view_port, devtools_port = free_port(), free_port()
    env = {**os.environ, "NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS", "1")}
    server = subprocess.Popen(
        [sys.executable, "-m", "abm", "view", str(scenario), "--port", str(view_port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    with tempfile.TemporaryDirectory() as profile:
        browser = subprocess.Popen(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
             f"--window-size={WINDOW_PX[0]},{WINDOW_PX[1]}",
             f"--remote-debugging-port={devtools_port}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{view_port}/"
            wait_for_http(url, PAGE_TIMEOUT_S, server)
            wait_for_http(f"http://127.0.0.1:{devtools_port}/json/version", 30, browser)
            with urllib.request.urlopen(f"http://127.0.0.1:{devtools_port}/json/list") as reply:
                page = next(t for t in json.load(reply) if t["type"] == "page")
            with connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=30) as socket:
                tools = DevTools(socket)
                tools.call("Page.navigate", url=url)
                tools.wait_until(TISSUE_DRAWN, PAGE_TIMEOUT_S)
                for _ in range(steps):
                    tools.wait_until(CLICK_STEP, 30)
                    time.sleep(3.0)  # let the step run and the page redraw
                time.sleep(2.0)
                shot = tools.call("Page.captureScreenshot", format="png")
            png = base64.b64decode(shot["data"])
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(png)
        finally:
            for process in (browser, server):
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", type=Path, default=Path("scenarios/poems.yaml"))
    parser.add_argument("--out", type=Path, default=Path("runs/view.png"))
    parser.add_argument("--steps", type=int, default=3, help="model steps before the shot")
    args = parser.parse_args(argv)
    try:
        print(screenshot(args.scenario, args.out, args.steps))
    except RuntimeError as exc:
        print(f"screenshot: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
