"""Fan-out and fan-in cost grows linearly with the number of events.

The peer copies its queues and buffers on every event, so one run that sends and collects
N events costs O(N²); at 100,000 events it does not finish in any useful time.  reflow's
reducer updates the run state in place and counts what ``collect_events`` still needs, so
each event costs O(1) when the same ``expected`` list is passed on every call.
"""

from __future__ import annotations

import pytest

from reflow import Context, Workflow, step
from reflow.events import Event, StartEvent, StopEvent


class Item(Event):
    i: int


class Squared(Event):
    i: int
    square: int


class FanOutFanIn(Workflow):
    def __init__(self, size: int) -> None:
        super().__init__(timeout=None)
        self.size = size
        # Built once: collect_events is O(1) per call for a list it has already seen.
        self.expected: list[type[Event]] = [Squared] * size

    @step
    async def split(self, ctx: Context, ev: StartEvent) -> Item | None:
        for i in range(self.size):
            ctx.send_event(Item(i=i))
        return None

    @step(num_workers=8)
    async def work(self, ev: Item) -> Squared:
        return Squared(i=ev.i, square=ev.i * ev.i)

    @step
    async def join(self, ctx: Context, ev: Squared) -> StopEvent | None:
        collected = ctx.collect_events(ev, self.expected)
        if collected is None:
            return None
        return StopEvent(
            result=(len(collected), len({c.i for c in collected}), sum(c.square for c in collected))
        )


@pytest.mark.parametrize("size", [20_000, 100_000])
async def test_sending_and_collecting_many_events_in_one_run_completes(size: int) -> None:
    count, distinct, total = await FanOutFanIn(size).run()
    assert (count, distinct) == (size, size)
    assert total == (size - 1) * size * (2 * size - 1) // 6  # every Item was worked exactly once
