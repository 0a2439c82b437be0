"""The fan-out the ``cli`` case runs through ``reflow run``: N items on 10 workers, collected."""

from __future__ import annotations

import asyncio

from reflow import Context, Workflow, step
from reflow.events import Event, StartEvent, StopEvent


class Item(Event):
    index: int


class Done(Event):
    index: int


class Fan(StartEvent):
    n: int = 2000
    sleep: float = 0.0


class FanOut(Workflow):
    @step
    async def split(self, ev: Fan, ctx: Context) -> Item | None:
        await ctx.store.set("n", ev.n)
        await ctx.store.set("sleep", ev.sleep)
        for index in range(ev.n):
            ctx.send_event(Item(index=index))
        return None

    @step(num_workers=10)
    async def work(self, ev: Item, ctx: Context) -> Done:
        pause = await ctx.store.get("sleep")
        if pause:
            await asyncio.sleep(pause)
        return Done(index=ev.index)

    @step
    async def join(self, ev: Done, ctx: Context) -> StopEvent | None:
        n = await ctx.store.get("n")
        if ctx.collect_events(ev, [Done] * n) is None:
            return None
        return StopEvent(result=n)
