"""A live server on 127.0.0.1 and one Chromium per module (Debian's, not a download).

Under CI=true a missing Chromium or Playwright fails the tests; elsewhere they are skipped.
A failing test leaves a screenshot in ``<tmp>/reflow-ui-failures``.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.ui.apps import served

from reflow.server import SqliteWorkflowStore, WorkflowServer

SCREENSHOTS = Path(tempfile.gettempdir()) / "reflow-ui-failures"


def system_chromium() -> str | None:
    for candidate in (
        os.environ.get("REFLOW_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def _missing(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing; the browser tests need it under CI=true")
    pytest.skip(f"{what} is not installed")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """A ``WorkflowServer`` under uvicorn in a thread; ``stop()`` and ``start()`` again keep
    the port and the journal, so a page can watch it go away and come back."""

    db: Path
    port: int
    token: str | None = None
    _thread: threading.Thread | None = None
    _uvicorn: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        import uvicorn

        server = WorkflowServer(
            workflow_store=SqliteWorkflowStore(str(self.db)), auth_token=self.token
        )
        for name, workflow in served().items():
            server.add_workflow(name, workflow)
        config = uvicorn.Config(server.app, host="127.0.0.1", port=self.port, log_level="warning")
        self._uvicorn = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._uvicorn.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._uvicorn.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the test server did not start on {self.url}")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._uvicorn is not None and self._thread is not None:
            self._uvicorn.should_exit = True
            self._thread.join(15)
            self._uvicorn = self._thread = None


# One browser per test module, not per session: while the sync Playwright driver is open its
# event loop counts as running in this thread, and pytest-asyncio could not run the async tests
# that pytest-xdist may give this worker next.  Module fixtures end before the next module.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright (pip install playwright)")
    executable = system_chromium()
    if executable is None:
        _missing("Chromium (apt-get install --no-install-recommends chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path_factory.mktemp("ui") / "runs.db", free_port())
    server.start()
    yield server
    server.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash[_FAILED] = report.failed


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    if request.node.stash.get(_FAILED, False):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{request.node.name}.png"
        opened.screenshot(path=str(path), full_page=True)
        print(f"screenshot of the failure: {path}")
    context.close()
