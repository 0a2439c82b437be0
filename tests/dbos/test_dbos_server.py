"""The server on a DBOSRuntime: a client streams a run whose steps run on a worker process."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx
from cluster_flows import FanOut, hold_path, work_rows
from dbos_support import free_port, wait_healthy
from durable_support import worker_env
from test_dbos_cluster import FLOWS, start_cli_worker, stop

from reflow.dbos import DBOSRuntime
from reflow.server import WorkflowServer


async def test_a_client_streams_a_run_whose_steps_run_on_a_worker(
    dsn: str, schema: str, side: str
) -> None:
    hold = Path(hold_path(side))
    hold.touch()  # steps wait: the server runs one at a time, so the worker must take one
    worker = start_cli_worker(dsn, schema, "served")
    runtime = DBOSRuntime(dsn, schema=schema, poll_interval=0.05, concurrency=1)
    server = WorkflowServer(runtime=runtime)
    server.add_workflow("fan", FanOut(timeout=None))
    try:
        async with server.contextmanager():
            transport = httpx.ASGITransport(app=server.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                start = {"n": 4, "side": side, "tag": "http", "sleep": 0.1}
                started = await client.post(
                    "/workflows/fan/run-nowait", json={"start_event": start}
                )
                assert started.status_code == 200, started.text
                handler_id = started.json()["handler_id"]
                for _ in range(1500):
                    if worker.pid in {row[3] for row in work_rows(side)}:
                        break
                    await asyncio.sleep(0.02)
                hold.unlink()
                params = {"after_sequence": -1, "sse": "false"}
                lines = (await client.get(f"/events/{handler_id}", params=params)).text
                assert '"StopEvent"' in lines.splitlines()[-1]
                result = (await client.get(f"/results/{handler_id}")).json()
                assert result["status"] == "completed"
    finally:
        stop([worker])
    assert worker.pid in {row[3] for row in work_rows(side)}


async def test_reflow_serve_on_a_postgresql_url_joins_the_cluster(
    dsn: str, schema: str, side: str
) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "reflow.cli", "serve", f"{FLOWS}:served", "--port", str(port)]
    argv += ["--db", dsn, "--schema", schema]
    process = subprocess.Popen(argv, env=worker_env(), stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_healthy(base, process)
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            start = {"n": 2, "side": side, "tag": "serve", "sleep": 0.0}
            done = await client.post("/workflows/served/run", json={"start_event": start})
            assert done.status_code == 200, done.text
            assert done.json()["status"] == "completed"
    finally:
        process.terminate()
        process.communicate(timeout=30)
    observer = DBOSRuntime(dsn, schema=schema, distribute_steps=False, auto_resume=False)
    try:
        [info] = await observer.list_runs()
        assert (info.workflow, info.status) == ("served", "completed")
    finally:
        await observer.destroy()
