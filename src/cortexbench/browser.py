"""Headless Chromium through the DevTools protocol over a pipe: open a page, read its DOM,
collect its console errors, take a full-page screenshot. Nothing beyond the standard library.

Chromium reads commands from its file descriptor 3 and writes replies to 4
(``--remote-debugging-pipe``), each a JSON message ended by a NUL byte.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import itertools
import json
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from cortexbench.errors import UserError

# Debian ships `chromium`; GitHub's Ubuntu runners have Google Chrome and Chromium.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_S = 60.0
HIGH_FD = 10  # the pipes are moved above the descriptors the child needs (3 and 4)


def find_chromium() -> str | None:
    """The Chromium (or Chrome) on PATH, or None."""
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


class Browser:
    """One headless Chromium; ``with Browser() as browser: page = browser.open(url)``."""

    def __init__(self, executable: str | None = None, timeout_s: float = TIMEOUT_S) -> None:
        executable = executable or find_chromium()
        if executable is None:
            raise UserError(f"no Chromium found (looked for {', '.join(CHROMIUM_NAMES)})")
        self.timeout_s = timeout_s
        self._profile = tempfile.TemporaryDirectory(prefix="cortexbench-chromium-")
        commands_read, self._commands = _pipe_above(HIGH_FD)
        self._replies, replies_write = _pipe_above(HIGH_FD)

        def wire() -> None:  # in the child: the pipe ends on the descriptors Chromium expects
            os.dup2(commands_read, 3)
            os.dup2(replies_write, 4)

        flags = [
            "--headless=new",
            "--remote-debugging-pipe",
            f"--user-data-dir={self._profile.name}",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-gpu",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--mute-audio",
        ]
        if os.geteuid() == 0:
            flags.append("--no-sandbox")  # Chromium refuses to run its sandbox as root
        self._process = subprocess.Popen(
            [executable, *flags, "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=wire,
            close_fds=False,  # keeps 3 and 4; Python opens every other descriptor close-on-exec
            start_new_session=True,  # its renderer processes go with it (close)
        )
        os.close(commands_read)
        os.close(replies_write)
        self._ids = itertools.count(1)
        self._inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._events: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(UserError, OSError):  # it may be gone already
            self.call("Browser.close", timeout_s=5)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)  # its own group (new session)
            self._process.wait()
        for fd in (self._commands, self._replies):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._profile.cleanup()

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        timeout_s: float | None = None,
    ) -> dict[str, Any]:
        """Send one command and wait for its reply; events that arrive meanwhile are kept."""
        number = next(self._ids)
        message: dict[str, Any] = {"id": number, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._next_message(f"the answer to {method}", timeout_s)
            if reply.get("id") == number:
                if "error" in reply:
                    raise UserError(f"Chromium: {method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            self._events.append(reply)

    def wait_for_event(self, method: str, session: str, timeout_s: float | None = None) -> None:
        """Until ``method`` has arrived for ``session`` (it may have arrived already)."""
        while not any(
            e.get("method") == method and e.get("sessionId") == session for e in self._events
        ):
            self._events.append(self._next_message(method, timeout_s))

    def _next_message(self, awaited: str, timeout_s: float | None) -> dict[str, Any]:
        """The next message from Chromium; one-line errors when it is late or gone."""
        try:
            reply = self._inbox.get(timeout=timeout_s or self.timeout_s)
        except queue.Empty:
            raise UserError(f"Chromium: no {awaited} in time")
        if reply is None:
            raise UserError(f"Chromium exited while waiting for {awaited}")
        return reply

    def events(self, session: str) -> list[dict[str, Any]]:
        return [e for e in self._events if e.get("sessionId") == session]

    def open(self, url: str, width: int = 1000, height: int = 800) -> Page:
        """A new tab at ``url``, loaded (its load event fired)."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable", session=session)
        page = Page(self, session, width)
        page.resize(height)
        self.call("Page.navigate", {"url": url}, session=session)
        self.wait_for_event("Page.loadEventFired", session)
        return page

    def _read(self) -> None:
        buffer = b""
        while chunk := _read_some(self._replies):
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            for message in messages:
                self._inbox.put(json.loads(message))
        self._inbox.put(None)


class Page:
    """One tab: evaluate script, read what the console said, take screenshots."""

    def __init__(self, browser: Browser, session: str, width: int) -> None:
        self.browser = browser
        self.session = session
        self.width = width

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.browser.call(method, params, session=self.session)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression (awaited when it is a promise), as JSON."""
        reply = self.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in reply:
            raise UserError(f"script failed: {reply['exceptionDetails'].get('text')}")
        return reply["result"].get("value")

    def wait_until(self, expression: str, timeout_s: float = 20.0) -> None:
        """Until ``expression`` is true in the page (polled by the page itself)."""
        script = (
            "new Promise((done, fail) => { const start = Date.now(); (function poll() {"
            f" if ({expression}) return done(true);"
            f" if (Date.now() - start > {int(timeout_s * 1000)}) return fail(new Error('timeout'));"
            " setTimeout(poll, 50); })(); })"
        )
        try:
            self.evaluate(script)
        except UserError:
            raise UserError(f"the page never showed {expression!r} within {timeout_s:g} s")

    def errors(self) -> list[str]:
        """What the page reported as errors: uncaught exceptions, console.error, failed loads."""
        found = []
        for event in self.browser.events(self.session):
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                found.append(details.get("exception", {}).get("description") or details["text"])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(
                    " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
                )
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                found.append(params["entry"].get("text", ""))
        return found

    def resize(self, height: int) -> None:
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": self.width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    def screenshot(
        self, path: str | os.PathLike[str], full_page: bool = True, max_height: int = 8000
    ) -> None:
        """A PNG of the whole page (up to ``max_height`` pixels) or, for a page that scrolls
        inside a window-sized layout (an app), of the window as it is; written atomically."""
        from cortexbench.atomic import write_with

        if full_page:
            self.resize(100)  # measured at the smallest height, the page is as tall as its content
            content = self.call("Page.getLayoutMetrics")["cssContentSize"]
            self.resize(min(max(int(content["height"]), 100), max_height))
        data = base64.b64decode(self.call("Page.captureScreenshot", {"format": "png"})["data"])
        write_with(path, lambda tmp: Path(tmp).write_bytes(data))


def _pipe_above(lowest: int) -> tuple[int, int]:
    """A pipe whose two ends are numbered ``lowest`` or above (so moving them to 3 and 4 in the
    child cannot overwrite one with the other)."""
    read, write = os.pipe()
    moved = tuple(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, lowest) for fd in (read, write))
    os.close(read)
    os.close(write)
    return moved[0], moved[1]


def _read_some(fd: int) -> bytes:
    try:
        return os.read(fd, 1 << 16)
    except OSError:
        return b""
