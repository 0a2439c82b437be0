"""``ctx.wait_for_event``: human-in-the-loop, requirements, waiter events, timeouts."""

from __future__ import annotations

import asyncio

import pytest
from compat_support import type_names

from reflow import Context, Workflow, step
from reflow.errors import ContextStateError, WorkflowTimeoutError
from reflow.events import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
    UnhandledEvent,
    WorkflowFailedEvent,
)


class Asks(Workflow):
    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        reply = await ctx.wait_for_event(
            HumanResponseEvent,
            waiter_event=InputRequiredEvent(prefix="q?"),
            requirements=ev.get("requirements"),
            timeout=1,
        )
        return StopEvent(result=(type(reply).__name__, reply.response))


async def test_hitl_round_trip_through_the_handler() -> None:
    handler = Asks(timeout=1).run()
    seen: list[Event] = []
    async for ev in handler.stream_events():
        seen.append(ev)
        if isinstance(ev, InputRequiredEvent):
            assert ev.prefix == "q?"
            await handler.send_event(HumanResponseEvent(response="yes"))
    assert type_names(seen) == ["InputRequiredEvent", "StopEvent"]
    assert await handler == ("HumanResponseEvent", "yes")


async def test_waiter_event_is_published_once_and_idle_follows() -> None:
    handler = Asks(timeout=1).run()
    seen: list[Event] = []
    async for ev in handler.stream_events(expose_internal=True):
        seen.append(ev)
        if isinstance(ev, InputRequiredEvent):
            await handler.send_event(HumanResponseEvent(response="a"))
    public = [name for name in type_names(seen) if name != "StepStateChanged"]
    assert public == ["InputRequiredEvent", "WorkflowIdleEvent", "StopEvent"]


async def test_requirements_filter_which_event_resolves_the_waiter() -> None:
    handler = Asks(timeout=1).run(requirements={"user": "bob"})
    seen: list[Event] = []
    async for ev in handler.stream_events(expose_internal=True):
        seen.append(ev)
        if isinstance(ev, InputRequiredEvent):
            await handler.send_event(HumanResponseEvent(response="no", user="al"))
            await handler.send_event(HumanResponseEvent(response="yes", user="bob"))
    assert await handler == ("HumanResponseEvent", "yes")
    unhandled = [ev for ev in seen if isinstance(ev, UnhandledEvent)]
    assert len(unhandled) == 1
    assert unhandled[0].event_type == "HumanResponseEvent"
    assert sum(isinstance(ev, InputRequiredEvent) for ev in seen) == 1


class Reply(HumanResponseEvent):
    pass


class LateReply(Reply):
    pass


class WaitsForSubclass(Workflow):
    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        reply = await ctx.wait_for_event(Reply, waiter_event=InputRequiredEvent(), timeout=1)
        return StopEvent(result=type(reply).__name__)


async def test_waiters_match_the_exact_event_type() -> None:
    handler = WaitsForSubclass(timeout=1).run()
    seen: list[Event] = []
    async for ev in handler.stream_events(expose_internal=True):
        seen.append(ev)
        if isinstance(ev, InputRequiredEvent):
            await handler.send_event(LateReply(response="sub"))
            await handler.send_event(Reply(response="exact"))
    assert await handler == "Reply"
    assert [ev.event_type for ev in seen if isinstance(ev, UnhandledEvent)] == ["LateReply"]


class CatchesTimeout(Workflow):
    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        try:
            await ctx.wait_for_event(HumanResponseEvent, timeout=0.02)
        except asyncio.TimeoutError as exc:
            return StopEvent(result=(type(exc) is asyncio.TimeoutError, str(exc)))
        return StopEvent(result="resolved")


async def test_waiter_timeout_raises_asyncio_timeout_error_in_the_step() -> None:
    assert await CatchesTimeout(timeout=1).run() == (
        True,
        "Timed out waiting for HumanResponseEvent",
    )


class LetsTimeoutEscape(Workflow):
    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        await ctx.wait_for_event(HumanResponseEvent, timeout=0.02)
        return StopEvent(result="resolved")


async def test_uncaught_waiter_timeout_fails_the_run() -> None:
    handler = LetsTimeoutEscape(timeout=1).run()
    events = [ev async for ev in handler.stream_events()]
    assert type_names(events) == ["WorkflowFailedEvent"]
    failed = events[0]
    assert isinstance(failed, WorkflowFailedEvent)
    assert failed.step_name == "ask"
    with pytest.raises(asyncio.TimeoutError, match=r"^Timed out waiting for HumanResponseEvent$"):
        await handler


async def test_run_timeout_still_applies_while_waiting() -> None:
    with pytest.raises(WorkflowTimeoutError):
        await Asks(timeout=0.05).run()


class Ping(Event):
    tag: str


class WaiterDone(Event):
    tag: str


class ObserverDone(Event):
    tag: str


class WaiterAndObserver(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent | Ping) -> WaiterDone | Ping | None:
        if isinstance(ev, Ping):
            await ctx.store.set("start_got_ping_as_input", True)
            return None
        ping = await ctx.wait_for_event(Ping, waiter_event=InputRequiredEvent(), timeout=1)
        return WaiterDone(tag=ping.tag)

    @step
    async def pinged(self, ev: Ping) -> ObserverDone:
        return ObserverDone(tag=ev.tag)

    @step
    async def join(self, ctx: Context, ev: WaiterDone | ObserverDone) -> StopEvent | None:
        both = ctx.collect_events(ev, [WaiterDone, ObserverDone])
        if both is None:
            return None
        return StopEvent(result=[e.tag for e in both])


async def test_resolving_event_skips_the_waiting_step_but_reaches_other_steps() -> None:
    handler = WaiterAndObserver(timeout=1).run()
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            await handler.send_event(Ping(tag="p"))
    assert await handler == ["p", "p"]
    assert await handler.ctx.store.get("start_got_ping_as_input", False) is False


class TwoWaits(Workflow):
    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        first = await ctx.wait_for_event(
            HumanResponseEvent,
            waiter_id="first",
            waiter_event=InputRequiredEvent(prefix="first"),
            requirements={"step": 1},
            timeout=1,
        )
        second = await ctx.wait_for_event(
            HumanResponseEvent,
            waiter_id="second",
            waiter_event=InputRequiredEvent(prefix="second"),
            requirements={"step": 2},
            timeout=1,
        )
        return StopEvent(result=[first.response, second.response])


async def test_sequential_waits_in_one_step_each_publish_their_prompt() -> None:
    handler = TwoWaits(timeout=1).run()
    prompts: list[str] = []
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            prompts.append(ev.prefix)
            number = len(prompts)
            await handler.send_event(HumanResponseEvent(response=f"r{number}", step=number))
    assert prompts == ["first", "second"]
    assert await handler == ["r1", "r2"]


async def test_wait_for_event_outside_a_step_raises() -> None:
    handler = Asks(timeout=1).run()
    with pytest.raises(ContextStateError) as info:
        await handler.ctx.wait_for_event(HumanResponseEvent)
    assert str(info.value) == "wait_for_event is only available from within step functions."
    await handler.send_event(HumanResponseEvent(response="x"))
    assert await handler == ("HumanResponseEvent", "x")


async def test_wait_for_event_before_run_raises() -> None:
    ctx = Context(Asks())
    with pytest.raises(ContextStateError) as info:
        await ctx.wait_for_event(HumanResponseEvent)
    assert (
        str(info.value) == "wait_for_event requires a running workflow. Call workflow.run() first."
    )
