"""Workflows whose mid-run snapshots are taken with the peer and read back by reflow.

Written against ``reflow``; ``scripts/make_peer_snapshots.py`` imports this module inside the
peer's own environment with ``reflow`` aliased to the peer's ``workflows`` package, so both
engines see the same classes under the same qualified names (``peer_flows.Ask``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from reflow import Context, Workflow, step
from reflow.events import Event, HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent
from reflow.retry_policy import retry_policy, stop_after_attempt, wait_fixed

# A retry delay that is still running whenever the golden files are read.
TEN_YEARS = 10 * 365 * 24 * 3600.0

# Steps block on these gates so a snapshot catches them in flight; the script and the tests
# open them.  Keyed by the gate's name.
GATES: dict[str, asyncio.Event] = {}


def gate(name: str) -> asyncio.Event:
    if name not in GATES:
        GATES[name] = asyncio.Event()
    return GATES[name]


class Marker:
    """A plain object: JSON cannot encode it, pickle can."""

    def __init__(self, label: str) -> None:
        self.label = label


class Item(Event):
    n: int


class Done(Event):
    n: int


class Asks(Workflow):
    """Waits for a human answer (a waiter with requirements) after storing some state."""

    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        await ctx.store.set("asked", True)
        if ev.get("marker") is not None:
            # Only pickle can store a Marker, so the waiter's start event is pickled too.
            await ctx.store.set("marker", ev.get("marker"))
        answer = await ctx.wait_for_event(
            HumanResponseEvent,
            waiter_event=InputRequiredEvent(prefix="approve?"),
            waiter_id="approval",
            requirements={"user": "ann"},
            timeout=None,
        )
        return StopEvent(result=f"{answer.user}:{answer.response}")


class _SendsThree(Workflow):
    """Sends three items and collects what their work step returns; ``work`` is per flow."""

    @step
    async def fan(self, ctx: Context, ev: StartEvent) -> Item | None:
        await ctx.store.set("fanned", 3)
        for n in range(3):
            ctx.send_event(Item(n=n))
        return None

    @step
    async def join(self, ctx: Context, ev: Done) -> StopEvent | None:
        done = ctx.collect_events(ev, [Done] * 3)
        if done is None:
            return None
        return StopEvent(result=sorted(d.n for d in done))


class Fans(_SendsThree):
    """One worker and the first item blocks, so two stay queued."""

    @step(num_workers=1)
    async def work(self, ev: Item) -> Done:
        if ev.n == 0 and not gate("work").is_set():
            await gate("work").wait()
        return Done(n=ev.n)


class Collects(_SendsThree):
    """Three workers and the last item blocks, so ``join`` holds two collected events."""

    @step(num_workers=3)
    async def work(self, ev: Item) -> Done:
        if ev.n == 2 and not gate("collect").is_set():
            await gate("collect").wait()
        return Done(n=ev.n)


class Retries(Workflow):
    """Fails once, then waits ten years to retry: the snapshot holds a delayed retry."""

    failures: dict[str, int] = {}

    @step(retry_policy=retry_policy(wait=wait_fixed(TEN_YEARS), stop=stop_after_attempt(3)))
    async def flaky(self, ctx: Context, ev: StartEvent) -> StopEvent:
        key = str(ev.get("key", "default"))
        count = self.failures.get(key, 0)
        self.failures[key] = count + 1
        if count == 0:
            raise RuntimeError("first attempt fails")
        return StopEvent(result=f"attempt {count + 1}")


def flows() -> dict[str, Any]:
    return {"asks": Asks, "fans": Fans, "collects": Collects, "retries": Retries}
