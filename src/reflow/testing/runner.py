"""``WorkflowTestRunner``: run a workflow and collect what it streamed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reflow.events import Event, EventType, StartEvent

if TYPE_CHECKING:
    from reflow.context.context import Context
    from reflow.workflow import Workflow


@dataclass
class WorkflowTestResult:
    collected: list[Event]
    event_types: dict[type, int]
    result: Any
    ctx: Context[Any] | None = field(default=None)


class WorkflowTestRunner:
    def __init__(self, workflow: Workflow) -> None:
        self._workflow = workflow

    async def run(
        self,
        start_event: StartEvent | None = None,
        ctx: Context[Any] | None = None,
        expose_internal: bool = True,
        exclude_events: list[EventType] | None = None,
    ) -> WorkflowTestResult:
        """Run to completion, collecting every streamed event not of an excluded type."""
        excluded = tuple(exclude_events or ())
        handler = self._workflow.run(ctx=ctx, start_event=start_event or StartEvent())
        collected: list[Event] = []
        async for event in handler.stream_events(expose_internal=expose_internal):
            if not (excluded and isinstance(event, excluded)):
                collected.append(event)
        result = await handler
        counts = Counter(type(event) for event in collected)
        return WorkflowTestResult(
            collected=collected, event_types=dict(counts), result=result, ctx=handler.ctx
        )
