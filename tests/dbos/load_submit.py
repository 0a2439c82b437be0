"""Submit runs of ``LoadWorkflow`` to a cluster and exit: ``python load_submit.py DSN#SCHEMA JSON``.

JSON is a list of ``{"run_id": ..., **Load fields}``.  The runs are started, each start is
journaled, and the runtime is destroyed at once: the runs are released to the cluster's
workers (``reflow run --detach`` does the same for one run).  This process runs no ``work``
step: it launches before it registers the workflow, so it serves none of its queues.  Prints
``submitted``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys

import load_flows

from reflow.dbos import DBOSRuntime
from reflow.durable._queries import Lookup


async def main(db: str, runs: list[dict[str, object]]) -> None:
    dsn, schema = db.rsplit("#", 1)
    runtime = DBOSRuntime(dsn, schema=schema, auto_resume=False)
    # Launched before the workflow is registered: this process dequeues none of its steps
    # (DBOS fixes the queues it serves at launch); they go to the workers' queues.
    await runtime.launch()
    workflow = load_flows.LoadWorkflow(runtime=runtime, workflow_name="load", timeout=None)
    handlers = []
    for spec in runs:
        fields = dict(spec)
        run_id = str(fields.pop("run_id"))
        handler = workflow.run(run_id=run_id, start_event=load_flows.Load(**fields))  # type: ignore[arg-type]
        handlers.append(handler)
    for handler in handlers:
        for _ in range(1500):
            if await runtime.journal.call(Lookup(handler.run_id), write=False) is not None:
                break
            await asyncio.sleep(0.02)
    await runtime.destroy()
    for handler in handlers:  # settled by destroy(): "continues when a process launches"
        with contextlib.suppress(Exception):
            await handler
    print("submitted", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], json.loads(sys.argv[2])))
