"""Small helpers shared by the compatibility tests."""

from __future__ import annotations

from typing import Any

from reflow.events import Event, StepStateChanged
from reflow.handler import WorkflowHandler


async def drain(handler: WorkflowHandler, *, expose_internal: bool = False) -> list[Event]:
    """Read the handler's whole stream (up to and including the stop event)."""
    return [ev async for ev in handler.stream_events(expose_internal=expose_internal)]


async def drain_and_result(
    handler: WorkflowHandler, *, expose_internal: bool = False
) -> tuple[list[Event], Any]:
    """Read the whole stream, then await the run's result."""
    events = await drain(handler, expose_internal=expose_internal)
    return events, await handler


def type_names(events: list[Event]) -> list[str]:
    """The class names of ``events``, in order."""
    return [type(ev).__name__ for ev in events]


def step_states(events: list[Event]) -> list[tuple[str, str, str]]:
    """``(step name, state value, worker id)`` for each ``StepStateChanged`` in ``events``."""
    return [
        (ev.name, ev.step_state.value, ev.worker_id)
        for ev in events
        if isinstance(ev, StepStateChanged)
    ]
