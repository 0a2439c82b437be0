"""The durable tests' worker on a DBOSRuntime: ``python dbos_worker.py MODE DSN#SCHEMA ...``.

The modes are ``durable_worker``'s (crash, hitl, timers); only the runtime differs: the journal
argument is a PostgreSQL URL and a schema, joined by ``#``.  One mode of its own:

- ``fan DSN#SCHEMA SIDE RUNS N SLEEP``: start RUNS runs ``fan-{i}`` of ``FanOut`` with N items
  each, print ``started``, then their results as one JSON line.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "durable"))

import durable_worker

from reflow.dbos import DBOSRuntime


def on_postgres(db: str, **options: Any) -> DBOSRuntime:
    dsn, schema = db.rsplit("#", 1)
    return DBOSRuntime(dsn, schema=schema, **options)


async def fan(db: str, side: str, runs: int, n: int, sleep: float) -> None:
    import asyncio
    import json

    import cluster_flows

    # One step at a time per process: with num_workers=2 the second runs on a worker.
    runtime = on_postgres(db, lease_seconds=2.0, poll_interval=0.05, concurrency=1)
    workflow = cluster_flows.FanOut(runtime=runtime, timeout=None)
    await runtime.launch()
    handlers = [
        workflow.run(
            run_id=f"fan-{i}",
            start_event=cluster_flows.Fan(n=n, side=side, tag=f"fan-{i}", sleep=sleep),
        )
        for i in range(runs)
    ]
    durable_worker.say("started")
    results = await asyncio.gather(*handlers)
    durable_worker.say(json.dumps({h.run_id: r for h, r in zip(handlers, results, strict=True)}))
    await runtime.destroy()


if __name__ == "__main__":
    if sys.argv[1] == "fan":
        import asyncio

        db, side, runs, n, sleep = sys.argv[2:]
        asyncio.run(fan(db, side, int(runs), int(n), float(sleep)))
    else:
        # Crashy's steps all take a Context: nothing for DBOS to move, so leave it out.
        durable_worker.DurableRuntime = partial(on_postgres, distribute_steps=False)  # type: ignore[misc,assignment]
        durable_worker.main()
