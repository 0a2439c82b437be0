"""A flow's WebSocket on a live uvicorn (127.0.0.1, free port), with the server's auth."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from click.testing import CliRunner
from tests.flows.test_server_routes import CHAIN, FAILING
from tests.live_server import live_app

from reflow.cli import main
from reflow.flows import FlowServices
from reflow.server import WorkflowServer

TOKEN = "flow-secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@asynccontextmanager
async def serving(services: FlowServices) -> AsyncIterator[str]:
    server = WorkflowServer(auth_token=TOKEN)
    server.enable_flows(services)  # the test's key prefix
    server.add_flow(CHAIN, name="chain")
    server.add_flow(FAILING, name="failing")
    async with live_app(server.app) as address:
        yield address


async def receive(ws: Any) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), 30)))


async def messages_until(ws: Any, last: str) -> list[dict[str, Any]]:
    seen = []
    while True:
        message = await receive(ws)
        seen.append(message)
        if message["type"] == last:
            return seen


async def test_socket_snapshot_node_messages_ping_and_errors(services: FlowServices) -> None:
    async with serving(services) as address:
        async with httpx.AsyncClient(base_url=f"http://{address}") as http:
            assert (await http.get("/flows")).status_code == 401
            with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
                async with websockets.connect(f"ws://{address}/ws/flows/chain"):
                    pass
            assert refused.value.response.status_code == 403
            url = f"ws://{address}/ws/flows/chain?token={TOKEN}"
            async with websockets.connect(url) as ws:
                snapshot = await receive(ws)
                assert snapshot["type"] == "state_sync"
                assert snapshot["state"]["status"] == "idle"
                assert snapshot["state"]["total_nodes"] == 4
                await ws.send(json.dumps({"type": "ping"}))
                assert await receive(ws) == {"type": "pong"}
                await ws.send("not json")
                assert (await receive(ws))["type"] == "error"
                await ws.send("[1]")
                assert "object" in (await receive(ws))["detail"]
                await ws.send(json.dumps({"type": "dance"}))
                assert "'dance'" in (await receive(ws))["detail"]
                await ws.send(json.dumps({"type": "ping"}))  # still open after the errors
                assert await receive(ws) == {"type": "pong"}
                started = await http.post("/flows/chain/start", headers=AUTH)
                assert started.status_code == 202
                seen = await messages_until(ws, "flow_completed")
        kinds = [m["type"] for m in seen]
        assert kinds[0] == "flow_started"
        # 3 iterations of 3 nodes, node 4 twice, and the producer saying it is done.
        assert kinds.count("node_started") == kinds.count("node_completed") == 3 * 3 + 2 + 1
        conditions = [m for m in seen if m["type"] == "node_completed" and m["node_id"] == "3"]
        assert [m["route"] for m in conditions] == ["no", "yes", "yes"]
        assert all(m["duration"] >= 0 for m in seen if m["type"] == "node_completed")
        assert all("started_at" in m for m in seen if m["type"] == "node_started")
        assert seen[-1]["status"] == "completed" and seen[-1]["iterations"] == 3


async def test_socket_reports_failures_and_unknown_flows(services: FlowServices) -> None:
    async with serving(services) as address:
        async with websockets.connect(f"ws://{address}/ws/flows/nope?token={TOKEN}") as ws:
            answer = await receive(ws)
            assert answer["type"] == "error" and "'nope'" in answer["detail"]
        async with httpx.AsyncClient(base_url=f"http://{address}", headers=AUTH) as http:
            url = f"ws://{address}/ws/flows/failing?token={TOKEN}"
            async with websockets.connect(url) as ws:
                assert (await receive(ws))["type"] == "state_sync"
                await http.post("/flows/failing/start")
                seen = await messages_until(ws, "flow_completed")
                failed = [m for m in seen if m["type"] == "node_failed"]
                assert [m["node_id"] for m in failed] == ["f", "f"]
                assert "cannot handle 1" in failed[0]["error"]
                assert [m["type"] for m in seen].count("iteration_failed") == 2
                dev = await http.post("/flows/failing/dev/1")
                assert dev.status_code == 200
                assert (await receive(ws))["type"] == "node_started"
                done = await receive(ws)
                assert done["type"] == "node_completed" and done["dev"] is True
                await ws.send(json.dumps({"type": "request_state"}))
                state = (await receive(ws))["state"]
                assert state["status"] == "completed" and state["loops"]["1"]["dead_lettered"] == 2
            await http.delete("/flows/failing/dlq")


def test_reflow_serve_refuses_a_broken_flow_document(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"nodes": [{"id": "a", "type": "no-such-type"}], "edges": []}))
    result = CliRunner().invoke(main, ["serve", str(broken), "--db", str(tmp_path / "r.db")])
    assert result.exit_code == 1 and "no-such-type" in result.output and "'a'" in result.output


async def test_reflow_serve_serves_a_flow_document(tmp_path: Path, prefix: str) -> None:
    document = tmp_path / "chain.json"
    document.write_text(json.dumps({**CHAIN, "settings": {"name": "chain"}}))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    command = [sys.executable, "-m", "reflow", "serve", str(document), "--port", str(port)]
    command += ["--db", str(tmp_path / "runs.db"), "--prefix", prefix]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(300):
                assert process.poll() is None, "reflow serve exited"
                try:
                    if (await http.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
            assert [f["name"] for f in (await http.get("/flows")).json()["flows"]] == ["chain"]
            dev = await http.post("/flows/chain/dev/1")
            assert dev.json()["output"]["data"]["counter"]["current"] == 1
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 20)
