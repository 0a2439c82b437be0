"""A workflow that waits for a human, used by the cross-process snapshot test."""

from __future__ import annotations

import asyncio
import json
import sys

from reflow import Context, Workflow, step
from reflow.events import HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent


class Approval(Workflow):
    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        await ctx.store.set("asked_for", ev.get("item", "?"))
        answer = await ctx.wait_for_event(
            HumanResponseEvent, waiter_event=InputRequiredEvent(prefix="approve?")
        )
        item = await ctx.store.get("asked_for")
        return StopEvent(result=f"{item}:{answer.response}")


async def _snapshot_while_waiting(path: str) -> None:
    handler = Approval(timeout=10).run(item="invoice-7")
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent):
            break
    assert handler.ctx is not None
    with open(path, "w") as out:
        json.dump(handler.ctx.to_dict(), out)
    await handler.cancel_run()


if __name__ == "__main__":
    asyncio.run(_snapshot_while_waiting(sys.argv[1]))
