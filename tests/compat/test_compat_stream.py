"""What reaches ``handler.stream_events`` and in which order."""

from __future__ import annotations

import pytest
from compat_support import drain, drain_and_result, step_states, type_names

from reflow import Context, Workflow, step
from reflow.errors import WorkflowRuntimeError, WorkflowTimeoutError
from reflow.events import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    InternalDispatchEvent,
    StartEvent,
    StepStateChanged,
    StopEvent,
    UnhandledEvent,
    WorkflowIdleEvent,
)


class Progress(Event):
    n: int


class Middle(Event):
    pass


class WritesProgress(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Middle | None:
        ctx.write_event_to_stream(Progress(n=1))
        ctx.send_event(Middle())
        ctx.write_event_to_stream(None)
        ctx.write_event_to_stream(Progress(n=2))
        return None

    @step
    async def middle(self, ctx: Context, ev: Middle) -> StopEvent:
        ctx.write_event_to_stream(Progress(n=3))
        return StopEvent(result="ok")


async def test_written_events_stream_in_order_and_sent_events_do_not() -> None:
    events, result = await drain_and_result(WritesProgress(timeout=2).run())
    assert result == "ok"
    assert type_names(events) == ["Progress", "Progress", "Progress", "StopEvent"]
    assert [ev.n for ev in events[:3]] == [1, 2, 3]
    assert events[-1].result == "ok"


class ReturnsMiddle(Workflow):
    @step
    async def start(self, ev: StartEvent) -> Middle:
        return Middle()

    @step
    async def middle(self, ev: Middle) -> StopEvent:
        return StopEvent(result=1)


async def test_ordinary_step_outputs_are_not_published() -> None:
    events = await drain(ReturnsMiddle(timeout=2).run())
    assert type_names(events) == ["StopEvent"]


async def test_internal_events_are_hidden_unless_exposed() -> None:
    events = await drain(ReturnsMiddle(timeout=2).run(), expose_internal=True)
    assert step_states(events) == [
        ("start", "running", "0"),
        ("start", "not_running", "0"),
        ("middle", "running", "0"),
        ("middle", "not_running", "0"),
    ]
    assert isinstance(events[-1], StopEvent)
    assert all(isinstance(ev, InternalDispatchEvent) for ev in events[:-1])


async def test_step_state_changed_name_fields_differ_between_running_and_not_running() -> None:
    events = await drain(ReturnsMiddle(timeout=2).run(), expose_internal=True)
    running, done = events[2], events[3]
    assert isinstance(running, StepStateChanged) and isinstance(done, StepStateChanged)
    assert running.input_event_name == "Middle"
    assert running.output_event_name is None
    assert done.input_event_name == f"<class '{__name__}.Middle'>"
    assert done.output_event_name == f"<class '{StopEvent.__module__}.StopEvent'>"


async def test_step_returning_none_reports_nonetype_as_output_name() -> None:
    events = await drain(WritesProgress(timeout=2).run(), expose_internal=True)
    first_done = next(
        ev
        for ev in events
        if isinstance(ev, StepStateChanged) and ev.step_state.value == "not_running"
    )
    assert first_done.name == "start"
    assert first_done.output_event_name == "<class 'NoneType'>"


async def test_raw_context_stream_includes_internal_events() -> None:
    handler = WritesProgress(timeout=2).run()
    raw = [ev async for ev in handler.ctx.stream_events()]
    await handler
    assert type_names(raw) == [
        "StepStateChanged",
        "Progress",
        "Progress",
        "StepStateChanged",
        "StepStateChanged",
        "Progress",
        "StepStateChanged",
        "StopEvent",
    ]


async def test_stream_read_after_completion_still_yields_buffered_events() -> None:
    handler = WritesProgress(timeout=2).run()
    assert await handler == "ok"
    assert type_names(await drain(handler)) == ["Progress", "Progress", "Progress", "StopEvent"]


async def test_stream_consumed_twice_raises() -> None:
    handler = WritesProgress(timeout=2).run()
    await drain(handler)
    with pytest.raises(WorkflowRuntimeError) as info:
        await drain(handler)
    assert str(info.value) == "All the streamed events have already been consumed."
    assert await handler == "ok"


async def test_a_partially_read_stream_can_be_resumed() -> None:
    handler = WritesProgress(timeout=2).run()
    seen: list[Event] = []
    async for ev in handler.stream_events():
        seen.append(ev)
        break
    seen.extend(await drain(handler))
    assert type_names(seen) == ["Progress", "Progress", "Progress", "StopEvent"]


class Ask(InputRequiredEvent):
    prefix: str


class Reply(HumanResponseEvent):
    response: str


class AsksHuman(Workflow):
    @step
    async def start(self, ev: StartEvent) -> Ask:
        return Ask(prefix="name?")

    @step
    async def answer(self, ev: Reply) -> StopEvent:
        return StopEvent(result=f"hi {ev.response}")


async def test_input_required_event_is_published_and_followed_by_idle() -> None:
    handler = AsksHuman(timeout=2).run()
    seen: list[Event] = []
    async for ev in handler.stream_events(expose_internal=True):
        seen.append(ev)
        if isinstance(ev, Ask):
            assert ev.prefix == "name?"
            await handler.send_event(Reply(response="ann"))
    assert await handler == "hi ann"
    public = [ev for ev in seen if not isinstance(ev, StepStateChanged)]
    assert type_names(public) == ["Ask", "WorkflowIdleEvent", "StopEvent"]
    assert not any(isinstance(ev, UnhandledEvent) for ev in seen)


async def test_input_required_event_is_visible_without_expose_internal() -> None:
    handler = AsksHuman(timeout=2).run()
    seen: list[Event] = []
    async for ev in handler.stream_events():
        seen.append(ev)
        if isinstance(ev, InputRequiredEvent):
            await handler.send_event(Reply(response="bo"))
    assert type_names(seen) == ["Ask", "StopEvent"]
    assert await handler == "hi bo"


class PlainHitl(Workflow):
    @step
    async def start(self, ev: StartEvent) -> InputRequiredEvent:
        return InputRequiredEvent(prefix="q")

    @step
    async def answer(self, ev: HumanResponseEvent) -> StopEvent:
        return StopEvent(result=ev.response)


async def test_base_hitl_events_carry_dynamic_fields() -> None:
    handler = PlainHitl(timeout=2).run()
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            assert ev.prefix == "q"
            assert ev.model_dump() == {"_data": {"prefix": "q"}}
            await handler.send_event(HumanResponseEvent(response="yes"))
    assert await handler == "yes"


class SendsStopEvent(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> StopEvent | None:
        ctx.send_event(StopEvent(result="sent"))
        return None


async def test_a_sent_stop_event_does_not_complete_the_run() -> None:
    handler = SendsStopEvent(timeout=0.1).run()
    events = await drain(handler, expose_internal=True)
    assert type_names(events)[-3:] == [
        "UnhandledEvent",
        "WorkflowIdleEvent",
        "WorkflowTimedOutEvent",
    ]
    unhandled = events[-3]
    assert isinstance(unhandled, UnhandledEvent)
    assert unhandled.event_type == "StopEvent"
    assert unhandled.qualified_name == f"{StopEvent.__module__}.StopEvent"
    with pytest.raises(WorkflowTimeoutError):
        await handler


async def test_idle_event_is_internal() -> None:
    assert issubclass(WorkflowIdleEvent, InternalDispatchEvent)
    assert issubclass(UnhandledEvent, InternalDispatchEvent)
    assert issubclass(StepStateChanged, InternalDispatchEvent)
    assert not issubclass(InputRequiredEvent, InternalDispatchEvent)


class LateStop(StopEvent):
    detail: str


class EndsWithSubclass(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> LateStop:
        ctx.write_event_to_stream(Progress(n=9))
        return LateStop(detail="d")


async def test_stream_ends_with_a_stop_event_subclass() -> None:
    events, result = await drain_and_result(EndsWithSubclass(timeout=2).run())
    assert type_names(events) == ["Progress", "LateStop"]
    assert result == events[-1]
    assert result.detail == "d"


async def test_unhandled_and_idle_notices_are_hidden_without_expose_internal() -> None:
    handler = SendsStopEvent(timeout=0.05).run()
    assert type_names(await drain(handler)) == ["WorkflowTimedOutEvent"]
    with pytest.raises(WorkflowTimeoutError):
        await handler


async def test_an_event_nobody_accepts_sent_from_the_handler_is_reported() -> None:
    handler = AsksHuman(timeout=2).run()
    seen: list[Event] = []
    async for ev in handler.stream_events(expose_internal=True):
        seen.append(ev)
        if isinstance(ev, Ask):
            await handler.send_event(Progress(n=1))
        if isinstance(ev, UnhandledEvent):
            await handler.send_event(Reply(response="z"))
    assert await handler == "hi z"
    unhandled = [ev for ev in seen if isinstance(ev, UnhandledEvent)]
    assert [(u.event_type, u.qualified_name, u.step_name) for u in unhandled] == [
        ("Progress", f"{__name__}.Progress", None)
    ]
