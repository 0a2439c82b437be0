"""``PostgresWorkflowStore`` on the real PostgreSQL (127.0.0.1:5432, database ``test``).

Each test session works in its own schema with a random suffix, dropped afterwards.  Under
``CI=true`` a missing server is a failure, never a skip.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from datetime import datetime, timezone

import asyncpg
import httpx
import pytest
from server_flows import Progress, all_workflows

from reflow.client.protocol import EventEnvelopeWithMetadata
from reflow.events import StopEvent
from reflow.server import HandlerQuery, PersistentHandler, PostgresWorkflowStore, WorkflowServer


async def _dsn() -> str | None:
    for user in ("postgres", "root"):
        dsn = f"postgresql://{user}@127.0.0.1:5432/test"
        try:
            conn = await asyncpg.connect(dsn, timeout=3)
        except Exception:
            continue
        await conn.close()
        return dsn
    return None


@pytest.fixture
async def pg() -> AsyncIterator[tuple[str, str]]:
    dsn = await _dsn()
    if dsn is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is not reachable at 127.0.0.1:5432 (database test)")
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    schema = f"reflow_server_{secrets.token_hex(4)}"
    yield dsn, schema
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def envelope(n: int) -> EventEnvelopeWithMetadata:
    return EventEnvelopeWithMetadata.from_event(Progress(n=n))


async def test_handlers_round_trip_and_filters(pg: tuple[str, str]) -> None:
    dsn, schema = pg
    store = PostgresWorkflowStore(dsn, schema=schema, pool_min_size=1, pool_max_size=2)
    try:
        now = datetime.now(timezone.utc)
        await store.update(
            PersistentHandler(
                handler_id="h1", workflow_name="w", status="running", run_id="r1", started_at=now
            )
        )
        await store.update(
            PersistentHandler(
                handler_id="h2",
                workflow_name="w",
                status="completed",
                run_id="r2",
                result=StopEvent(result={"a": 1}),
                started_at=now,
            )
        )
        done = await store.query(HandlerQuery(status_in=["completed"]))
        assert [h.handler_id for h in done] == ["h2"]
        assert done[0].result is not None and done[0].result.result == {"a": 1}
        assert await store.query(HandlerQuery(handler_id_in=[])) == []
        await store.update_handler_status("r1", status="failed", error="x")
        failed = (await store.query(HandlerQuery(run_id_in=["r1"])))[0]
        assert failed.status == "failed" and failed.completed_at is not None
        await store.append_event("r2", envelope(1))
        await store.append_tick("r2", {"kind": "tick"})
        assert await store.delete(HandlerQuery(handler_id_in=["h2"])) == 1
        assert await store.query_events("r2") == []
        assert await store.get_ticks("r2") == []
    finally:
        await store.close()


async def test_concurrent_writers_get_consecutive_sequences(pg: tuple[str, str]) -> None:
    dsn, schema = pg
    stores = [
        PostgresWorkflowStore(dsn, schema=schema, pool_min_size=1, pool_max_size=4)
        for _ in range(2)
    ]
    try:
        writes = [stores[i % 2].append_event("run", envelope(i)) for i in range(60)]
        await asyncio.gather(*writes)
        events = await stores[0].query_events("run")
        assert [e.sequence for e in events] == list(range(60))
        assert sorted(e.event.value["n"] for e in events) == list(range(60))
        after = await stores[1].query_events("run", after_sequence=49, limit=5)
        assert [e.sequence for e in after] == [50, 51, 52, 53, 54]
    finally:
        for store in stores:
            await store.close()


async def test_notify_wakes_a_subscriber_without_polling(pg: tuple[str, str]) -> None:
    dsn, schema = pg
    reader = PostgresWorkflowStore(dsn, schema=schema, poll_interval=60.0, pool_max_size=2)
    writer = PostgresWorkflowStore(dsn, schema=schema, pool_max_size=2)
    try:
        await writer.update(
            PersistentHandler(handler_id="h", workflow_name="w", status="running", run_id="r")
        )
        received: list[int] = []

        async def read() -> None:
            async for stored in reader.subscribe_events("r"):
                received.append(stored.sequence)

        task = asyncio.ensure_future(read())
        await asyncio.sleep(0.3)
        await writer.append_event("r", envelope(0))
        await writer.append_event("r", EventEnvelopeWithMetadata.from_event(StopEvent()))
        # With a 60 s poll interval only NOTIFY can end this within the wait.
        await asyncio.wait_for(task, 20)
        assert received == [0, 1]
    finally:
        await reader.close()
        await writer.close()


def pg_server(dsn: str, schema: str) -> WorkflowServer:
    server = WorkflowServer(workflow_store=PostgresWorkflowStore(dsn, schema=schema))
    for name, workflow in all_workflows().items():
        server.add_workflow(name, workflow)
    return server


async def test_server_runs_and_streams_on_postgres(pg: tuple[str, str]) -> None:
    dsn, schema = pg
    server = pg_server(dsn, schema)
    async with server.contextmanager():
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            done = await client.post("/workflows/three/run", json={})
            assert done.status_code == 200
            handler_id = done.json()["handler_id"]
            stream = await client.get(f"/events/{handler_id}", params={"after_sequence": -1})
            assert "Progress" in stream.text and "StopEvent" in stream.text
            listed = (await client.get("/handlers", params={"status": "completed"})).json()
            assert [h["handler_id"] for h in listed["handlers"]] == [handler_id]


async def test_stopping_the_server_records_cancelled_runs(pg: tuple[str, str]) -> None:
    dsn, schema = pg
    server = pg_server(dsn, schema)
    async with server.contextmanager():
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            await client.post("/workflows/ask/run-nowait", json={"handler_id": "left"})
    store = PostgresWorkflowStore(dsn, schema=schema)
    try:
        (left,) = await store.query(HandlerQuery(handler_id_in=["left"]))
        assert left.status == "cancelled"
    finally:
        await store.close()
