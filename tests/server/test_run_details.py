"""A run's state, its start event and its event times (what the run page needs)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx
import websockets
from server_support import MakeServer
from test_live import receive, serving

from reflow import Context, Workflow, step
from reflow.events import StartEvent, StopEvent
from reflow.server import MemoryWorkflowStore, WorkflowServer
from reflow.server._store import PersistentHandler


class Count(Workflow):
    """Keeps a counter in its state."""

    @step
    async def count(self, ctx: Context, ev: StartEvent) -> StopEvent:
        await ctx.store.set("count", 3)
        await ctx.store.set("who", "ann")
        return StopEvent(result="counted")


def _serve(server: WorkflowServer) -> WorkflowServer:
    server.add_workflow("count", Count())
    return server


def _client(server: WorkflowServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=server.app), base_url="http://t")


async def test_state_of_a_finished_run(make_server: MakeServer) -> None:
    server = _serve(make_server())
    async with server.contextmanager(), _client(server) as client:
        done = (await client.post("/workflows/count/run", json={})).json()
        response = await client.get(f"/handlers/{done['handler_id']}/state")
        assert response.status_code == 200
        body = response.json()
        assert body["handler_id"] == done["handler_id"]
        data = json.dumps(body["state"])
        assert "count" in data and "ann" in data
        missing = await client.get("/handlers/nobody/state")
        assert missing.status_code == 404
        assert "nobody" in missing.json()["detail"]


async def test_start_event_runs_again(make_server: MakeServer) -> None:
    server = make_server()
    async with server.contextmanager(), _client(server) as client:
        done = await client.post("/workflows/greet/run", json={"start_event": {"name": "ann"}})
        handler_id = done.json()["handler_id"]
        response = await client.get(f"/handlers/{handler_id}/start-event")
        assert response.status_code == 200
        body = response.json()
        assert body["workflow_name"] == "greet"
        assert body["start_event"]["type"] == "GreetStart"
        assert body["start_event"]["value"]["name"] == "ann"
        again = await client.post("/workflows/greet/run", json={"start_event": body["start_event"]})
        assert again.status_code == 200
        assert again.json()["result"]["value"]["result"] == {"greeting": "hello ann"}
        assert (await client.get("/handlers/nobody/start-event")).status_code == 404


async def test_runs_not_started_here_answer_409() -> None:
    store = MemoryWorkflowStore()
    server = WorkflowServer(workflow_store=store)
    async with server.contextmanager(), _client(server) as client:
        await store.update(PersistentHandler(handler_id="h", workflow_name="x", status="failed"))
        for path in ("/handlers/h/state", "/handlers/h/start-event"):
            response = await client.get(path)
            assert response.status_code == 409
            assert "not kept" in response.json()["detail"]


async def test_both_routes_are_documented(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in ("/handlers/{handler_id}/state", "/handlers/{handler_id}/start-event"):
        assert set(paths[path]["get"]["responses"]) == {"200", "404", "409"}


async def test_the_run_socket_says_when_each_event_was_published(make_server: MakeServer) -> None:
    async with serving(make_server()) as address:
        async with httpx.AsyncClient(base_url=f"http://{address}") as client:
            started = await client.post("/workflows/three/run", json={})
        handler_id = started.json()["handler_id"]
        url = f"ws://{address}/ws/handlers/{handler_id}?after_sequence=-1"
        messages: list[dict[str, Any]] = []
        async with websockets.connect(url) as ws:
            while not messages or messages[-1]["type"] != "end":
                messages.append(await receive(ws))
        events = [m for m in messages if m["type"] == "event"]
        assert events and all("at" in m for m in events)
        times = [datetime.fromisoformat(m["at"]) for m in events]
        assert times == sorted(times)
        assert all(t.tzinfo is not None for t in times)


async def test_events_followed_live_carry_their_time(make_server: MakeServer) -> None:
    async with serving(make_server()) as address:
        async with httpx.AsyncClient(base_url=f"http://{address}") as client:
            started = await client.post("/workflows/ask/run-nowait", json={})
        url = f"ws://{address}/ws/handlers/{started.json()['handler_id']}?after_sequence=-1"
        seen: list[dict[str, Any]] = []
        async with websockets.connect(url) as ws:
            while not seen or seen[-1]["event"]["type"] != "InputRequiredEvent":
                message = await receive(ws)
                assert message["type"] == "event", message
                seen.append(message)
            await ws.send(json.dumps({"type": "cancel"}))
        assert all(datetime.fromisoformat(m["at"]).tzinfo is not None for m in seen)
