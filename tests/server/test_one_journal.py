"""``SqliteWorkflowStore`` is the durable journal: runs cross between the CLI/runtime and HTTP."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from server_flows import Ask, ThreeSteps

from reflow.durable import DurableRuntime
from reflow.server import SqliteWorkflowStore, WorkflowServer

HUMAN = {"type": "HumanResponseEvent", "value": {"response": "ok"}}


async def test_a_runtime_started_run_is_served_and_server_runs_are_in_the_journal(
    tmp_path: Path,
) -> None:
    db = tmp_path / "runs.db"
    runtime = DurableRuntime(db, poll_interval=0.02)
    Ask(runtime=runtime, workflow_name="ask", timeout=None).run(run_id="from-cli")
    for _ in range(200):
        if [r for r in await runtime.list_runs() if r.waiting_on]:
            break
        await asyncio.sleep(0.02)
    await runtime.destroy()

    server = WorkflowServer(workflow_store=SqliteWorkflowStore(db))
    server.add_workflow("ask", Ask(timeout=None))
    server.add_workflow("three", ThreeSteps())
    async with server.contextmanager():
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            listed = (await client.get("/handlers")).json()["handlers"]
            assert [(h["handler_id"], h["status"]) for h in listed] == [("from-cli", "running")]
            for _ in range(2):
                sent = await client.post("/events/from-cli", json={"event": HUMAN})
                assert sent.status_code == 200
                await asyncio.sleep(0.1)
            params = {"after_sequence": -1, "sse": "false"}
            lines = (await client.get("/events/from-cli", params=params)).text.splitlines()
            assert '"StopEvent"' in lines[-1] and "ok+ok" in lines[-1]
            done = await client.post("/workflows/three/run", json={"handler_id": "over-http"})
            assert done.status_code == 200

    reader = DurableRuntime(db)
    try:
        runs = {run.run_id: run for run in await reader.list_runs()}
        assert runs["from-cli"].status == "completed"
        assert runs["over-http"].workflow == "three" and runs["over-http"].status == "completed"
        events = [stored.seq async for stored in reader.stream_events("over-http", follow=False)]
        assert events == list(range(1, len(events) + 1)), "one numbered stream, no second log"
    finally:
        await reader.destroy()


async def test_runs_of_workflows_not_served_are_listed_but_not_cancelled(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    runtime = DurableRuntime(db, poll_interval=0.02)
    Ask(runtime=runtime, workflow_name="elsewhere", timeout=None).run(run_id="foreign")
    for _ in range(200):
        if await runtime.list_runs():
            break
        await asyncio.sleep(0.02)
    await runtime.destroy()
    server = WorkflowServer(workflow_store=SqliteWorkflowStore(db))
    async with server.contextmanager():
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/handlers/foreign")).status_code == 202
            cancel = await client.post("/handlers/foreign/cancel")
            assert cancel.status_code == 409 and "not registered" in cancel.json()["detail"]


async def test_a_waiting_run_is_released_from_memory_and_answered_later(tmp_path: Path) -> None:
    store = SqliteWorkflowStore(tmp_path / "runs.db", release_idle_after=0.05)
    server = WorkflowServer(workflow_store=store)
    server.add_workflow("ask", Ask(timeout=None))
    async with server.contextmanager():
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            await client.post("/workflows/ask/run-nowait", json={"handler_id": "parked"})
            for _ in range(300):
                info = await store.runtime.get_run("parked")
                if info.owner is None:  # released: no process holds it, no task runs it
                    break
                await asyncio.sleep(0.02)
            assert info.owner is None and info.waiting_on
            assert (await client.get("/handlers/parked")).json()["status"] == "running"
            for _ in range(2):
                await client.post("/events/parked", json={"event": HUMAN})
                await asyncio.sleep(0.15)
            params = {"after_sequence": -1, "sse": "false"}
            lines = (await client.get("/events/parked", params=params)).text.splitlines()
            assert "ok+ok" in lines[-1]
