"""The workflows of ``benchmarks.distributed``, importable by the same name in every process."""

from __future__ import annotations

import asyncio
import time

from reflow import Context, Workflow, step
from reflow.events import Event, StartEvent, StopEvent


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


class Spread(StartEvent):
    n: int
    wait_ms: float = 20.0  # how long each step of ``FanOutWaits`` waits (I/O, not CPU)


class Wait(Event):
    i: int
    sent: float
    wait_ms: float = 20.0


class Waited(Event):
    i: int
    hop_ms: float


class FanOutWaits(Workflow):
    @step
    async def split(self, ev: Spread, ctx: Context) -> Wait | None:
        await ctx.store.set("n", ev.n)
        for i in range(ev.n):
            ctx.send_event(Wait(i=i, sent=time.time(), wait_ms=ev.wait_ms))
        return None

    # A cluster-wide limit above what the workers run at once: each worker's ``--concurrency``
    # (its capacity) is what bounds the fan-out, so adding workers adds capacity.
    @step(num_workers=512)
    async def wait(self, ev: Wait) -> Waited:
        hop_ms = (time.time() - ev.sent) * 1000
        await asyncio.sleep(ev.wait_ms / 1000)
        return Waited(i=ev.i, hop_ms=hop_ms)

    @step
    async def join(self, ev: Waited, ctx: Context) -> StopEvent | None:
        done = ctx.collect_events(ev, [Waited] * int(await ctx.store.get("n")))
        if done is None:
            return None
        return StopEvent(result=[w.hop_ms for w in done])


class Link(Event):
    left: int
    ended: float
    hops: list[float] = []


class Chain(Workflow):
    """``n`` steps one after the other, each on whichever process dequeues it: every hop from
    one step's end to the next one's start goes through the driver and a DBOS queue."""

    @step
    async def begin(self, ev: Spread) -> Link:
        return Link(left=ev.n, ended=time.time())

    @step
    async def link(self, ev: Link) -> Link | StopEvent:
        hops = [*ev.hops, (time.time() - ev.ended) * 1000]
        if ev.left <= 1:
            return StopEvent(result=hops)
        return Link(left=ev.left - 1, ended=time.time(), hops=hops)


# What the worker processes load (``FILE:NAME``): instances without the default 45 s timeout, so
# a worker that takes a run over (its driver starved past its lease) does not arm one.
fan_out_waits = FanOutWaits(timeout=None)
chain = Chain(timeout=None)
