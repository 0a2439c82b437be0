"""Arm timers in released runs, then wait to be killed: ``python timers_armer.py DSN#SCHEMA SIDE``.

Starts the runs of the durable tests' timer workflows that wait without a step running (a
retry delay, a waiter's timeout, a delayed event), prints ``released`` once each has been
released from memory (no owner, its timer's due time in ``wake_at``), then sleeps.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "durable"))

import durable_flows as flows

from reflow.dbos import DBOSRuntime
from reflow.durable._queries import Lookup

RELEASED = ("retry", "wait", "delay")


async def main(db: str, side: str) -> None:
    dsn, schema = db.rsplit("#", 1)
    runtime = DBOSRuntime(dsn, schema=schema, release_idle_after=0.0, distribute_steps=False)
    workflows = flows.timer_workflows(runtime)
    await runtime.launch()
    for name in RELEASED:
        workflows[name].run(run_id=f"timer-{name}", side=side)
    for name in RELEASED:
        for _ in range(1500):
            row = await runtime.journal.call(Lookup(f"timer-{name}"), write=False)
            if row is not None and row.owner is None and row.wake_at is not None:
                break
            await asyncio.sleep(0.01)
    print("released", flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
