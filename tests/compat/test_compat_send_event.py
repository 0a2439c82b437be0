"""``send_event`` from steps and from the handler, with and without ``step=``."""

from __future__ import annotations

import pytest

from reflow import Context, Workflow, step
from reflow.errors import ContextStateError, WorkflowRuntimeError
from reflow.events import Event, StartEvent, StopEvent


class Ping(Event):
    who: str = ""


class Pong(Event):
    pass


class Targets(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Ping | Pong | None:
        if ev.get("bad_step"):
            ctx.send_event(Ping(), step="nope")
        if ev.get("bad_type"):
            ctx.send_event(Pong(), step="only_ping")
        if ev.get("targeted"):
            ctx.send_event(Ping(who="t"), step="ping_or_pong")
        return None

    @step
    async def only_ping(self, ev: Ping) -> StopEvent:
        return StopEvent(result=f"only_ping:{ev.who}")

    @step
    async def ping_or_pong(self, ev: Ping | Pong) -> StopEvent:
        return StopEvent(result=f"ping_or_pong:{type(ev).__name__}")


async def test_send_to_a_missing_step_from_a_step_fails_the_run() -> None:
    with pytest.raises(WorkflowRuntimeError) as info:
        await Targets(timeout=1).run(bad_step=True)
    assert str(info.value) == "Step nope does not exist"


async def test_send_of_an_unaccepted_type_from_a_step_fails_the_run() -> None:
    with pytest.raises(WorkflowRuntimeError) as info:
        await Targets(timeout=1).run(bad_type=True)
    assert str(info.value) == (
        f"Step only_ping does not accept event of type <class '{__name__}.Pong'>"
    )


async def test_targeted_send_from_a_step_reaches_only_that_step() -> None:
    assert await Targets(timeout=1).run(targeted=True) == "ping_or_pong:Ping"


async def test_targeted_send_from_the_handler() -> None:
    handler = Targets(timeout=1).run()
    await handler.send_event(Ping(who="h"), step="only_ping")
    assert await handler == "only_ping:h"


async def test_handler_send_to_a_missing_step_raises_immediately() -> None:
    handler = Targets(timeout=1).run()
    with pytest.raises(WorkflowRuntimeError) as info:
        await handler.send_event(Ping(), step="zz")
    assert str(info.value) == "Step zz does not exist"
    with pytest.raises(WorkflowRuntimeError) as info:
        await handler.send_event(Pong(), step="only_ping")
    assert (
        str(info.value) == f"Step only_ping does not accept event of type <class '{__name__}.Pong'>"
    )
    await handler.send_event(Pong())
    assert await handler == "ping_or_pong:Pong"


async def test_external_context_send_event_broadcasts() -> None:
    handler = Targets(timeout=1).run()
    handler.ctx.send_event(Pong())
    assert await handler == "ping_or_pong:Pong"


async def test_send_event_on_a_pre_run_context_raises() -> None:
    ctx = Context(Targets())
    with pytest.raises(ContextStateError) as info:
        ctx.send_event(Ping())
    assert (
        str(info.value) == "send_event() called before workflow started. Call workflow.run() first."
    )


class Counter(Event):
    n: int


class Loop(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Counter | None:
        for n in range(ev.count):
            ctx.send_event(Counter(n=n))
        return None

    @step(num_workers=1)
    async def count(self, ctx: Context, ev: Counter) -> StopEvent | None:
        async with ctx.store.edit_state() as state:
            seen = [*state.get("seen", []), ev.n]
            state["seen"] = seen
        if len(seen) == int(await ctx.store.get("total")):
            return StopEvent(result=seen)
        return None


async def test_sent_events_are_processed_in_send_order_by_a_single_worker() -> None:
    workflow = Loop(timeout=2)
    ctx = Context(workflow)
    await ctx.store.set("total", 6)
    assert await workflow.run(ctx=ctx, count=6) == [0, 1, 2, 3, 4, 5]
