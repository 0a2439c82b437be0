"""Fan-out / fan-in: one step sends many events, a pool of workers handles them in parallel,
and a collecting step waits until every result is in.

Shows ``ctx.send_event`` to fan out, ``@step(num_workers=3)`` to cap how many copies of a step
run at once, and ``ctx.collect_events`` to fan back in.

    python examples/fan_out_fan_in.py
    reflow run examples/fan_out_fan_in.py:workflow --arg files=8
"""

from __future__ import annotations

import asyncio

from reflow import Context, Workflow, step
from reflow.events import Event, StartEvent, StopEvent


class Batch(StartEvent):
    files: int = 6


class FileJob(Event):
    name: str
    size: int


class FileDone(Event):
    name: str
    lines: int


class Indexer(Workflow):
    """Pretend to index a batch of files, three at a time."""

    @step
    async def dispatch(self, ev: Batch, ctx: Context) -> FileJob | None:
        await ctx.store.set("expected", ev.files)
        for i in range(ev.files):
            ctx.send_event(FileJob(name=f"file_{i}.txt", size=10 * (i + 1)))
        return None

    @step(num_workers=3)
    async def index(self, ev: FileJob) -> FileDone:
        await asyncio.sleep(0.05 + ev.size / 1000)  # stands in for reading the file
        return FileDone(name=ev.name, lines=ev.size // 2)

    @step
    async def gather(self, ev: FileDone, ctx: Context) -> StopEvent | None:
        expected = await ctx.store.get("expected")
        done = ctx.collect_events(ev, [FileDone] * expected)
        if done is None:
            return None  # not everything is in yet
        return StopEvent(result={"files": len(done), "lines": sum(d.lines for d in done)})


workflow = Indexer(timeout=60)


async def run_example() -> None:
    print(await workflow.run(files=5))


def main() -> None:
    asyncio.run(run_example())


if __name__ == "__main__":
    main()
