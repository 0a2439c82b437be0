"""Workflows whose steps take a ``Context`` and run on whichever process dequeues them.

Each step publishes a ``Progress`` event naming the process it ran in, so a test can tell where
every step executed; the results do not depend on where.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from reflow import Context, Workflow, step
from reflow.events import Event, StartEvent, StopEvent
from reflow.retry_policy import retry_policy, stop_after_attempt, wait_fixed


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


class Count(StartEvent):
    n: int
    same_key: bool


class Add(Event):
    i: int
    same_key: bool


class Added(Event):
    i: int


class TallyFlow(Workflow):
    """``n`` steps at once, each an atomic read-modify-write of the store (``edit_state``):
    of one shared key (``same_key``), or each of its own key."""

    @step
    async def split(self, ev: Count, ctx: Context) -> Add | None:
        await ctx.store.set("n", ev.n)
        for i in range(ev.n):
            ctx.send_event(Add(i=i, same_key=ev.same_key))
        return None

    @step(num_workers=8)
    async def add(self, ev: Add, ctx: Context) -> Added:
        key = "count" if ev.same_key else f"k{ev.i}"
        # Atomic in one process; on others, each execution edits the store it was sent.
        async with ctx.store.edit_state() as state:
            await asyncio.sleep(0.01)
            state[key] = state.get(key, 0) + 1
        return Added(i=ev.i)

    @step
    async def join(self, ev: Added, ctx: Context) -> StopEvent | None:
        n = await ctx.store.get("n")
        if ctx.collect_events(ev, [Added] * n) is None:
            return None
        state = await ctx.store.get_state()
        return StopEvent(result={key: state[key] for key in state if key != "n"})


class FailOnce(StartEvent):
    pass


class FlakyFlow(Workflow):
    """A remote step that writes the store and the stream, then raises on its first attempt."""

    @step(retry_policy=retry_policy(wait=wait_fixed(0.01), stop=stop_after_attempt(2)))
    async def flaky(self, ev: FailOnce, ctx: Context) -> StopEvent:
        tries = await ctx.store.get("tries", 0) + 1
        await ctx.store.set("tries", tries)
        ctx.write_event_to_stream(Progress(msg=f"try {tries}", pid=os.getpid()))
        if tries == 1:
            raise RuntimeError("the first try fails after its writes")
        return StopEvent(result=tries)


class Wide(StartEvent):
    n: int


class Slot(Event):
    i: int


class Seen(Event):
    running: int


_running = 0  # executions of ``hold`` running in this process now


class LimitFlow(Workflow):
    """``n`` executions of ``hold`` at once if the queue lets them: each reports how many
    were running in its process when it ended; the result is the most seen."""

    @step
    async def split(self, ev: Wide, ctx: Context) -> Slot | None:
        await ctx.store.set("n", ev.n)
        for i in range(ev.n):
            ctx.send_event(Slot(i=i))
        return None

    @step(num_workers=8)
    async def hold(self, ev: Slot) -> Seen:
        global _running
        _running += 1
        try:
            await asyncio.sleep(0.1)
            return Seen(running=_running)
        finally:
            _running -= 1

    @step
    async def join(self, ev: Seen, ctx: Context) -> StopEvent | None:
        done = ctx.collect_events(ev, [Seen] * await ctx.store.get("n"))
        return None if done is None else StopEvent(result=max(d.running for d in done))  # type: ignore[attr-defined]
