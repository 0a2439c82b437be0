"""Worker subprocesses for the DBOSRuntime tests (``dbos_worker.py``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import rows

HERE = Path(__file__).resolve().parent
SERVER_TESTS = str(HERE.parent / "server")
if SERVER_TESTS not in sys.path:
    sys.path.append(SERVER_TESTS)

from test_restart import free_port, wait_healthy  # noqa: E402  (the server tests' helpers)

__all__ = ["free_port", "journaled_executions", "start_worker", "wait_healthy"]


def start_worker(*args: str) -> subprocess.Popen[str]:
    from durable_support import worker_env

    return subprocess.Popen(
        [sys.executable, str(HERE / "dbos_worker.py"), *args],
        env=worker_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def journaled_executions(db: str) -> dict[str, int]:
    """attempt key -> the execution id inside the result the journal kept for it."""
    dsn, schema = db.rsplit("#", 1)
    found: dict[str, int] = {}
    for run_id, body in rows(dsn, schema, "SELECT run_id, body FROM ticks ORDER BY run_id, seq"):
        tick = json.loads(body)
        if tick["type"] != "step_returned" or not isinstance(tick["result"], dict):
            continue
        key = f"{run_id}:{tick['step_name']}:{tick['attempt_id']}"
        assert key not in found, f"two results journaled for {key}"
        found[key] = tick["result"]["value"]["exec_id"]
    return found
