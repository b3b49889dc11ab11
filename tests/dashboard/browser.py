"""Headless Chromium driven over the Chrome DevTools Protocol (websockets, no extra packages).

Enough of CDP for the dashboard tests: open pages, wait for them to load, run JavaScript,
collect console errors, uncaught exceptions and failed loads (CSP violations and 404s are
logged as errors too), and take full-page screenshots.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-default-apps",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class BrowserError(RuntimeError):
    pass


class Browser:
    def __init__(self, executable: str, timeout: float = 30.0) -> None:
        from websockets.sync.client import connect

        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="te-chromium-")
        self.process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not port_file.exists() or len(port_file.read_text().splitlines()) < 2:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise BrowserError("Chromium did not start its DevTools endpoint")
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        self._stack = contextlib.ExitStack()
        self.ws = self._stack.enter_context(
            connect(f"ws://127.0.0.1:{port}{path}", max_size=2**28, open_timeout=timeout)
        )
        self._ids = itertools.count(1)
        self._waiting: dict[int, queue.Queue] = {}
        self._events: dict[str, queue.Queue] = {}
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for raw in self.ws:
                message = json.loads(raw)
                if "id" in message:
                    box = self._waiting.pop(message["id"], None)
                    if box is not None:
                        box.put(message)
                else:
                    session = message.get("sessionId", "")
                    with self._lock:
                        box = self._events.setdefault(session, queue.Queue())
                    box.put(message)
        except Exception:
            return

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict:
        ident = next(self._ids)
        box: queue.Queue = queue.Queue()
        self._waiting[ident] = box
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        try:
            answer = box.get(timeout=self.timeout)
        except queue.Empty:
            raise BrowserError(f"no answer to {method} within {self.timeout}s") from None
        if "error" in answer:
            raise BrowserError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    def events(self, session: str) -> queue.Queue:
        with self._lock:
            return self._events.setdefault(session, queue.Queue())

    def new_page(self, width: int = 1360, height: int = 900) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session, target)
        for domain in ("Page", "Runtime", "Log", "Network"):
            page.send(f"{domain}.enable")
        page.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        return page

    def close(self) -> None:
        try:
            stack = getattr(self, "_stack", None)
            if stack is not None:
                stack.close()
        finally:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


class Page:
    def __init__(self, browser: Browser, session: str, target: str) -> None:
        self.browser = browser
        self.session = session
        self.target = target
        self.errors: list[str] = []  # console errors, exceptions, failed loads since the last navigate()

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict:
        return self.browser.send(method, params, self.session)

    def _drain(self, until: str | None = None, timeout: float = 30.0) -> None:
        """Collect errors from the event stream; with `until`, wait for that event."""
        box = self.browser.events(self.session)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                event = box.get(timeout=max(0.0, remaining) if until else 0.0)
            except queue.Empty:
                if until:
                    raise BrowserError(f"{until} did not happen within {timeout}s") from None
                return
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                self.errors.append(
                    "console: "
                    + " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
                )
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                self.errors.append(
                    "exception: "
                    + str(details.get("exception", {}).get("description") or details.get("text"))
                )
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                self.errors.append(f"log: {entry.get('text')} {entry.get('url', '')}".strip())
            elif method == "Network.loadingFailed" and not params.get("canceled"):
                self.errors.append(f"load failed: {params.get('errorText')}")
            if until and method == until:
                return

    def navigate(self, url: str) -> None:
        self.errors = []
        self._drain()
        self.send("Page.navigate", {"url": url})
        self._drain(until="Page.loadEventFired")

    def click_and_wait(self, selector: str) -> None:
        """Click an element that submits a form or follows a link, and wait for the next page."""
        self.errors = []
        self._drain()
        self.evaluate(f"document.querySelector({json.dumps(selector)}).click()")
        self._drain(until="Page.loadEventFired")

    def evaluate(self, expression: str, await_promise: bool = True) -> Any:
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": await_promise, "returnByValue": True},
        )
        if "exceptionDetails" in result:
            raise BrowserError(
                f"{expression[:80]}: {result['exceptionDetails'].get('exception', {}).get('description')}"
            )
        return result.get("result", {}).get("value")

    def settle(self, seconds: float = 0.3) -> None:
        """Let late console messages arrive, then collect them."""
        time.sleep(seconds)
        self._drain()

    def cookies(self) -> list[dict]:
        return self.send("Network.getCookies")["cookies"]

    def screenshot(self, path: Path, width: int = 1360) -> Path:
        height = int(self.evaluate("Math.ceil(document.documentElement.scrollHeight)") or 900)
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        time.sleep(0.3)  # Bokeh re-lays out after the resize
        data = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        )
        return path


def screenshot_dir() -> Path:
    return Path(
        os.environ.get(
            "TE_SCREENSHOT_DIR", Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
        )
    )
