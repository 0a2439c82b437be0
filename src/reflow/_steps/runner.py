"""Turns a decorated step function into the ``StepWorkerFunction`` the control loop calls."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import weakref
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from reflow.context.context import StepScope, _current_step_context
from reflow.errors import WorkflowRuntimeError
from reflow.events import Event
from reflow.resource import resolve_step_resources
from reflow.runtime.types.step_call import StepCall, StepWorkerFunction

if TYPE_CHECKING:
    from reflow._steps.config import StepConfig
    from reflow.context._host import WorkflowHost


def make_step_worker(
    workflow: WorkflowHost, name: str, func: Callable[..., Any], config: StepConfig
) -> StepWorkerFunction:
    is_async = inspect.iscoroutinefunction(func)
    event_param = config.event_name
    ctx_param = config.context_parameter
    resources = list(config.resources)
    manager = workflow._resource_manager
    collects = config.collection_param is not None
    join_params = [name for name, _ in config.collect_params or ()]
    fans_out = bool(config.is_fan_out)
    # Types the annotation declares only inside a list: returned bare, they would be routed
    # outside the stream their collector waits on, so the run fails at once instead.
    list_only = tuple(
        kind
        for kind in config.return_types
        if fans_out and isinstance(kind, type) and kind not in config.bare_return_types
    )
    bare_types = tuple(kind for kind in config.bare_return_types if isinstance(kind, type))

    # The run_step coroutine stays small (a parked step holds its frame while it waits):
    # building the arguments and checking the result are plain functions around it.
    def arguments(call: StepCall, scope: StepScope) -> dict[str, Any]:
        event: Any = call.event
        if collects:
            event = list(getattr(event, "events", []))
        kwargs: dict[str, Any] = {event_param: event}
        if call.join is not None:
            kwargs.update(zip(join_params, call.join, strict=True))
        if ctx_param is not None:
            kwargs[ctx_param] = scope.context()
        return kwargs

    def checked(result: Any) -> Event | list[Event] | None:
        if fans_out and isinstance(result, list):
            for member in result:
                if not isinstance(member, Event):
                    raise WorkflowRuntimeError(
                        f"Step function {name} returned a list containing "
                        f"{type(member).__name__} instead of an Event instance."
                    )
            return result
        if result is not None and not isinstance(result, Event):
            raise WorkflowRuntimeError(
                f"Step function {name} returned {type(result).__name__} instead of an "
                "Event instance."
            )
        if (
            list_only
            and isinstance(result, list_only)
            and not (bare_types and isinstance(result, bare_types))
        ):
            raise WorkflowRuntimeError(
                f"Step function {name} returned a bare {type(result).__name__} but its return "
                "annotation only declares it inside a list. Return a list (of one) to fan "
                f"out, or add {type(result).__name__} to the annotation as a union member."
            )
        return result

    async def run_step(call: StepCall) -> Event | list[Event] | None:
        scope = StepScope(workflow, call)
        kwargs = arguments(call, scope)
        if resources:
            kwargs.update(await resolve_step_resources(manager, resources))
        token = _current_step_context.set(weakref.ref(scope))
        try:
            if is_async:
                pending = func(**kwargs)
                del kwargs  # the step's frame has its arguments: a waiting step holds no copy
                result = await pending
            else:
                result = await _in_thread(func, kwargs)
        finally:
            _current_step_context.reset(token)
        return checked(result)

    run_step.__qualname__ = f"run_step[{name}]"
    return run_step


async def _in_thread(func: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    """A synchronous step runs in the default executor, in a copy of the step's context."""
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    return await loop.run_in_executor(None, partial(context.run, func, **kwargs))
