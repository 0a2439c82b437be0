"""Streaming progress: steps publish progress events while they work, and the caller reads them
live from ``handler.stream_events()``.

Shows ``ctx.write_event_to_stream`` (events for the outside world, not routed to steps) next to
ordinary step events, with two downloads running side by side.  This is the workflow
``./scripts/demo`` runs.

    python examples/streaming_progress.py
    reflow run examples/streaming_progress.py:workflow --arg chunks=8
"""

from __future__ import annotations

import asyncio

from reflow import Context, Workflow, step
from reflow.events import Event, StartEvent, StopEvent


class Download(StartEvent):
    sources: list[str] = ["mirror-a", "mirror-b"]
    chunks: int = 5


class Fetch(Event):
    source: str
    chunks: int


class Fetched(Event):
    source: str
    size: int


class Progress(Event):
    """Published to the stream only; no step accepts it."""

    source: str
    done: int
    total: int


class Downloader(Workflow):
    """Fetch from every source in parallel, reporting progress chunk by chunk."""

    @step
    async def plan(self, ev: Download, ctx: Context) -> Fetch | None:
        await ctx.store.set("sources", len(ev.sources))
        for source in ev.sources:
            ctx.send_event(Fetch(source=source, chunks=ev.chunks))
        return None

    @step(num_workers=4)
    async def fetch(self, ev: Fetch, ctx: Context) -> Fetched:
        for done in range(1, ev.chunks + 1):
            await asyncio.sleep(0.08)  # stands in for reading one chunk
            ctx.write_event_to_stream(Progress(source=ev.source, done=done, total=ev.chunks))
        return Fetched(source=ev.source, size=ev.chunks * 64)

    @step
    async def assemble(self, ev: Fetched, ctx: Context) -> StopEvent | None:
        expected = await ctx.store.get("sources")
        fetched = ctx.collect_events(ev, [Fetched] * expected)
        if fetched is None:
            return None
        return StopEvent(result={f.source: f"{f.size} KiB" for f in fetched})


workflow = Downloader(timeout=60)


async def run_example() -> None:
    handler = workflow.run()
    async for ev in handler.stream_events():
        if isinstance(ev, Progress):
            print(f"{ev.source}: {ev.done}/{ev.total}")
    print(await handler)


def main() -> None:
    asyncio.run(run_example())


if __name__ == "__main__":
    main()
