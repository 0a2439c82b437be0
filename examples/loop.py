"""Loop: a step that accepts its own output event, so it runs again until it is done.

Shows a cycle in the event graph: ``refine`` accepts ``Draft`` and may return ``Draft`` again,
or a ``StopEvent`` once the draft is good enough.  A counter in the context store caps the
number of rounds.

    python examples/loop.py
    reflow run examples/loop.py:workflow --arg target=40
"""

from __future__ import annotations

import asyncio

from reflow import Context, Workflow, step
from reflow.events import Event, StartEvent, StopEvent


class Goal(StartEvent):
    target: int = 25
    max_rounds: int = 10


class Draft(Event):
    text: str
    target: int
    max_rounds: int


class Refine(Workflow):
    """Grow a sentence one word per round until it is at least ``target`` characters long."""

    @step
    async def start(self, ev: Goal) -> Draft:
        return Draft(text="Reflow", target=ev.target, max_rounds=ev.max_rounds)

    @step
    async def refine(self, ev: Draft, ctx: Context) -> Draft | StopEvent:
        rounds = await ctx.store.get("rounds", default=0) + 1
        await ctx.store.set("rounds", rounds)
        if len(ev.text) >= ev.target or rounds >= ev.max_rounds:
            return StopEvent(result={"text": ev.text, "rounds": rounds})
        await asyncio.sleep(0.05)  # stands in for real work, so the live view has time to show it
        return Draft(text=f"{ev.text} loops", target=ev.target, max_rounds=ev.max_rounds)


workflow = Refine(timeout=30)


async def run_example() -> None:
    print(await workflow.run(target=30))


def main() -> None:
    asyncio.run(run_example())


if __name__ == "__main__":
    main()
