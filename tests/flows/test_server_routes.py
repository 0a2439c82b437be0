"""Flows on the WorkflowServer: REST routes through the ASGI app, on the real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from tests.flows.conftest import edge, node
from tests.flows.test_dev import DOC

from reflow.flows import (
    BlockingNode,
    EmptyConfig,
    FlowServices,
    Payload,
    default_registry,
    flow_function,
)
from reflow.server import WorkflowServer

# The development-mode chain, its delay short unless the data asks for a long one.
CHAIN: dict[str, Any] = {
    **DOC,
    "nodes": [
        *DOC["nodes"][:3],
        node("4", "static-delay-node", {"interval": "{{ data.delay | default(0.01) }}"}),
    ],
}
TICKING: dict[str, Any] = {
    "nodes": [
        node("tick", "interval", {"seconds": 0.02}),
        node("t", "data-transformer", {"output_template": '"x"', "overwrite": False}),
    ],
    "edges": [edge("tick", "t")],
}
BROKEN = {"on": True}


@flow_function
def check(data: dict[str, Any]) -> str:
    if BROKEN["on"]:
        raise RuntimeError(f"cannot handle {data['counter']['current']}")
    return "fixed"


FAILING: dict[str, Any] = {
    "nodes": [
        node("1", "counter", {"min_value": 1, "max_value": 2}),
        node("f", "python-function", {"function": f"{__name__}:check"}),
    ],
    "edges": [edge("1", "f")],
}

Client = httpx.AsyncClient


@pytest.fixture
async def client(services: FlowServices) -> AsyncIterator[Client]:
    server = WorkflowServer()
    server.enable_flows(services)
    server.add_flow(CHAIN, name="chain")
    server.add_flow(TICKING, name="ticking")
    server.add_flow(FAILING, name="failing")
    async with server.contextmanager():
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def until(probe: Callable[[], Awaitable[bool]], tries: int = 500) -> None:
    for _ in range(tries):
        if await probe():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


async def status_is(client: Client, name: str, *wanted: str) -> bool:
    return (await client.get(f"/flows/{name}/status")).json()["status"] in wanted


async def test_load_validate_describe_and_remove(client: Client) -> None:
    listed = (await client.get("/flows")).json()["flows"]
    assert [f["name"] for f in listed] == ["chain", "ticking", "failing"]
    assert listed[0]["producers"] == ["1"] and listed[0]["status"] == "idle"
    bad = {"nodes": [node("a", "no-such-type"), node("a", "counter")], "edges": [edge("a", "z")]}
    checked = (await client.post("/flows/validate", json=bad)).json()
    assert checked["valid"] is False
    assert any(p["node_id"] == "a" and "no-such-type" in p["message"] for p in checked["problems"])
    assert any("z" in p["message"] for p in checked["problems"])
    assert (await client.post("/flows/validate", json=CHAIN)).json() == {
        "valid": True,
        "problems": [],
    }
    refused = await client.post("/flows?name=bad", json=bad)
    assert refused.status_code == 400 and refused.json()["problems"] == checked["problems"]
    malformed = await client.post("/flows?name=x", content=b"{nope")
    assert malformed.status_code == 400 and "not valid JSON" in malformed.json()["detail"]
    not_object = await client.post("/flows?name=x", json=[1])
    assert not_object.status_code == 400 and "got array" in not_object.json()["detail"]
    unnamed = await client.post("/flows", json=CHAIN)
    assert unnamed.status_code == 400 and "?name=" in unnamed.json()["detail"]
    yaml_text = "settings: {name: from-yaml}\nnodes:\n  - {id: c, type: counter}\nedges: []\n"
    loaded = await client.post(
        "/flows", content=yaml_text, headers={"content-type": "application/yaml"}
    )
    assert loaded.status_code == 201 and loaded.json()["name"] == "from-yaml"
    bad_yaml = await client.post(
        "/flows?name=y", content="nodes: [", headers={"content-type": "text/yaml"}
    )
    assert bad_yaml.status_code == 400 and "line" in bad_yaml.json()["detail"]
    shown = (await client.get("/flows/from-yaml")).json()
    assert shown["document"]["nodes"][0]["id"] == "c"
    missing = await client.get("/flows/nope")
    assert missing.status_code == 404 and "chain" in missing.json()["detail"]
    assert (await client.delete("/flows/from-yaml")).json() == {"status": "deleted"}
    assert (await client.get("/flows/from-yaml")).status_code == 404


async def test_production_runs_to_completion_and_reports_status(client: Client) -> None:
    started = await client.post("/flows/chain/start")
    assert started.status_code == 202 and started.json()["status"] in ("running", "completed")
    await until(lambda: status_is(client, "chain", "completed"))
    status = (await client.get("/flows/chain/status")).json()
    assert status["loops"]["1"]["iterations"] == 3 and status["loops"]["1"]["failed"] == 0
    routes = [c["route"] for c in status["completed_nodes"] if c["node_id"] == "3"]
    assert routes == ["no", "yes", "yes"]
    assert all(c["duration"] >= 0 for c in status["completed_nodes"])
    assert status["executing_nodes"] == {} and status["completed_at"] is not None
    bad = await client.post("/flows/chain/start", json={"max_iterations": 0})
    assert bad.status_code == 400 and "max_iterations" in bad.json()["detail"]
    again = await client.post("/flows/chain/start", json={"max_iterations": 1})
    assert again.status_code == 202
    await until(lambda: status_is(client, "chain", "completed"))
    assert (await client.get("/flows/chain/status")).json()["loops"]["1"]["iterations"] == 1


async def test_start_twice_is_a_conflict_and_stop_ends_the_loop(client: Client) -> None:
    assert (await client.post("/flows/ticking/start")).status_code == 202

    async def ticked() -> bool:
        status = (await client.get("/flows/ticking/status")).json()
        return bool(status["loops"].get("tick", {}).get("iterations", 0) >= 2)

    await until(ticked)
    twice = await client.post("/flows/ticking/start")
    assert twice.status_code == 409 and "already running" in twice.json()["detail"]
    busy = await client.delete("/flows/ticking")
    assert busy.status_code == 409
    stopped = await client.post("/flows/ticking/stop")
    assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"
    assert (await client.post("/flows/ticking/stop")).json()["status"] == "stopped"


async def test_development_mode_over_http(client: Client) -> None:
    upstream = await client.post("/flows/chain/dev/2", json={"session": "s"})
    assert upstream.status_code == 409 and "Run '1' first" in upstream.json()["detail"]
    first = await client.post("/flows/chain/dev/1", json={"session": "s"})
    assert first.status_code == 200 and first.json()["output"]["data"]["counter"]["current"] == 1
    second = (await client.post("/flows/chain/dev/2", json={"session": "s"})).json()
    assert second["output"]["data"]["data_transformer"] == {"n": 1}
    assert (await client.post("/flows/chain/dev/3", json={"session": "s"})).json()["route"] == "no"
    nine = {"input": {"data": {"data_transformer": {"n": 9}}}}
    given = await client.post("/flows/chain/dev/3", json=nine)
    assert given.json()["route"] == "yes" and given.json()["session"] == "default"
    slow = await client.post(
        "/flows/chain/dev/4", json={"timeout": 0.05, "input": {"data": {"delay": 10}}}
    )
    assert slow.status_code == 408 and "timed out" in slow.json()["detail"]
    failing = await client.post(
        "/flows/chain/dev/3", json={"input": {"data": {"data_transformer": "no mapping"}}}
    )
    assert failing.status_code == 422 and "'3'" in failing.json()["detail"]
    assert (await client.post("/flows/chain/dev/9")).status_code == 404
    for body, word in (
        ({"timeout": "soon"}, "timeout"),
        ({"input": [1]}, "input"),
        ({"session": 3}, "session"),
    ):
        answer = await client.post("/flows/chain/dev/1", json=body)
        assert answer.status_code == 400 and word in answer.json()["detail"]
    reset = (await client.delete("/flows/chain/dev?session=s")).json()
    assert reset == {"session": "s", "cleared": 3}
    assert (await client.post("/flows/chain/dev/2", json={"session": "s"})).status_code == 409


async def test_dead_letter_queue_list_show_replay_purge(client: Client) -> None:
    BROKEN["on"] = True
    await client.post("/flows/failing/start")
    await until(lambda: status_is(client, "failing", "completed"))
    listed = (await client.get("/flows/failing/dlq")).json()
    assert listed["total"] == 2
    oldest = listed["entries"][1]
    assert oldest["node_id"] == "f" and oldest["error_message"] == "cannot handle 1"
    page = (await client.get("/flows/failing/dlq?start=1&count=1")).json()
    assert [e["entry_id"] for e in page["entries"]] == [oldest["entry_id"]]
    bad_page = await client.get("/flows/failing/dlq?count=0")
    assert bad_page.status_code == 400 and "count" in bad_page.json()["detail"]
    shown = (await client.get(f"/flows/failing/dlq/{oldest['entry_id']}")).json()
    assert shown == oldest
    again = await client.post(f"/flows/failing/dlq/{oldest['entry_id']}/replay")
    assert again.status_code == 422 and "cannot handle 1" in again.json()["detail"]
    BROKEN["on"] = False
    replayed = await client.post(f"/flows/failing/dlq/{oldest['entry_id']}/replay")
    assert replayed.status_code == 200
    assert replayed.json()["result"]["outputs"]["f"]["python_function"] == "fixed"
    assert (await client.get(f"/flows/failing/dlq/{oldest['entry_id']}")).status_code == 404
    assert (await client.post("/flows/failing/dlq/nope/replay")).status_code == 404
    assert (await client.delete("/flows/failing/dlq")).json() == {"purged": 1}
    assert (await client.get("/flows/failing/dlq")).json() == {"entries": [], "total": 0}


async def test_redis_away_is_a_503_naming_it() -> None:
    server = WorkflowServer()
    server.enable_flows(FlowServices(redis_url="redis://127.0.0.1:1/0", prefix="x:"))
    server.add_flow(FAILING, name="failing")
    async with server.contextmanager():
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            answer = await client.get("/flows/failing/dlq")
            dev = await client.post("/flows/failing/dev/1")
    assert answer.status_code == 503 and "Redis is unavailable" in answer.json()["detail"]
    assert dev.status_code == 503


class BrokenSetup(BlockingNode[EmptyConfig]):
    """A node whose setup fails: the whole production run fails, not one iteration."""

    type_id = "broken-setup"
    config_model = EmptyConfig

    async def setup(self) -> None:
        raise RuntimeError("no database here")

    async def execute(self, payload: Payload, config: EmptyConfig) -> Payload:
        return payload


async def test_a_production_run_that_fails_reports_it_and_can_start_again(
    services: FlowServices,
) -> None:
    registry = default_registry().copy()
    registry.register(BrokenSetup)
    server = WorkflowServer()
    host = server.enable_flows(services, registry)
    doc = {"nodes": [node("1", "counter"), node("b", "broken-setup")], "edges": [edge("1", "b")]}
    loaded = host.load(doc, name="broken")
    server.add_flow(loaded)
    async with server.contextmanager():
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            queue = host.get("broken").state.subscribe()  # what a socket is sent
            assert (await client.post("/flows/broken/start")).status_code == 202
            await until(lambda: status_is(client, "broken", "failed"))
            sent = [queue.get_nowait() for _ in range(queue.qsize())]
            assert [m["type"] for m in sent if m is not None][-1] == "flow_failed"
            assert sent[-1] is not None and "no database here" in sent[-1]["error"]
            status = (await client.get("/flows/broken/status")).json()
            assert status["error"] == "RuntimeError: no database here"
            assert (await client.post("/flows/broken/start")).status_code == 202


async def test_the_openapi_document_describes_the_flow_routes(client: Client) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {"/flows", "/flows/{name}/start", "/flows/{name}/dev/{node_id}"} <= set(paths)
    assert "422" in paths["/flows/{name}/dlq/{entry_id}/replay"]["post"]["responses"]
    assert "problems" in str(paths["/flows"]["post"]["responses"]["400"])
    assert "/workflows" in paths  # the workflows' routes are still there
    plain = WorkflowServer().openapi_schema()["paths"]
    assert not any(path.startswith("/flows") for path in plain)
