"""The server on a DBOSRuntime: a client streams a run whose steps run on a worker process."""

from __future__ import annotations

import httpx
from cluster_flows import FanOut, work_rows
from test_dbos_cluster import start_cli_worker, stop

from reflow.dbos import DBOSRuntime
from reflow.server import WorkflowServer


async def test_a_client_streams_a_run_whose_steps_run_on_a_worker(
    dsn: str, schema: str, side: str
) -> None:
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
                params = {"after_sequence": -1, "sse": "false"}
                lines = (await client.get(f"/events/{handler_id}", params=params)).text
                assert '"StopEvent"' in lines.splitlines()[-1]
                result = (await client.get(f"/results/{handler_id}")).json()
                assert result["status"] == "completed"
    finally:
        stop([worker])
    assert worker.pid in {row[3] for row in work_rows(side)}
