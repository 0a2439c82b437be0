"""Helpers shared by the tests of reflow's improvements over the peer."""

from __future__ import annotations

from collections.abc import Callable

from reflow.events import Event, InputRequiredEvent
from reflow.handler import WorkflowHandler


async def answer_prompts(
    handler: WorkflowHandler, answer: Callable[[InputRequiredEvent], Event | None]
) -> list[Event]:
    """Read the whole stream; send ``answer(prompt)`` for each prompt (unless it is None)."""
    seen: list[Event] = []
    async for event in handler.stream_events():
        seen.append(event)
        if isinstance(event, InputRequiredEvent):
            reply = answer(event)
            if reply is not None:
                await handler.send_event(reply)
    return seen
