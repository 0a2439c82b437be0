"""Running one workflow to its end while feeding a view and answering its questions."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

from reflow import Workflow
from reflow.cli._errors import InvalidWorkflow, UsageProblem, one_line
from reflow.cli._format import prompt_text
from reflow.cli._live import NoAnswer, RunView
from reflow.errors import WorkflowConfigurationError, WorkflowValidationError
from reflow.events import (
    HumanResponseEvent,
    InputRequiredEvent,
    InternalDispatchEvent,
    StepStateChanged,
    StopEvent,
    UnhandledEvent,
    WorkflowFailedEvent,
)
from reflow.handler import WorkflowHandler

_CANCEL_GRACE_SECONDS = 5.0


class DeadlineExceeded(Exception):
    """The CLI's own ``--timeout`` passed before the run ended; the run was cancelled."""


@dataclass
class RunOutcome:
    """How a run ended: ``error`` is None on success, and then ``result`` holds the result."""

    run_id: str
    workflow_name: str
    seconds: float
    result: Any = None
    error: BaseException | None = None
    failed_step: str | None = None


async def drive(
    workflow: Workflow,
    kwargs: dict[str, Any],
    view: RunView,
    deadline: float | None = None,
) -> RunOutcome:
    """Start ``workflow.run(**kwargs)``, stream it into ``view`` and wait for its result.

    ``deadline`` (seconds) is enforced here, by cancelling the run; it is only needed when the
    workflow's own timeout could not be set. Failures to *start* (an invalid workflow, start
    arguments that do not fit) raise CLI errors; failures of the run end up in the outcome.
    """
    name = workflow.workflow_name
    try:
        handler = workflow.run(**kwargs)
    except (WorkflowValidationError, WorkflowConfigurationError) as exc:
        raise InvalidWorkflow(str(exc)) from exc
    except Exception as exc:
        raise UsageProblem(f"cannot start {name}: {one_line(exc)}") from exc
    started = time.monotonic()
    outcome = RunOutcome(run_id=handler.run_id, workflow_name=name, seconds=0.0)
    view.start(outcome.run_id, name)

    async def follow() -> Any:
        async for event in handler.stream_events(expose_internal=True):
            if isinstance(event, StepStateChanged):
                view.step_changed(event)
            elif isinstance(event, WorkflowFailedEvent):
                outcome.failed_step = event.step_name
                view.step_failed(event.step_name, one_line(event.exception))
            elif isinstance(event, StopEvent):
                pass  # the result is reported once the handler resolves
            elif isinstance(event, UnhandledEvent):
                view.unhandled(event)
            elif isinstance(event, InternalDispatchEvent):
                pass
            elif isinstance(event, InputRequiredEvent):
                answer = await view.ask(prompt_text(event))
                await handler.send_event(HumanResponseEvent(response=answer))
            else:
                view.event(event)
        return await handler

    try:
        if deadline is None:
            outcome.result = await follow()
        else:
            try:
                outcome.result = await asyncio.wait_for(follow(), deadline)
            except asyncio.TimeoutError:
                raise DeadlineExceeded(
                    f"the run took longer than {deadline:g} seconds and was cancelled"
                ) from None
    except (NoAnswer, DeadlineExceeded) as exc:
        outcome.error = exc
        await _cancel(handler)
    except Exception as exc:
        outcome.error = exc
    finally:
        outcome.seconds = time.monotonic() - started
        view.finish()
    if isinstance(outcome.error, (WorkflowValidationError, WorkflowConfigurationError)):
        raise InvalidWorkflow(str(outcome.error)) from outcome.error
    return outcome


async def _cancel(handler: WorkflowHandler) -> None:
    """Cancel the run and wait for it to settle; its own error no longer matters."""
    with contextlib.suppress(Exception):
        await handler.cancel_run()
    with contextlib.suppress(Exception, asyncio.CancelledError):
        await asyncio.wait_for(asyncio.shield(handler), _CANCEL_GRACE_SECONDS)
