"""A worker process for the durable tests: ``python durable_worker.py MODE DB SIDE [ARGS]``.

Modes:

- ``crash DB SIDE N WAVES``: launch (resuming what the journal holds), start runs ``w{W}-{i}``
  of ``Crashy`` for every wave W up to WAVES and i < N (attaching to those that exist), print
  ``started``, wait for all and print their results as one JSON line.  Tests kill it at
  random moments.
- ``hitl DB SIDE RUN_ID graceful|hard``: start an ``Approval`` run, wait until it asks for
  input, print ``waiting`` and leave: through ``runtime.destroy()`` or ``os._exit``.
- ``timers DB SIDE``: start one run of each timer workflow, print ``started`` once each waits
  on its timer, then sleep until killed.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

import durable_flows as flows

from reflow.durable import DurableRuntime
from reflow.events import InputRequiredEvent


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


async def crash(db: str, side: str, runs: int, waves: int) -> None:
    runtime = DurableRuntime(db, lease_seconds=1.5, poll_interval=0.05)
    workflow = flows.Crashy(runtime=runtime, timeout=None)
    await runtime.launch()
    handlers = [
        workflow.run(run_id=f"w{wave}-{i}", start_event=flows.Begin(seed=i, side=side))
        for wave in range(waves)
        for i in range(runs)
    ]
    say("started")
    results = await asyncio.gather(*handlers)
    finished = {h.run_id: r for h, r in zip(handlers, results, strict=True)}
    say(
        json.dumps({run_id: {"total": r.total, "parts": r.parts} for run_id, r in finished.items()})
    )
    await runtime.destroy()


async def hitl(db: str, run_id: str, leave: str) -> None:
    runtime = DurableRuntime(db)
    workflow = flows.Approval(runtime=runtime, timeout=None)
    await runtime.launch()
    handler = workflow.run(run_id=run_id, start_event=flows.Ask(question="name?"))
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent):
            break
    say("waiting")
    if leave == "hard":
        os._exit(0)
    await runtime.destroy()


async def timers(db: str, side: str) -> None:
    runtime = DurableRuntime(db, release_idle_after=None)
    workflows = flows.timer_workflows(runtime)
    await runtime.launch()
    waiting = []
    for name, workflow in workflows.items():
        handler = workflow.run(run_id=f"timer-{name}", side=side)
        waiting.append(_until_started(handler))
    await asyncio.gather(*waiting)
    say("started")
    await asyncio.sleep(3600)


async def _until_started(handler: object) -> None:
    async for event in handler.stream_events():  # type: ignore[attr-defined]
        if isinstance(event, flows.Started):
            return


def main() -> None:
    mode, db, side, *rest = sys.argv[1:]
    if mode == "crash":
        asyncio.run(crash(db, side, int(rest[0]), int(rest[1])))
    elif mode == "hitl":
        asyncio.run(hitl(db, rest[0], rest[1]))
    elif mode == "timers":
        asyncio.run(timers(db, side))
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
