"""Run in the peer's venv (``.bench-dbos-venv``): 3-step runs/s on the peer's DBOS runtime.

    python _dbos_peer_child.py DSN SCHEMA COUNT

Prints one JSON line ``{"runs_per_s": ...}``.  The workflow is ``ThreeSteps`` of
``benchmarks._distributed_flows`` written against the peer's API (this file imports nothing of
reflow: the peer's venv does not have it).  The caller drops the schemas afterwards.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from dbos import DBOS
from llama_agents.dbos import DBOSRuntime
from workflows import Workflow, step
from workflows.events import Event, StartEvent, StopEvent


class One(Event):
    n: int


class Two(Event):
    n: int


class ThreeSteps(Workflow):
    @step
    async def first(self, ev: StartEvent) -> One:
        return One(n=ev.n + 1)

    @step
    async def second(self, ev: One) -> Two:
        return Two(n=ev.n + 1)

    @step
    async def third(self, ev: Two) -> StopEvent:
        return StopEvent(result=ev.n + 1)


async def main(dsn: str, schema: str, count: int) -> None:
    DBOS(
        config={
            "name": "reflow-bench-peer",
            "system_database_url": dsn,
            "dbos_system_schema": f"{schema}_dbos",
            "log_level": "WARNING",
        }
    )
    runtime = DBOSRuntime(schema=schema, polling_interval_sec=0.05)
    workflow = ThreeSteps(runtime=runtime, timeout=None)
    await runtime.launch()
    try:
        started = time.perf_counter()
        for start in range(0, count, 50):  # 50 runs in flight at a time, as for reflow
            batch = range(start, min(count, start + 50))
            results = await asyncio.gather(*(workflow.run(n=i) for i in batch))
            assert list(results) == [i + 3 for i in batch], results
        rate = count / (time.perf_counter() - started)
    finally:
        await runtime.destroy()
    print(json.dumps({"runs_per_s": rate}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
