"""Headless Chromium, driven over the DevTools protocol (websocket-client).

Opens a page and records what a user's browser would do with it: console
messages and uncaught exceptions, browser log entries (CSP violations, failed
loads), and every network request, then answers DOM queries and takes a
full-page screenshot.
"""
import base64
import itertools
import json
import re
import shutil
import subprocess
import tempfile
import time
from typing import Any, Dict, List, Optional

import websocket

_LISTENING = re.compile(r"DevTools listening on (ws://\S+)")


def executable() -> Optional[str]:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class PageVisit:
    """What loading one page produced."""

    def __init__(self):
        self.requests: List[str] = []
        self.console_errors: List[str] = []
        self.exceptions: List[str] = []
        self.log_errors: List[str] = []


class Chromium:
    def __init__(self, timeout: float = 60):
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="chromium-profile-")
        self._process = subprocess.Popen(
            [
                executable(), "--headless=new", "--remote-debugging-port=0",
                f"--user-data-dir={self._profile}", "--no-first-run", "--no-default-browser-check",
                "--disable-gpu", "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-sandbox", "about:blank",
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        self._ws = websocket.create_connection(self._browser_url(), timeout=timeout)
        self._ids = itertools.count(1)
        self._events: List[Dict[str, Any]] = []

    def _browser_url(self) -> str:
        deadline = time.monotonic() + self.timeout
        seen = []
        while time.monotonic() < deadline:
            line = self._process.stderr.readline()
            if not line and self._process.poll() is not None:
                break
            seen.append(line)
            match = _LISTENING.search(line)
            if match:
                return match.group(1)
        raise RuntimeError("Chromium did not start its DevTools server:\n" + "".join(seen))

    def send(self, method: str, session: Optional[str] = None, **params) -> Dict[str, Any]:
        message_id = next(self._ids)
        message = {"id": message_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self._ws.send(json.dumps(message))
        while True:
            reply = json.loads(self._ws.recv())
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._events.append(reply)

    def _wait_for(self, method: str, session: str) -> Dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        for event in self._events:
            if event.get("method") == method and event.get("sessionId") == session:
                return event
        while time.monotonic() < deadline:
            event = json.loads(self._ws.recv())
            self._events.append(event)
            if event.get("method") == method and event.get("sessionId") == session:
                return event
        raise TimeoutError(f"no {method} within {self.timeout} s")

    def visit(self, url: str, screenshot: str, width: int = 1200) -> "tuple[PageVisit, str]":
        """Loads `url` in a new tab, saves a full-page PNG; returns (visit, session)."""
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session)
        self._events.clear()
        self.send("Page.navigate", session, url=url)
        self._wait_for("Page.loadEventFired", session)
        time.sleep(0.5)  # late console messages and requests, if any
        self.send("Runtime.evaluate", session, expression="1")  # drains pending events
        visit = PageVisit()
        for event in self._events:
            if event.get("sessionId") != session:
                continue
            params = event.get("params", {})
            method = event.get("method")
            if method == "Network.requestWillBeSent":
                visit.requests.append(params["request"]["url"])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                visit.console_errors.append(" ".join(str(a.get("value", a.get("description"))) for a in params["args"]))
            elif method == "Runtime.exceptionThrown":
                visit.exceptions.append(params["exceptionDetails"].get("text", ""))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                visit.log_errors.append(params["entry"]["text"])
        # Laid out at the final width in a short window, so the page's own height shows.
        self.send("Emulation.setDeviceMetricsOverride", session, width=width, height=600,
                  deviceScaleFactor=1, mobile=False)
        height = int(self.evaluate(session, "document.documentElement.scrollHeight"))
        self.send("Emulation.setDeviceMetricsOverride", session, width=width, height=height,
                  deviceScaleFactor=1, mobile=False)
        shot = self.send("Page.captureScreenshot", session, format="png", captureBeyondViewport=True)
        with open(screenshot, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        return visit, session

    def evaluate(self, session: str, expression: str) -> Any:
        result = self.send("Runtime.evaluate", session, expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def close(self) -> None:
        try:
            self._ws.close()
        finally:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
            shutil.rmtree(self._profile, ignore_errors=True)
