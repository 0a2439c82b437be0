"""``list[E]`` fan-out / fan-in with ``reflow.collect`` (new in the 2.26 API)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import pytest

from reflow import Context, Workflow, step
from reflow.collect import All, Collect, Take
from reflow.errors import WorkflowValidationError
from reflow.events import Event, StartEvent, StepState, StepStateChanged, StopEvent


class Item(Event):
    n: int


class Result(Event):
    n: int


class FanOutFanIn(Workflow):
    @step
    async def fan(self, ev: StartEvent) -> list[Item]:
        return [Item(n=i) for i in range(ev.k)]

    @step(num_workers=1)
    async def work(self, ev: Item) -> Result:
        return Result(n=ev.n * 10)

    @step
    async def join(self, ctx: Context, results: list[Result]) -> StopEvent:
        return StopEvent(result=([r.n for r in results], type(results).__name__))


async def test_each_list_member_is_processed_and_all_results_are_delivered() -> None:
    assert await FanOutFanIn(timeout=2).run(k=5) == ([0, 10, 20, 30, 40], "list")


async def test_a_single_member_list_still_fans_in() -> None:
    assert await FanOutFanIn(timeout=2).run(k=1) == ([0], "list")


async def test_an_empty_list_releases_the_collector_with_no_events() -> None:
    assert await FanOutFanIn(timeout=2).run(k=0) == ([], "list")


_gates: dict[int, asyncio.Event] = {}


class GatedFanOut(Workflow):
    @step
    async def fan(self, ev: StartEvent) -> list[Item]:
        return [Item(n=i) for i in range(3)]

    @step
    async def work(self, ev: Item) -> Result:
        await _gates[ev.n].wait()
        return Result(n=ev.n)

    @step
    async def join(self, results: list[Result]) -> StopEvent:
        return StopEvent(result=[r.n for r in results])


async def test_collected_events_arrive_in_completion_order() -> None:
    _gates.clear()
    _gates.update({n: asyncio.Event() for n in range(3)})
    order = [2, 0, 1]
    handler = GatedFanOut(timeout=2).run()
    running = finished = 0
    async for ev in handler.stream_events(expose_internal=True):
        if not (isinstance(ev, StepStateChanged) and ev.name == "work"):
            continue
        if ev.step_state is StepState.RUNNING:
            running += 1
        elif ev.step_state is StepState.NOT_RUNNING:
            finished += 1
        # Release the next member only once all are running and the previous one is applied.
        if running == 3 and finished < 3 and not _gates[order[finished]].is_set():
            _gates[order[finished]].set()
    assert await handler == [2, 0, 1]


class Direct(Workflow):
    @step
    async def fan(self, ev: StartEvent) -> list[Item]:
        return [Item(n=i) for i in range(3)]

    @step
    async def join(self, items: list[Item]) -> StopEvent:
        return StopEvent(result=[i.n for i in items])


async def test_a_collector_can_consume_the_produced_list_directly() -> None:
    assert await Direct(timeout=2).run() == [0, 1, 2]


class SkipsOne(Workflow):
    @step
    async def fan(self, ev: StartEvent) -> list[Item]:
        return [Item(n=i) for i in range(3)]

    @step
    async def work(self, ev: Item) -> Result | None:
        return None if ev.n == 1 else Result(n=ev.n)

    @step
    async def join(self, results: list[Result]) -> StopEvent:
        return StopEvent(result=sorted(r.n for r in results))


async def test_a_member_that_returns_none_is_left_out() -> None:
    assert await SkipsOne(timeout=2).run() == [0, 2]


class TakeTwo(Workflow):
    @step
    async def fan(self, ev: StartEvent) -> list[Item]:
        return [Item(n=i) for i in range(ev.k)]

    @step(num_workers=1)
    async def work(self, ev: Item) -> Result:
        return Result(n=ev.n)

    @step
    async def join(self, results: Annotated[list[Result], Collect(Take(2))]) -> StopEvent:
        return StopEvent(result=[r.n for r in results])


async def test_take_n_fires_with_the_first_n_arrivals() -> None:
    assert await TakeTwo(timeout=2).run(k=5) == [0, 1]


async def test_take_n_fires_with_fewer_when_the_stream_closes_early() -> None:
    assert await TakeTwo(timeout=2).run(k=1) == [0]


class ExplicitAll(Workflow):
    @step
    async def fan(self, ev: StartEvent) -> list[Item]:
        return [Item(n=i) for i in range(4)]

    @step
    async def join(self, items: Annotated[list[Item], Collect(All())]) -> StopEvent:
        return StopEvent(result=sorted(i.n for i in items))


async def test_collect_all_is_the_explicit_default() -> None:
    assert await ExplicitAll(timeout=2).run() == [0, 1, 2, 3]
    assert Collect().cardinality == All()


class Nested(Workflow):
    @step
    async def fan(self, ev: StartEvent) -> list[Item]:
        return [Item(n=i) for i in range(3)]

    @step
    async def split(self, ev: Item) -> list[Result]:
        return [Result(n=ev.n * 10 + j) for j in range(2)]

    @step
    async def join(self, results: list[Result]) -> StopEvent:
        return StopEvent(result=sorted(r.n for r in results))


async def test_a_collector_joins_the_innermost_list_stream() -> None:
    assert await Nested(timeout=2).run() in ([0, 1], [10, 11], [20, 21])


class MemberFails(Workflow):
    @step
    async def fan(self, ev: StartEvent) -> list[Item]:
        return [Item(n=i) for i in range(3)]

    @step
    async def work(self, ev: Item) -> Result:
        if ev.n == 1:
            raise ValueError("member one failed")
        return Result(n=ev.n)

    @step
    async def join(self, results: list[Result]) -> StopEvent:
        return StopEvent(result=[r.n for r in results])


async def test_a_failing_member_fails_the_run() -> None:
    with pytest.raises(ValueError, match=r"^member one failed$"):
        await MemberFails(timeout=2).run()


class NoListProducer(Workflow):
    @step
    async def start(self, ev: StartEvent) -> Item:
        return Item(n=5)

    @step
    async def join(self, items: list[Item]) -> StopEvent:
        return StopEvent(result=[i.n for i in items])


async def test_a_collector_without_a_list_producer_is_rejected() -> None:
    with pytest.raises(WorkflowValidationError) as info:
        NoListProducer(timeout=2).run()
    assert str(info.value) == (
        "Step 'join' parameter 'items' collects list[Item], but no returned-list producer "
        "creates a stream for those event types. list[E] fan-in only consumes events from "
        "steps annotated as returning list[E]; use ctx.collect_events for unstreamed "
        "ctx.send_event flows."
    )
