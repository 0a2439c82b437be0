"""``ctx.collect_events``: buffering, ordering by ``expected``, buffer ids."""

from __future__ import annotations

import asyncio

import pytest
from compat_support import drain
from hypothesis import given, settings
from hypothesis import strategies as st

from reflow import Context, Workflow, step
from reflow.errors import ContextStateError, WorkflowTimeoutError
from reflow.events import Event, StartEvent, StopEvent


class A(Event):
    n: int = 0


class B(Event):
    n: int = 0


class C(Event):
    n: int = 0


class Snapshot(Event):
    got: list[tuple[str, int]] | None


def _label(events: list[Event] | None) -> list[tuple[str, int]] | None:
    return None if events is None else [(type(e).__name__, e.n) for e in events]


class Collector(Workflow):
    """Sends ``ev.seq`` one by one and collects them against ``ev.expected`` names."""

    @step
    async def start(self, ctx: Context, ev: StartEvent) -> A | B | C | None:
        await ctx.store.set("expected", ev.expected)
        for item in ev.seq:
            ctx.send_event(item)
        return None

    @step(num_workers=1)
    async def collect(self, ctx: Context, ev: A | B | C) -> StopEvent | None:
        names = await ctx.store.get("expected")
        expected = [{"A": A, "B": B, "C": C}[name] for name in names]
        got = ctx.collect_events(ev, expected)
        ctx.write_event_to_stream(Snapshot(got=_label(got)))
        if got is None:
            return None
        return StopEvent(result=_label(got))


async def test_returns_none_until_complete_then_orders_by_expected() -> None:
    handler = Collector(timeout=1).run(
        seq=[B(n=1), A(n=2), C(n=9), A(n=3)], expected=["A", "B", "A"]
    )
    events = await drain(handler)
    snapshots = [ev.got for ev in events if isinstance(ev, Snapshot)]
    assert snapshots == [None, None, None, [("A", 2), ("B", 1), ("A", 3)]]
    assert await handler == [("A", 2), ("B", 1), ("A", 3)]


async def test_same_type_events_keep_arrival_order() -> None:
    result = await Collector(timeout=1).run(
        seq=[A(n=5), B(n=1), A(n=4), A(n=6)], expected=["A", "A", "B", "A"]
    )
    assert result == [("A", 5), ("A", 4), ("B", 1), ("A", 6)]


async def test_empty_expected_list_returns_an_empty_list() -> None:
    handler = Collector(timeout=1).run(seq=[A(n=1)], expected=[])
    events = await drain(handler)
    assert [ev.got for ev in events if isinstance(ev, Snapshot)] == [[]]
    assert await handler == []


@settings(max_examples=25, deadline=None)
@given(st.permutations([("A", 1), ("A", 2), ("B", 3), ("C", 4), ("B", 5)]))
def test_result_is_grouped_by_expected_for_any_arrival_order(
    arrivals: list[tuple[str, int]],
) -> None:
    classes = {"A": A, "B": B, "C": C}
    seq = [classes[name](n=n) for name, n in arrivals]
    expected = ["C", "B", "A", "B", "A"]
    result = asyncio.run(_run_collector(seq, expected))
    by_type = {name: [n for kind, n in arrivals if kind == name] for name in ("A", "B", "C")}
    cursor = {name: 0 for name in by_type}
    want = []
    for name in expected:
        want.append((name, by_type[name][cursor[name]]))
        cursor[name] += 1
    assert result == want


async def _run_collector(seq: list[Event], expected: list[str]) -> object:
    return await Collector(timeout=1).run(seq=seq, expected=expected)


class TwoBatches(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> A | B | None:
        for item in ev.seq:
            ctx.send_event(item)
        return None

    @step(num_workers=1)
    async def collect(self, ctx: Context, ev: A | B) -> StopEvent | None:
        got = ctx.collect_events(ev, [B, A])
        if got is None:
            return None
        ctx.write_event_to_stream(Snapshot(got=_label(got)))
        async with ctx.store.edit_state() as state:
            state["batches"] = state.get("batches", 0) + 1
            if state["batches"] == 2:
                return StopEvent(result="two batches")
        return None


async def test_buffer_is_cleared_after_a_complete_batch() -> None:
    handler = TwoBatches(timeout=1).run(seq=[A(n=1), B(n=2), B(n=3), A(n=4)])
    events = await drain(handler)
    assert [ev.got for ev in events if isinstance(ev, Snapshot)] == [
        [("B", 2), ("A", 1)],
        [("B", 3), ("A", 4)],
    ]
    assert await handler == "two batches"


async def test_surplus_events_of_a_full_type_do_not_carry_into_the_next_batch() -> None:
    handler = TwoBatches(timeout=0.2).run(seq=[A(n=1), A(n=2), B(n=3), B(n=4)])
    events = [ev async for ev in handler.stream_events()]
    assert [ev.got for ev in events if isinstance(ev, Snapshot)] == [[("B", 3), ("A", 1)]]
    with pytest.raises(WorkflowTimeoutError):
        await handler


class Buffers(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> A | B | None:
        for item in [A(n=1), B(n=2), A(n=3), B(n=4)]:
            ctx.send_event(item)
        return None

    @step(num_workers=1)
    async def pairs(self, ctx: Context, ev: A | B) -> StopEvent | None:
        a_pair = ctx.collect_events(ev, [A, A], buffer_id="a")
        b_pair = ctx.collect_events(ev, [B, B], buffer_id="b")
        async with ctx.store.edit_state() as state:
            if a_pair is not None:
                state["a"] = [e.n for e in a_pair]
            if b_pair is not None:
                state["b"] = [e.n for e in b_pair]
            if "a" in state and "b" in state:
                return StopEvent(result=(state["a"], state["b"]))
        return None


async def test_buffer_ids_keep_separate_buffers_in_one_step() -> None:
    assert await Buffers(timeout=1).run() == ([1, 3], [2, 4])


class PerStep(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> A | None:
        ctx.send_event(A(n=1))
        ctx.send_event(A(n=2))
        return None

    @step(num_workers=1)
    async def left(self, ctx: Context, ev: A) -> B | None:
        got = ctx.collect_events(ev, [A, A])
        return None if got is None else B(n=sum(e.n for e in got))

    @step(num_workers=1)
    async def right(self, ctx: Context, ev: A) -> C | None:
        got = ctx.collect_events(ev, [A, A])
        return None if got is None else C(n=sum(e.n for e in got) * 10)

    @step
    async def join(self, ctx: Context, ev: B | C) -> StopEvent | None:
        got = ctx.collect_events(ev, [B, C])
        return None if got is None else StopEvent(result=[e.n for e in got])


async def test_each_step_has_its_own_default_buffer() -> None:
    assert await PerStep(timeout=1).run() == [3, 30]


async def test_collect_events_outside_a_step_raises() -> None:
    handler = Buffers(timeout=1).run()
    await handler
    with pytest.raises(ContextStateError) as info:
        handler.ctx.collect_events(A(), [A])
    assert str(info.value) == "collect_events is only available from within step functions."
