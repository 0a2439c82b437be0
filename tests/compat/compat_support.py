"""Small helpers shared by the compatibility tests."""

from __future__ import annotations

import asyncio
from typing import Any

from reflow import Context, Workflow
from reflow.events import Event, InputRequiredEvent, StepStateChanged
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


async def resume_from_snapshot_after_prompts(workflow: Workflow, prompts: int) -> WorkflowHandler:
    """Run ``workflow`` until it has asked ``prompts`` questions, snapshot it with
    ``ctx.to_dict()``, cancel it, and return the run resumed from that snapshot."""
    handler = workflow.run()
    seen = 0
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            seen += 1
            if seen == prompts:
                break
    await asyncio.sleep(0.02)  # let the other branches reach their waits too
    data = handler.ctx.to_dict()
    await handler.cancel_run()
    resumed = workflow.run(ctx=Context.from_dict(workflow, data))
    await asyncio.sleep(0.05)  # the resumed run re-registers its waiters
    return resumed
