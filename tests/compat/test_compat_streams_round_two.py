"""``list[E]`` collection streams, round two (behaviour of the peer, 2.26.1)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from reflow import Context, Workflow, catch_error, step
from reflow.errors import WorkflowRuntimeError, WorkflowValidationError
from reflow.events import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StepFailedEvent,
    StopEvent,
)


class Item(Event):
    n: int


class Result(Event):
    n: int


class Both(Event):
    pair: list[Any]


class TwoCollectors(Workflow):
    @step
    async def fan(self, ev: StartEvent) -> list[Item]:
        return [Item(n=i) for i in range(3)]

    @step
    async def left(self, items: list[Item]) -> Result:
        return Result(n=sum(i.n for i in items) + 100)

    @step
    async def right(self, items: list[Item]) -> Result:
        return Result(n=sum(i.n for i in items) + 200)

    @step
    async def both(self, ctx: Context, ev: Result) -> StopEvent | None:
        got = ctx.collect_events(ev, [Result, Result])
        return None if got is None else StopEvent(result=sorted(r.n for r in got))


async def test_two_collectors_of_the_same_type_each_see_the_full_stream() -> None:
    assert await TwoCollectors(timeout=5).run() == [103, 203]


class SharedWithAStep(Workflow):
    @step
    async def fan(self, ev: StartEvent) -> list[Item]:
        return [Item(n=i) for i in range(3)]

    @step
    async def each(self, ctx: Context, ev: Item) -> None:
        async with ctx.store.edit_state() as state:
            state["seen"] = [*state.get("seen", []), ev.n]

    @step
    async def join(self, ctx: Context, items: list[Item]) -> StopEvent:
        await asyncio.sleep(0.05)
        return StopEvent(result=sorted(i.n for i in items))


async def test_a_type_routed_to_a_step_and_a_collector_keeps_the_full_stream() -> None:
    assert await SharedWithAStep(timeout=5).run() == [0, 1, 2]


class Special(Item):
    pass


class CollectsSubclasses(Workflow):
    @step
    async def fan(self, ev: StartEvent) -> list[Item]:
        return [Special(n=0), Item(n=1), Special(n=2)]

    @step(accept_event_subclasses=True)
    async def join(self, items: list[Item]) -> StopEvent:
        return StopEvent(result=sorted((type(i).__name__, i.n) for i in items))


async def test_list_collectors_honour_accept_event_subclasses() -> None:
    assert await CollectsSubclasses(timeout=5).run() == [
        ("Item", 1),
        ("Special", 0),
        ("Special", 2),
    ]


class RedeliveredAfterWait(Workflow):
    @step
    async def fan(self, ev: StartEvent) -> list[Item]:
        return [Item(n=i) for i in range(2)]

    @step(num_workers=2)
    async def work(self, ctx: Context, ev: Item) -> Result:
        if ev.n == 0:
            await ctx.wait_for_event(
                HumanResponseEvent, waiter_event=InputRequiredEvent(prefix="0"), timeout=2
            )
        return Result(n=ev.n)

    @step
    async def join(self, results: list[Result]) -> StopEvent:
        return StopEvent(result=sorted(r.n for r in results))


async def test_a_member_resumed_after_a_wait_still_joins() -> None:
    handler = RedeliveredAfterWait(timeout=5).run()
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            await handler.send_event(HumanResponseEvent(response="ok"))
    assert await handler == [0, 1]


class Part(Event):
    n: int


class Batch(Event):
    ns: list[int]


class NestedWait(Workflow):
    """Each outer member splits into two parts; part 0 of every member waits first."""

    @step
    async def fan(self, ev: StartEvent) -> list[Item]:
        return [Item(n=i) for i in range(2)]

    @step(num_workers=4)
    async def split(self, ev: Item) -> list[Part]:
        return [Part(n=ev.n * 10), Part(n=ev.n * 10 + 1)]

    @step(num_workers=4)
    async def work(self, ctx: Context, ev: Part) -> Result:
        if ev.n % 10 == 0:
            await ctx.wait_for_event(
                HumanResponseEvent,
                waiter_event=InputRequiredEvent(prefix=str(ev.n)),
                requirements={"user": str(ev.n)},
                timeout=2,
            )
        return Result(n=ev.n)

    @step(num_workers=4)
    async def inner(self, results: list[Result]) -> Batch:
        return Batch(ns=sorted(r.n for r in results))

    @step
    async def outer(self, batches: list[Batch]) -> StopEvent:
        return StopEvent(result=sorted(b.ns for b in batches))


async def test_nested_joins_complete_once_per_batch_after_a_wait() -> None:
    handler = NestedWait(timeout=5).run()
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            await handler.send_event(HumanResponseEvent(response="ok", user=ev.prefix))
    assert await handler == [[0, 1], [10, 11]]


class Fails(Event):
    pass


class RecoversByFanningOut(Workflow):
    @step
    async def fan(self, ev: StartEvent) -> list[Item]:
        return [Item(n=i) for i in range(2)]

    @step
    async def work(self, ev: Item) -> Result:
        if ev.n == 1:
            raise ValueError("one")
        return Result(n=ev.n)

    @catch_error
    async def recover(self, ev: StepFailedEvent) -> list[Result]:
        return [Result(n=10), Result(n=11)]

    @step
    async def join(self, results: list[Result]) -> StopEvent:
        return StopEvent(result=sorted(r.n for r in results))


async def test_a_catch_error_successor_may_fan_out_inside_a_stream() -> None:
    result = await RecoversByFanningOut(timeout=5).run()
    assert result in ([0], [10, 11], [0, 10, 11])


class StealsAMember(Workflow):
    @step
    async def fan(self, ev: StartEvent) -> list[Item]:
        return [Item(n=i) for i in range(2)]

    @step
    async def watcher(self, ctx: Context, ev: StartEvent) -> Result:
        got = await ctx.wait_for_event(Item, requirements={"n": 1}, timeout=2)
        return Result(n=got.n + 50)

    @step
    async def work(self, ev: Item) -> Result:
        return Result(n=ev.n)

    @step
    async def join(self, ctx: Context, results: list[Result]) -> StopEvent:
        return StopEvent(result=sorted(r.n for r in results))


async def test_a_waiter_stealing_an_in_stream_member_completes() -> None:
    result = await asyncio.wait_for(StealsAMember(timeout=5).run(), 5)
    assert isinstance(result, list)


class BareElement(Workflow):
    @step
    async def fan(self, ev: StartEvent) -> list[Item]:
        return Item(n=0)  # type: ignore[return-value]

    @step
    async def join(self, items: list[Item]) -> StopEvent:
        return StopEvent(result=len(items))


async def test_a_bare_element_under_a_pure_list_return_fails_the_run_at_once() -> None:
    with pytest.raises(WorkflowRuntimeError) as info:
        await asyncio.wait_for(BareElement(timeout=30).run(), 5)
    assert str(info.value).startswith(
        "Step function fan returned a bare Item but its return annotation only declares it "
        "inside a list."
    )


class SendsToCollector(Workflow):
    @step
    async def fan(self, ctx: Context, ev: StartEvent) -> list[Item]:
        ctx.send_event(Item(n=9), step="join")
        return [Item(n=0)]

    @step
    async def join(self, items: list[Item]) -> StopEvent:
        return StopEvent(result=len(items))


async def test_send_event_targeted_at_a_collect_step_fails_the_run() -> None:
    with pytest.raises(WorkflowRuntimeError) as info:
        await asyncio.wait_for(SendsToCollector(timeout=5).run(), 5)
    assert str(info.value).startswith(
        "Item was sent to collect step 'join' via send_event(step=...), but a collect step "
        "cannot receive targeted events"
    )


def test_an_async_generator_producer_is_rejected_at_decoration() -> None:
    with pytest.raises(WorkflowValidationError, match=r"^Async-iterator fan-out \("):

        class Generates(Workflow):
            @step
            async def fan(self, ev: StartEvent) -> list[Item]:  # type: ignore[misc]
                yield Item(n=0)

            @step
            async def join(self, items: list[Item]) -> StopEvent:
                return StopEvent(result=len(items))


class Left(Event):
    n: int


class Right(Event):
    n: int


class Pair(Event):
    n: int


class BranchJoinAfterWait(Workflow):
    """Each member goes down two branches that a two-slot step joins; one branch waits."""

    @step
    async def fan(self, ev: StartEvent) -> list[Item]:
        return [Item(n=i) for i in range(2)]

    @step(num_workers=4)
    async def to_left(self, ctx: Context, ev: Item) -> Left:
        if ev.n == 0:
            await ctx.wait_for_event(
                HumanResponseEvent, waiter_event=InputRequiredEvent(prefix="0"), timeout=2
            )
        return Left(n=ev.n)

    @step(num_workers=4)
    async def to_right(self, ev: Item) -> Right:
        return Right(n=ev.n)

    @step(num_workers=4)
    async def pair(self, a: Left, b: Right) -> Pair:
        return Pair(n=a.n * 10 + b.n)

    @step
    async def join(self, pairs: list[Pair]) -> StopEvent:
        return StopEvent(result=sorted(p.n for p in pairs))


async def test_branch_joins_complete_once_per_member_after_a_wait() -> None:
    handler = BranchJoinAfterWait(timeout=5).run()
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            await handler.send_event(HumanResponseEvent(response="ok"))
    # Each member's join completes once.  (Which branches meet varies in the peer; reflow
    # pairs within a member's lineage: 0 with 0 and 1 with 1, pinned in tests/beyond.)
    assert await handler in ([0, 11], [1, 10])
