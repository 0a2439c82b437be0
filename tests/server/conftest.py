"""Fixtures: a started server on each store, and an httpx client on its ASGI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_flows import all_workflows
from server_support import MakeServer

from reflow.server import MemoryWorkflowStore, SqliteWorkflowStore, WorkflowServer


@pytest.fixture(params=["memory", "sqlite"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_server(tmp_path: Path, store_kind: str) -> MakeServer:
    def make(**options: Any) -> WorkflowServer:
        if "workflow_store" not in options:
            options["workflow_store"] = (
                MemoryWorkflowStore()
                if store_kind == "memory"
                else SqliteWorkflowStore(tmp_path / "runs.db")
            )
        server = WorkflowServer(**options)
        for name, workflow in all_workflows().items():
            server.add_workflow(name, workflow)
        return server

    return make


@pytest.fixture
async def server(make_server: MakeServer) -> AsyncIterator[WorkflowServer]:
    server = make_server(sse_heartbeat_interval=0.2)
    async with server.contextmanager():
        yield server


@pytest.fixture
async def client(server: WorkflowServer) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=server.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
