"""``Context.get_step_context()`` and the faces a context shows inside and outside steps."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from compat_support import drain

from reflow import Context, Workflow, step
from reflow.errors import ContextStateError, WorkflowRuntimeError
from reflow.events import Event, StartEvent, StopEvent


class Note(Event):
    msg: str


async def _helper() -> Context:
    ctx = Context.get_step_context()
    await ctx.store.set("helper", True)
    ctx.write_event_to_stream(Note(msg="from helper"))
    return ctx


def _announce(
    fn: Callable[..., Awaitable[Any]],
) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        Context.get_step_context().write_event_to_stream(Note(msg="from decorator"))
        return await fn(*args, **kwargs)

    return wrapper


class UsesHelpers(Workflow):
    @step
    @_announce
    async def start(self, ctx: Context, ev: StartEvent) -> StopEvent:
        found = await _helper()
        return StopEvent(result=found is ctx)


async def test_helpers_and_decorators_reach_the_running_steps_context() -> None:
    handler = UsesHelpers(timeout=1).run()
    events = await drain(handler)
    assert [ev.msg for ev in events if isinstance(ev, Note)] == ["from decorator", "from helper"]
    assert await handler is True
    assert await handler.ctx.store.get("helper") is True


class NoContextParameter(Workflow):
    @step
    async def start(self, ev: StartEvent) -> StopEvent:
        ctx = Context.get_step_context()
        await ctx.store.set("seen", ev.value)
        return StopEvent(result=type(ctx).__name__)


async def test_a_step_without_a_context_parameter_can_fetch_it() -> None:
    handler = NoContextParameter(timeout=1).run(value=3)
    assert await handler == "Context"
    assert await handler.ctx.store.get("seen") == 3


class SyncStep(Workflow):
    @step
    def start(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=type(Context.get_step_context()).__name__)


async def test_sync_steps_can_fetch_the_step_context() -> None:
    assert await SyncStep(timeout=1).run() == "Context"


def test_outside_a_step_get_step_context_raises() -> None:
    with pytest.raises(WorkflowRuntimeError) as info:
        Context.get_step_context()
    assert (
        str(info.value)
        == "Context.get_step_context() may only be called from within a step function"
    )


async def test_step_context_is_not_available_from_the_handler_side() -> None:
    handler = UsesHelpers(timeout=1).run()
    with pytest.raises(WorkflowRuntimeError):
        Context.get_step_context()
    await handler


async def test_step_only_apis_on_the_external_context_raise() -> None:
    handler = UsesHelpers(timeout=1).run()
    with pytest.raises(ContextStateError) as info:
        handler.ctx.write_event_to_stream(Note(msg="x"))
    assert str(info.value) == "write_event_to_stream is only available from within step functions."
    await handler


async def test_step_only_apis_on_a_pre_run_context_raise() -> None:
    ctx = Context(UsesHelpers())
    assert ctx.is_running is False
    with pytest.raises(ContextStateError) as info:
        ctx.write_event_to_stream(Note(msg="x"))
    assert str(info.value) == (
        "write_event_to_stream requires a running workflow. Call workflow.run() first."
    )
    with pytest.raises(ContextStateError) as info:
        ctx.collect_events(Note(msg="x"), [Note])
    assert (
        str(info.value) == "collect_events requires a running workflow. Call workflow.run() first."
    )
    with pytest.raises(ContextStateError) as info:
        await ctx.running_steps()
    assert (
        str(info.value) == "running_steps requires a running workflow. Call workflow.run() first."
    )
