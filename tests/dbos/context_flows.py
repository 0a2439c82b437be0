"""Workflows whose steps take a ``Context`` and run on whichever process dequeues them.

Each step publishes a ``Progress`` event naming the process it ran in, so a test can tell where
every step executed; the results do not depend on where.
"""

from __future__ import annotations

import os
from typing import Any

from reflow import Context, Workflow, step
from reflow.events import Event, StartEvent, StopEvent


class Go(StartEvent):
    name: str


class Noted(Event):
    text: str


class Greeted(Event):
    text: str


class Progress(Event):
    msg: str
    pid: int


class ContextFlow(Workflow):
    """greet (store writes, a stream write, a send) -> note (store) -> finish (store reads)."""

    @step
    async def greet(self, ev: Go, ctx: Context) -> Noted | None:
        await ctx.store.set("name", ev.name)
        async with ctx.store.edit_state() as state:
            state["visits"] = 1
        ctx.write_event_to_stream(Progress(msg=f"greeting {ev.name}", pid=os.getpid()))
        ctx.send_event(Noted(text=f"note for {ev.name}"))
        return None

    @step
    async def note(self, ev: Noted, ctx: Context) -> Greeted:
        await ctx.store.set("note", ev.text)
        visits = await ctx.store.get("visits")
        await ctx.store.set("visits", visits + 1)
        ctx.write_event_to_stream(Progress(msg=ev.text, pid=os.getpid()))
        return Greeted(text=f"hello {await ctx.store.get('name')}")

    @step
    async def finish(self, ev: Greeted, ctx: Context) -> StopEvent:
        ctx.write_event_to_stream(Progress(msg="finishing", pid=os.getpid()))
        return StopEvent(
            result={
                "text": ev.text,
                "note": await ctx.store.get("note"),
                "visits": await ctx.store.get("visits"),
                "idempotency_key": ctx.idempotency_key.split(":", 1)[1],
            }
        )


class Part(Event):
    i: int
    pid: int


class Split(StartEvent):
    n: int


def gather(ctx: Context[Any], ev: Part, n: int) -> list[Event] | None:
    """Collects through a helper: the step's own code does not name ``collect_events``."""
    return ctx.collect_events(ev, [Part] * n)


class GatherFlow(Workflow):
    @step
    async def split(self, ev: Split, ctx: Context) -> Part | None:
        await ctx.store.set("n", ev.n)
        for i in range(ev.n):
            ctx.send_event(Part(i=i, pid=os.getpid()))
        return None

    @step
    async def join(self, ev: Part, ctx: Context) -> StopEvent | None:
        done = gather(ctx, ev, await ctx.store.get("n"))
        if done is None:
            return None
        return StopEvent(result={"parts": sorted(p.i for p in done), "joined_in": os.getpid()})  # type: ignore[attr-defined]
