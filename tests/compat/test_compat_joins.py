"""Multi-slot joins: a step with several event parameters (new in the 2.26 API)."""

from __future__ import annotations

from reflow import Context, Workflow, step
from reflow.events import Event, StartEvent, StopEvent


class A(Event):
    n: int


class B(Event):
    n: int


class PairsInArrivalOrder(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> A | B | None:
        for i in range(3):
            ctx.send_event(A(n=i))
        for i in (2, 1, 0):
            ctx.send_event(B(n=i))
        return None

    @step
    async def join(self, ctx: Context, a: A, b: B) -> StopEvent | None:
        pairs = await ctx.store.get("pairs", [])
        pairs.append((a.n, b.n))
        await ctx.store.set("pairs", pairs)
        return StopEvent(result=pairs) if len(pairs) == 3 else None


async def test_slots_pair_first_in_first_out_per_slot() -> None:
    assert await PairsInArrivalOrder(timeout=2).run() == [(0, 2), (1, 1), (2, 0)]


class SameTypeSlots(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> A | None:
        for i in range(4):
            ctx.send_event(A(n=i))
        return None

    @step
    async def join(self, ctx: Context, first: A, second: A) -> StopEvent | None:
        pairs = await ctx.store.get("pairs", [])
        pairs.append((first.n, second.n))
        await ctx.store.set("pairs", pairs)
        return StopEvent(result=pairs) if len(pairs) == 2 else None


async def test_two_slots_of_one_type_fill_in_parameter_order() -> None:
    assert await SameTypeSlots(timeout=2).run() == [(0, 1), (2, 3)]


class JoinInStream(Workflow):
    @step
    async def fan(self, ev: StartEvent) -> list[A]:
        return [A(n=i) for i in range(2)]

    @step
    async def to_b(self, ev: A) -> B:
        return B(n=ev.n * 10)

    @step
    async def join(self, a: A, b: B) -> StopEvent:
        return StopEvent(result=(a.n, b.n))


async def test_a_join_fires_with_partners_from_the_same_stream() -> None:
    assert await JoinInStream(timeout=2).run() in ((0, 0), (0, 10), (1, 0), (1, 10))
