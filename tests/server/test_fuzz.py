"""The API fuzzed from its own OpenAPI document (schemathesis, bounded): never a 5xx.

Served by a live uvicorn (in a thread) on the SQLite journal; only workflows that finish on
their own are served, since ``/run`` waits for the end and a failed run is a documented 500.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from server_flows import Greet, ThreeSteps

from reflow.server import SqliteWorkflowStore, WorkflowServer


def build_server(path: Path) -> WorkflowServer:
    server = WorkflowServer(
        workflow_store=SqliteWorkflowStore(path), sse_heartbeat_interval=0.2, max_body_bytes=4096
    )
    server.add_workflow("greet", Greet())
    server.add_workflow("three", ThreeSteps())
    return server


# The document only: the journal file is opened by start(), which this server never runs.
SCHEMA = schemathesis.openapi.from_dict(build_server(Path("never-opened.db")).openapi_schema())


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = build_server(tmp_path_factory.mktemp("fuzz") / "runs.db")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    live = uvicorn.Server(uvicorn.Config(server.app, log_level="error", lifespan="on"))
    thread = threading.Thread(target=lambda: asyncio.run(live.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not live.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    live.should_exit = True
    thread.join(20)
    sock.close()


@SCHEMA.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_no_5xx(case: Any, base_url: str) -> None:
    response = case.call(base_url=base_url, timeout=10)
    assert response.status_code < 500, (case.method, case.path, response.text[:300])
