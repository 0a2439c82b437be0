"""Every route through the ASGI app, on the memory store and on the SQLite journal."""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import pytest
from server_support import MakeServer

from reflow.server import WorkflowServer


async def test_health_is_unhealthy_until_started(make_server: MakeServer) -> None:
    server = make_server()
    transport = httpx.ASGITransport(app=server.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/health")
        assert (response.status_code, response.json()) == (503, {"status": "unhealthy"})
        async with server.contextmanager():
            response = await client.get("/health")
            assert (response.status_code, response.json()) == (200, {"status": "healthy"})


async def test_list_workflows(client: httpx.AsyncClient) -> None:
    response = await client.get("/workflows")
    assert response.json() == {"workflows": ["three", "greet", "ask", "fails", "slow"]}


async def test_run_waits_and_answers_the_handler(client: httpx.AsyncClient) -> None:
    response = await client.post("/workflows/three/run", json={})
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "completed"
    assert data["workflow_name"] == "three"
    assert data["result"] == {
        "value": {"result": "done 2"},
        "type": "StopEvent",
        "types": None,
        "qualified_name": "reflow.events.StopEvent",
    }
    assert data["completed_at"] is not None and data["error"] is None


async def test_run_with_start_event_fields_kwargs_and_envelope(client: httpx.AsyncClient) -> None:
    bodies = [
        {"start_event": {"name": "ada"}},
        {"kwargs": {"name": "ada"}},
        {"start_event": json.dumps({"name": "ada"})},
        {"start_event": {"type": "GreetStart", "value": {"name": "ada"}}},
        {
            "start_event": {
                "qualified_name": "server_flows.GreetStart",
                "type": "Nope",
                "value": {"name": "ada"},
            }
        },
    ]
    for body in bodies:
        response = await client.post("/workflows/greet/run", json=body)
        assert response.status_code == 200, (body, response.text)
        assert response.json()["result"]["value"] == {"result": {"greeting": "hello ada"}}


async def test_failed_run_is_500_with_the_error(client: httpx.AsyncClient) -> None:
    response = await client.post("/workflows/fails/run", json={})
    assert response.status_code == 500
    data = response.json()
    assert data["status"] == "failed"
    assert "boom went the step" in data["error"]
    again = await client.get(f"/handlers/{data['handler_id']}")
    assert again.status_code == 500 and again.json()["status"] == "failed"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"kwargs": 3}', "'kwargs' must be a JSON object"),
        (b'{"kwargs": {"name": 3}}', "GreetStart"),
        (b'{"start_event": 7}', "'start_event' must be an object"),
        (b'{"start_event": "{oops"}', "not valid JSON"),
        (b'{"start_event": {"type": "StopEvent", "value": {}}}', "expects GreetStart"),
        (b'{"start_event": {"type": "Nope", "value": {}}}', "unknown event type 'Nope'"),
        (b'{"handler_id": 5}', "'handler_id' must be a string"),
        (b'{"context": {"a": 1}}', "accept_context_api"),
    ],
)
async def test_bad_run_bodies_are_400_naming_the_problem(
    client: httpx.AsyncClient, body: bytes, needle: str
) -> None:
    response = await client.post(
        "/workflows/greet/run-nowait", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert needle in response.json()["detail"]


async def test_unknown_workflow_is_404(client: httpx.AsyncClient) -> None:
    for path in ("/run", "/run-nowait"):
        response = await client.post(f"/workflows/nope{path}", json={})
        assert response.status_code == 404 and "nope" in response.json()["detail"]
    for path in ("/schema", "/representation", "/events"):
        assert (await client.get(f"/workflows/nope{path}")).status_code == 404


async def test_oversized_body_is_413(make_server: MakeServer) -> None:
    server = make_server(max_body_bytes=100)
    async with server.contextmanager():
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.post(
                "/workflows/greet/run", json={"start_event": {"name": "x" * 200}}
            )
            assert response.status_code == 413
            assert "100" in response.json()["detail"]


async def test_run_nowait_then_handler_codes(client: httpx.AsyncClient) -> None:
    response = await client.post("/workflows/ask/run-nowait", json={"handler_id": "h-1"})
    assert response.status_code == 200
    assert response.json()["status"] == "running"
    assert response.json()["handler_id"] == "h-1"
    assert (await client.get("/handlers/h-1")).status_code == 202
    again = await client.post("/workflows/ask/run-nowait", json={"handler_id": "h-1"})
    assert again.status_code == 409
    assert (await client.get("/handlers/missing")).status_code == 404


async def test_schema_representation_and_events(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/workflows/greet/schema")).json()
    assert schema["start"]["title"] == "GreetStart"
    assert "name" in schema["start"]["properties"]
    assert schema["stop"]["title"] == "StopEvent"
    graph = (await client.get("/workflows/three/representation")).json()["graph"]
    assert {"first", "second", "third"} <= {n.get("label") or n.get("id") for n in graph["nodes"]}
    titles = {e["title"] for e in (await client.get("/workflows/three/events")).json()["events"]}
    assert {"Mid", "Progress", "StopEvent", "HumanResponseEvent"} <= titles


async def test_additional_events_extend_the_registry(make_server: MakeServer) -> None:
    from reflow.events import Event

    class Extra(Event):
        note: str

    from server_flows import Ask

    server = make_server()
    server.add_workflow("ask2", Ask(), additional_events=[Extra])
    async with server.contextmanager():
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            events = (await client.get("/workflows/ask2/events")).json()["events"]
            assert "Extra" in {e["title"] for e in events}


async def test_handlers_filters(client: httpx.AsyncClient) -> None:
    await client.post("/workflows/three/run", json={})
    await client.post("/workflows/fails/run", json={})
    await client.post("/workflows/ask/run-nowait", json={"handler_id": "waiting"})
    listed = (await client.get("/handlers")).json()["handlers"]
    assert len(listed) == 3
    running = (await client.get("/handlers", params={"status": "running"})).json()["handlers"]
    assert [h["handler_id"] for h in running] == ["waiting"]
    both = await client.get("/handlers", params=[("status", "completed"), ("status", "failed")])
    assert {h["workflow_name"] for h in both.json()["handlers"]} == {"three", "fails"}
    assert (await client.get("/handlers", params={"status": "bogus"})).json()["handlers"] == []
    # The peer's client sends an empty workflow_name for "any workflow".
    empty = await client.get("/handlers", params={"status": "running", "workflow_name": ""})
    assert [h["handler_id"] for h in empty.json()["handlers"]] == ["waiting"]
    named = await client.get("/handlers", params={"workflow_name": "fails"})
    assert [h["status"] for h in named.json()["handlers"]] == ["failed"]


async def test_results_unwraps_the_plain_stop_event(client: httpx.AsyncClient) -> None:
    handler_id = (await client.post("/workflows/three/run", json={})).json()["handler_id"]
    response = await client.get(f"/results/{handler_id}")
    assert response.status_code == 200 and response.json()["result"] == "done 2"


async def test_cancel_and_purge(client: httpx.AsyncClient) -> None:
    await client.post("/workflows/ask/run-nowait", json={"handler_id": "c1"})
    response = await client.post("/handlers/c1/cancel")
    assert response.json() == {"status": "cancelled"}
    data = (await client.get("/handlers/c1")).json()
    assert data["status"] == "cancelled"
    assert (await client.post("/handlers/c1/cancel")).status_code == 404
    response = await client.post("/handlers/c1/cancel", params={"purge": "true"})
    assert response.json() == {"status": "deleted"}
    assert (await client.get("/handlers/c1")).status_code == 404
    assert (await client.post("/handlers/nope/cancel")).status_code == 404
    bad = await client.post("/handlers/c1/cancel", params={"purge": "maybe"})
    assert bad.status_code == 400


async def test_send_event_answers_a_waiting_run(client: httpx.AsyncClient) -> None:
    await client.post("/workflows/ask/run-nowait", json={"handler_id": "s1"})
    for answer, body in (
        ("a", {"event": {"type": "HumanResponseEvent", "value": {"response": "a"}}}),
        ("b", {"event": json.dumps({"type": "HumanResponseEvent", "data": {"response": "b"}})}),
    ):
        response = await client.post("/events/s1", json=body)
        assert response.json() == {"status": "sent"}, answer
        await asyncio.sleep(0.05)
    for _ in range(100):
        data = (await client.get("/handlers/s1")).json()
        if data["status"] != "running":
            break
        await asyncio.sleep(0.02)
    assert data["result"]["value"] == {"result": "a+b"}
    late = await client.post(
        "/events/s1", json={"event": {"type": "HumanResponseEvent", "value": {"response": "c"}}}
    )
    assert late.status_code == 409


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({}, "'event' is required"),
        ({"event": None}, "'event' is required"),
        ({"event": 3}, "must be an object"),
        ({"event": "{x"}, "not valid JSON"),
        ({"event": {"value": {}}}, "needs a 'type'"),
        ({"event": {"type": "Nope"}}, "unknown event type 'Nope'"),
        ({"event": {"type": "Poke", "value": {"x": "y"}}}, "invalid fields for Poke"),
        ({"event": {"type": "Poke", "value": []}}, "event.value must be an object"),
        ({"event": {"type": 4}}, "event.type must be a string"),
        ({"event": {"type": "Poke", "value": {"x": 1}}, "step": 3}, "'step' must be a string"),
    ],
)
async def test_bad_events_are_400(client: httpx.AsyncClient, body: object, needle: str) -> None:
    await client.post("/workflows/slow/run-nowait", json={"handler_id": "b1"})
    response = await client.post("/events/b1", json=body)
    assert response.status_code == 400, response.text
    assert needle in response.json()["detail"]


