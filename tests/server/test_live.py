"""A live uvicorn on 127.0.0.1 (free port): HTTP, WebSockets and auth end to end."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn
import websockets
from server_support import MakeServer

from reflow.client import WorkflowClient
from reflow.server import WorkflowServer

HUMAN = {"type": "HumanResponseEvent", "value": {"response": "ok"}}


@asynccontextmanager
async def serving(server: WorkflowServer) -> AsyncIterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(server.app, log_level="warning", lifespan="on")
    live = uvicorn.Server(config)
    task = asyncio.ensure_future(live.serve(sockets=[sock]))
    while not live.started:
        await asyncio.sleep(0.01)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        live.should_exit = True
        await task
        sock.close()


Serve = Callable[..., Any]


@pytest.fixture
def live(make_server: MakeServer) -> Serve:
    def start(**options: Any) -> Any:
        return serving(make_server(**options))

    return start


async def test_client_over_real_http(live: Serve) -> None:
    async with live(sse_heartbeat_interval=0.1) as address:
        client = WorkflowClient(base_url=f"http://{address}")
        started = await client.run_workflow_nowait("ask")

        async def answer() -> None:
            await asyncio.sleep(0.3)
            for _ in range(2):
                await client.send_event(started.handler_id, HUMAN)
                await asyncio.sleep(0.1)

        answering = asyncio.ensure_future(answer())
        types = [e.type async for e in client.get_workflow_events(started.handler_id)]
        await answering
        assert types[0] == "InputRequiredEvent" and types[-1] == "StopEvent"
        assert (await client.get_handler(started.handler_id)).status == "completed"
        await client.aclose()


async def receive(ws: Any) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), 10)))


async def test_websocket_streams_accepts_messages_and_survives_bad_ones(live: Serve) -> None:
    async with live() as address:
        async with httpx.AsyncClient(base_url=f"http://{address}") as http:
            await http.post("/workflows/ask/run-nowait", json={"handler_id": "w1"})
        async with websockets.connect(f"ws://{address}/ws/handlers/w1?after_sequence=-1") as ws:
            first = await receive(ws)
            assert first["type"] == "event" and first["sequence"] >= 0
            assert first["event"]["type"] == "InputRequiredEvent"
            await ws.send("{not json")
            assert (await receive(ws))["type"] == "error"
            await ws.send(json.dumps({"type": "dance"}))
            assert "unknown message type" in (await receive(ws))["detail"]
            await ws.send(json.dumps({"type": "send_event", "event": {"type": "Nope"}}))
            assert "unknown event type" in (await receive(ws))["detail"]
            await ws.send(json.dumps({"type": "ping"}))
            assert (await receive(ws)) == {"type": "pong"}
            await ws.send(json.dumps({"type": "send_event", "event": HUMAN}))
            seen: list[dict[str, Any]] = []
            while not seen or seen[-1]["type"] != "sent":
                seen.append(await receive(ws))
            resume_after = first["sequence"]
        # Resume from a cursor on a new socket: the same events, none repeated.
        url = f"ws://{address}/ws/handlers/w1?after_sequence={resume_after}"
        async with websockets.connect(url) as ws:
            await ws.send(json.dumps({"type": "send_event", "event": HUMAN}))
            messages = []
            while not messages or messages[-1]["type"] != "end":
                messages.append(await receive(ws))
        events = [m for m in messages if m["type"] == "event"]
        assert [m["sequence"] for m in events] == sorted({m["sequence"] for m in events})
        assert events[0]["sequence"] > resume_after
        assert events[-1]["event"]["type"] == "StopEvent"


async def test_websocket_cancel_and_status_socket(live: Serve) -> None:
    async with live() as address, websockets.connect(f"ws://{address}/ws/status") as status:
        async with httpx.AsyncClient(base_url=f"http://{address}") as http:
            await http.post("/workflows/ask/run-nowait", json={"handler_id": "w2"})
        running = await receive(status)
        assert running["type"] == "status" and running["handler"]["status"] == "running"
        async with websockets.connect(f"ws://{address}/ws/handlers/w2") as ws:
            await ws.send(json.dumps({"type": "cancel"}))
            kinds = []
            while not kinds or kinds[-1] not in ("cancelled", "end"):
                kinds.append((await receive(ws))["type"])
        changed = await receive(status)
        assert changed["handler"]["handler_id"] == "w2"
        assert changed["handler"]["status"] == "cancelled"


async def test_websocket_for_unknown_handler_says_so(live: Serve) -> None:
    async with live() as address, websockets.connect(f"ws://{address}/ws/handlers/nope") as ws:
        assert "not found" in (await receive(ws))["detail"]


async def test_bearer_token_guards_everything_but_health(live: Serve) -> None:
    async with live(auth_token="s3cret", cors_origins=["http://ui.local"]) as address:
        async with httpx.AsyncClient(base_url=f"http://{address}") as http:
            assert (await http.get("/health")).status_code == 200
            for path in ("/workflows", "/handlers", "/openapi.json"):
                response = await http.get(path)
                assert response.status_code == 401, path
                assert "bearer token" in response.json()["detail"]
            wrong = await http.get("/workflows", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            good = await http.get("/workflows", headers={"Authorization": "Bearer s3cret"})
            assert good.status_code == 200
            allowed = await http.options(
                "/workflows",
                headers={
                    "Origin": "http://ui.local",
                    "Access-Control-Request-Method": "GET",
                },
            )
            assert allowed.headers.get("access-control-allow-origin") == "http://ui.local"
            other = await http.get("/health", headers={"Origin": "http://evil.example"})
            assert "access-control-allow-origin" not in other.headers
        client = WorkflowClient(base_url=f"http://{address}", token="s3cret")
        assert (await client.list_workflows()).workflows
        await client.aclose()
        with pytest.raises(websockets.exceptions.InvalidStatus):
            async with websockets.connect(f"ws://{address}/ws/status"):
                pass
        async with websockets.connect(f"ws://{address}/ws/status?token=s3cret") as ws:
            await ws.send(json.dumps({"type": "ping"}))
            assert (await receive(ws)) == {"type": "pong"}


async def test_token_from_the_environment(
    make_server: MakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REFLOW_SERVER_TOKEN", "from-env")
    server = make_server()
    async with server.contextmanager():
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            assert (await http.get("/workflows")).status_code == 401
            headers = {"Authorization": "Bearer from-env"}
            assert (await http.get("/workflows", headers=headers)).status_code == 200


async def test_without_token_cors_echoes_any_origin(client: httpx.AsyncClient) -> None:
    response = await client.get("/health", headers={"Origin": "http://anywhere.test"})
    assert response.headers["access-control-allow-origin"] == "http://anywhere.test"
