"""Step failures that nothing absorbs: the original exception and ``WorkflowFailedEvent``."""

from __future__ import annotations

import asyncio

import pytest
from compat_support import drain, step_states, type_names

from reflow import Context, Workflow, step
from reflow.events import Event, StartEvent, StepStateChanged, StopEvent, WorkflowFailedEvent


class Boom(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(f"code {code}")
        self.code = code


class Hop(Event):
    pass


_raised: list[Exception] = []


class FailsInSecondStep(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Hop:
        ctx.write_event_to_stream(Hop())
        return Hop()

    @step
    async def explode(self, ev: Hop) -> StopEvent:
        exc = Boom(3)
        _raised.append(exc)
        raise exc


async def test_await_handler_reraises_the_original_exception_object() -> None:
    _raised.clear()
    handler = FailsInSecondStep(timeout=2).run()
    with pytest.raises(Boom) as info:
        await handler
    assert info.value is _raised[0]
    assert info.value.code == 3
    assert handler.is_done() is True


async def test_failure_publishes_workflow_failed_event_last() -> None:
    _raised.clear()
    handler = FailsInSecondStep(timeout=2).run()
    events = await drain(handler)
    assert type_names(events) == ["Hop", "WorkflowFailedEvent"]
    failed = events[-1]
    assert isinstance(failed, WorkflowFailedEvent)
    assert isinstance(failed, StopEvent)
    assert failed.step_name == "explode"
    assert failed.exception is _raised[0]
    assert failed.attempts == 1
    assert isinstance(failed.elapsed_seconds, float) and failed.elapsed_seconds >= 0
    assert failed.result is None
    with pytest.raises(Boom):
        await handler


async def test_workflow_failed_event_serializes_the_exception_as_type_and_message() -> None:
    _raised.clear()
    handler = FailsInSecondStep(timeout=2).run()
    failed = (await drain(handler))[-1]
    dumped = failed.model_dump()
    assert dumped["step_name"] == "explode"
    assert dumped["exception"] == {
        "exception_type": f"{__name__}.Boom",
        "exception_message": "code 3",
    }
    assert dumped["attempts"] == 1
    with pytest.raises(Boom):
        await handler


async def test_failed_step_reports_no_output_event_name() -> None:
    handler = FailsInSecondStep(timeout=2).run()
    events = await drain(handler, expose_internal=True)
    assert step_states(events) == [
        ("start", "running", "0"),
        ("start", "not_running", "0"),
        ("explode", "running", "0"),
        ("explode", "not_running", "0"),
    ]
    last_state = [ev for ev in events if isinstance(ev, StepStateChanged)][-1]
    assert last_state.output_event_name is None
    with pytest.raises(Boom):
        await handler


def test_workflow_failed_event_fields_default_to_none() -> None:
    failed = WorkflowFailedEvent(step_name="s", exception=ValueError("v"))
    assert failed.attempts is None
    assert failed.elapsed_seconds is None


_slow_started: dict[str, asyncio.Event] = {}


class SlowSibling(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Hop:
        ctx.send_event(Hop())
        await _slow_started["event"].wait()
        raise ValueError("early failure")

    @step
    async def slow(self, ctx: Context, ev: Hop) -> StopEvent:
        _slow_started["event"].set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            await ctx.store.set("cancelled", True)
            raise
        return StopEvent(result="never")


async def test_a_failure_cancels_running_siblings_and_ends_the_run() -> None:
    _slow_started["event"] = asyncio.Event()
    handler = SlowSibling(timeout=5).run()
    with pytest.raises(ValueError, match=r"^early failure$"):
        await handler
    assert await handler.ctx.store.get("cancelled", False) is True


class FailsSync(Workflow):
    @step
    def start(self, ev: StartEvent) -> StopEvent:
        raise LookupError("sync failure")


async def test_sync_step_exception_is_reraised() -> None:
    with pytest.raises(LookupError, match=r"^sync failure$"):
        await FailsSync(timeout=2).run()


async def test_stop_event_is_not_set_after_a_failure() -> None:
    handler = FailsSync(timeout=2).run()
    with pytest.raises(LookupError):
        await handler
    assert handler.get_stop_event() is None