async def test_send_to_unknown_handler_is_404(client: httpx.AsyncClient) -> None:
    body = {"event": {"type": "HumanResponseEvent", "value": {"response": "x"}}}
    assert (await client.post("/events/nope", json=body)).status_code == 404


async def test_openapi_document_lists_every_route(
    client: httpx.AsyncClient, server: WorkflowServer
) -> None:
    document = (await client.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    http_routes = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    served = {
        (method, re.sub(r":\w+}", "}", route.path))  # {path:path} is {path} in OpenAPI
        for route in server.app.routes
        for method in getattr(route, "methods", None) or ()
        if method != "HEAD" and route.path != "/openapi.json"
    }
    assert served == http_routes


async def test_store_writes_are_retried_with_the_backoff() -> None:
    from server_flows import ThreeSteps

    from reflow.client.protocol import EventEnvelopeWithMetadata
    from reflow.server import MemoryWorkflowStore

    class Flaky(MemoryWorkflowStore):
        failures = 0

        async def append_event(self, run_id: str, envelope: EventEnvelopeWithMetadata) -> None:
            if self.failures < 2:
                self.failures += 1
                raise ConnectionError("store unavailable")
            await super().append_event(run_id, envelope)

    store = Flaky()
    server = WorkflowServer(workflow_store=store, persistence_backoff=[0.01, 0.01, 0.01])
    server.add_workflow("three", ThreeSteps())
    async with server.contextmanager():
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            done = await client.post("/workflows/three/run", json={})
            assert done.json()["status"] == "completed"
            handler_id = done.json()["handler_id"]
            params = {"after_sequence": -1, "include_internal": "true", "sse": "false"}
            lines = (await client.get(f"/events/{handler_id}", params=params)).text.splitlines()
    assert store.failures == 2
    assert json.loads(lines[-1])["type"] == "StopEvent"


async def test_context_api_resumes_a_run_from_its_snapshot(make_server: MakeServer) -> None:
    from server_flows import Ask

    from reflow.events import HumanResponseEvent

    workflow = Ask(timeout=None)
    handler = workflow.run()
    async for event in handler.stream_events():
        if type(event).__name__ == "InputRequiredEvent":
            await handler.send_event(HumanResponseEvent(response="first"))
        if type(event).__name__ == "Progress":
            break
    assert handler.ctx is not None
    snapshot = handler.ctx.to_dict()
    await handler.cancel_run()

    server = make_server(accept_context_api=True)
    async with server.contextmanager():
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            started = await client.post(
                "/workflows/ask/run-nowait", json={"context": snapshot, "handler_id": "resumed"}
            )
            assert started.status_code == 200, started.text
            await asyncio.sleep(0.2)
            await client.post(
                "/events/resumed",
                json={"event": {"type": "HumanResponseEvent", "value": {"response": "second"}}},
            )
            for _ in range(100):
                data = (await client.get("/handlers/resumed")).json()
                if data["status"] != "running":
                    break
                await asyncio.sleep(0.02)
            assert data["result"]["value"] == {"result": "first+second"}
            bad = await client.post("/workflows/ask/run-nowait", json={"context": {"version": 999}})
            assert bad.status_code == 400 and "unsupported version" in bad.json()["detail"]
            wrong = await client.post("/workflows/ask/run-nowait", json={"context": [1]})
            assert wrong.status_code == 400 and "must be a JSON object" in wrong.json()["detail"]
