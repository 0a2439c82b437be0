"""Run timeouts and user cancellation."""

from __future__ import annotations

import asyncio

import pytest
from compat_support import drain, type_names

from reflow import Context, Workflow, step
from reflow.errors import WorkflowCancelledByUser, WorkflowTimeoutError
from reflow.events import (
    Event,
    StartEvent,
    StopEvent,
    WorkflowCancelledEvent,
    WorkflowTimedOutEvent,
)

_gate: dict[str, asyncio.Event] = {}


class Side(Event):
    pass


class TwoBusySteps(Workflow):
    @step
    async def zeta(self, ctx: Context, ev: StartEvent) -> Side | StopEvent:
        ctx.send_event(Side())
        _gate["zeta_started"].set()
        await _gate["open"].wait()
        return StopEvent(result="zeta done")

    @step
    async def alpha(self, ctx: Context, ev: Side) -> None:
        _gate["alpha_started"].set()
        try:
            await _gate["open"].wait()
        except asyncio.CancelledError:
            _gate["alpha_cancelled"] = asyncio.Event()
            raise


@pytest.fixture(autouse=True)
def _fresh_gate() -> None:
    _gate.clear()
    for name in ("open", "zeta_started", "alpha_started"):
        _gate[name] = asyncio.Event()


async def _both_started() -> None:
    await asyncio.wait_for(_gate["zeta_started"].wait(), 1)
    await asyncio.wait_for(_gate["alpha_started"].wait(), 1)


async def test_timeout_error_names_active_steps_sorted() -> None:
    handler = TwoBusySteps(timeout=0.1).run()
    with pytest.raises(WorkflowTimeoutError) as info:
        await handler
    assert str(info.value) == (
        "Operation timed out after 0.1 seconds. Currently active steps: alpha, zeta"
    )


async def test_timed_out_event_is_published_last_with_timeout_and_active_steps() -> None:
    handler = TwoBusySteps(timeout=1.0).run()  # time for both steps to start on a busy machine
    events = await drain(handler, expose_internal=True)
    timed_out = events[-1]
    assert isinstance(timed_out, WorkflowTimedOutEvent)
    assert isinstance(timed_out, StopEvent)
    assert timed_out.timeout == 1.0
    assert timed_out.active_steps == ["alpha", "zeta"]
    assert timed_out.model_dump() == {"timeout": 1.0, "active_steps": ["alpha", "zeta"]}
    with pytest.raises(WorkflowTimeoutError):
        await handler
    assert handler.get_stop_event() is None
    assert handler.is_done() is True


class Stalls(Workflow):
    @step
    async def start(self, ev: StartEvent) -> Side | None:
        return None

    @step
    async def never(self, ev: Side) -> StopEvent:
        return StopEvent()


async def test_timeout_with_no_active_steps() -> None:
    handler = Stalls(timeout=0.1).run()
    events = await drain(handler)
    assert type_names(events) == ["WorkflowTimedOutEvent"]
    assert events[0].active_steps == []
    with pytest.raises(WorkflowTimeoutError) as info:
        await handler
    assert str(info.value) == "Operation timed out after 0.1 seconds. No steps active"


async def test_integer_timeout_is_reported_as_a_float() -> None:
    with pytest.raises(WorkflowTimeoutError) as info:
        await Stalls(timeout=0).run()
    assert str(info.value) == "Operation timed out after 0.0 seconds. No steps active"


async def test_timeout_cancels_running_steps() -> None:
    handler = TwoBusySteps(timeout=0.1).run()
    with pytest.raises(WorkflowTimeoutError):
        await handler
    assert "alpha_cancelled" in _gate


async def test_cancel_run_ends_the_run_with_cancelled_by_user() -> None:
    handler = TwoBusySteps(timeout=2).run()
    await _both_started()
    await handler.cancel_run()
    assert handler.is_done() is True
    with pytest.raises(WorkflowCancelledByUser) as info:
        await handler
    assert str(info.value) == ""
    assert "alpha_cancelled" in _gate


async def test_cancel_publishes_cancelled_event_and_sets_it_as_stop_event() -> None:
    handler = TwoBusySteps(timeout=2).run()
    await _both_started()
    await handler.cancel_run()
    events = await drain(handler)
    assert type_names(events) == ["WorkflowCancelledEvent"]
    assert isinstance(events[0], StopEvent)
    assert isinstance(handler.get_stop_event(), WorkflowCancelledEvent)
    assert handler.ctx.is_running is False
    with pytest.raises(WorkflowCancelledByUser):
        await handler


async def test_cancel_before_any_step_finishes() -> None:
    handler = TwoBusySteps(timeout=2).run()
    await handler.cancel_run()
    events = await drain(handler, expose_internal=True)
    assert type_names(events)[-1] == "WorkflowCancelledEvent"
    with pytest.raises(WorkflowCancelledByUser):
        await handler


async def test_cancel_after_completion_changes_nothing() -> None:
    handler = TwoBusySteps(timeout=2).run()
    _gate["open"].set()
    assert await handler == "zeta done"
    await handler.cancel_run()
    assert await handler == "zeta done"
    assert type(handler.get_stop_event()) is StopEvent


async def test_running_steps_lists_steps_with_active_workers_sorted() -> None:
    handler = TwoBusySteps(timeout=2).run()
    await _both_started()
    assert handler.ctx.is_running is True
    assert await handler.ctx.running_steps() == ["alpha", "zeta"]
    _gate["open"].set()
    assert await handler == "zeta done"
    assert handler.ctx.is_running is False


async def test_a_cancelled_run_snapshot_is_still_running_and_resumable() -> None:
    workflow = TwoBusySteps(timeout=2)
    handler = workflow.run()
    await _both_started()
    await handler.cancel_run()
    with pytest.raises(WorkflowCancelledByUser):
        await handler
    snapshot = handler.ctx.to_dict()
    assert snapshot["is_running"] is True
    _gate["open"].set()
    restored = Context.from_dict(workflow, snapshot)
    assert restored.is_running is True
    assert await workflow.run(ctx=restored) == "zeta done"
