"""``reflow serve`` serves the web UI at / unless told ``--no-ui`` (no browser needed)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.ui.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


def _serve(tmp_path: Path, *flags: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    command = [sys.executable, "-m", "reflow", "serve", "tests/ui/apps.py:quick",
               "--port", str(port), "--db", str(tmp_path / "runs.db"), *flags]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    pytest.fail(f"reflow serve did not answer on {url}: {process.communicate()[1][-2000:]}")


@pytest.mark.parametrize(("flags", "page_status"), [((), 200), (("--no-ui",), 404)])
def test_reflow_serve_ui_flag(tmp_path: Path, flags: tuple[str, ...], page_status: int) -> None:
    process, url = _serve(tmp_path, *flags)
    try:
        assert httpx.get(f"{url}/", timeout=5).status_code == page_status
        assert httpx.get(f"{url}/workflows", timeout=5).json() == {"workflows": ["quick"]}
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert ("Web UI: " in stderr) is (page_status == 200)
