"""Running one workflow to its end while feeding a view and answering its questions."""

from __future__ import annotations

import asyncio
import contextlib
import time
from asyncio import FIRST_COMPLETED
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from reflow import Workflow
from reflow.cli._errors import InvalidWorkflow, UsageProblem, described, one_line
from reflow.cli._format import prompt_text
from reflow.cli._live import RunView
from reflow.errors import WorkflowConfigurationError, WorkflowValidationError
from reflow.events import (
    HumanResponseEvent,
    InputRequiredEvent,
    InternalDispatchEvent,
    StepAttemptFailed,
    StepStateChanged,
    StopEvent,
    UnhandledEvent,
    WorkflowFailedEvent,
)
from reflow.handler import WorkflowHandler

_CANCEL_GRACE_SECONDS = 5.0


class NoAnswer(Exception):
    """Standard input closed before a question of an in-memory run was answered."""


class _LeaveWaiting(Exception):
    """The question cannot be answered here: leave the (durable) run waiting for it."""


@dataclass
class Attachment:
    """What the journal tells the command line about the run it drives.

    ``history`` is how many of the run's events were stored before this process attached
    (they are shown once, marked as history); ``open_questions`` lists the seqs of the run's
    questions no answer has met (journaled or queued); with ``can_wait`` a question that
    cannot be answered here leaves the run waiting instead of cancelling it, and ``detach``
    leaves it at its first open question without asking.
    """

    history: int = 0
    finished: bool = False  # the run had ended: its whole stream is history
    open_questions: Callable[[str], Awaitable[list[int]]] | None = None
    can_wait: bool = False
    detach: bool = False


@dataclass
class RunOutcome:
    """How a run ended: ``error`` is None on success, and then ``result`` holds the result.

    ``waiting`` is the question a run was left waiting on (the run did not end).
    """

    run_id: str
    workflow_name: str
    seconds: float
    result: Any = None
    error: BaseException | None = None
    failed_step: str | None = None
    waiting: str | None = None


class _Questions:
    """The run's open questions as they are asked here, one at a time, oldest first.

    A question is asked only while it is open: one answered already (a queued
    ``reflow runs send``, a resumed run's history) is skipped, and the prompt of one answered
    from elsewhere while it is shown is withdrawn.
    """

    _POLL_SECONDS = 0.2

    def __init__(self, handler: WorkflowHandler, view: RunView, attachment: Attachment) -> None:
        self.handler = handler
        self.view = view
        self.attachment = attachment
        self.queue: list[tuple[int, InputRequiredEvent]] = []
        self.task: asyncio.Task[None] | None = None
        self.prompt: str | None = None
        self.prompt_seq = 0
        self.stopped: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()

    async def is_open(self, seq: int) -> bool:
        lookup = self.attachment.open_questions
        return lookup is None or seq in await lookup(self.handler.run_id)

    def add(self, seq: int, event: InputRequiredEvent) -> None:
        self.queue.append((seq, event))
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._work())

    async def _work(self) -> None:
        try:
            while self.queue:
                seq, event = self.queue.pop(0)
                if await self.is_open(seq):
                    await self._ask(seq, prompt_text(event))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # reported through ``stopped``, which the drive waits on
            if not self.stopped.done():
                self.stopped.set_result(exc)

    async def _ask(self, seq: int, prompt: str) -> None:
        if self.attachment.detach:
            raise _LeaveWaiting(prompt)
        self.prompt, self.prompt_seq = prompt, seq
        read = asyncio.get_running_loop().create_task(self.view.ask(prompt))
        try:
            while not read.done():
                await asyncio.wait({read}, timeout=self._POLL_SECONDS)
                elsewhere = self.attachment.open_questions is not None
                if not read.done() and elsewhere and not await self.is_open(seq):
                    read.cancel()
                    self.prompt = None
                    self.view.withdraw(prompt, "it was answered from elsewhere")
                    return
            answer = read.result()
        finally:
            if not read.done():
                read.cancel()
                # Let the view put its display back before anything else draws.
                with contextlib.suppress(BaseException):
                    await read
        self.prompt = None
        if answer is None:
            if self.attachment.can_wait:
                raise _LeaveWaiting(prompt)
            raise NoAnswer(f"no answer to {prompt.strip()!r}: standard input is closed")
        await self.handler.send_event(HumanResponseEvent(response=answer))

    async def close(self, reason: str) -> None:
        """Stop asking; a prompt still shown is withdrawn with ``reason`` (or the better one,
        that the question was answered from elsewhere)."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task
        if self.prompt is not None:
            with contextlib.suppress(Exception):
                if self.attachment.open_questions and not await self.is_open(self.prompt_seq):
                    reason = "it was answered from elsewhere"
            self.view.withdraw(self.prompt, reason)
            self.prompt = None


async def drive(
    workflow: Workflow,
    kwargs: dict[str, Any],
    view: RunView,
    attachment: Attachment | None = None,
) -> RunOutcome:
    """Start ``workflow.run(**kwargs)``, stream it into ``view`` and wait for its result.

    Failures to *start* (an invalid workflow, start arguments that do not fit) raise CLI
    errors; failures of the run end up in the outcome.
    """
    attachment = attachment or Attachment()
    name = workflow.workflow_name
    try:
        handler = workflow.run(**kwargs)
    except (WorkflowValidationError, WorkflowConfigurationError) as exc:
        raise InvalidWorkflow(described(exc)) from exc
    except Exception as exc:
        raise UsageProblem(f"cannot start {name}: {one_line(exc)}") from exc
    started = time.monotonic()
    outcome = RunOutcome(run_id=handler.run_id, workflow_name=name, seconds=0.0)
    view.start(outcome.run_id, name)
    questions = _Questions(handler, view, attachment)

    async def follow() -> Any:
        seq = 0
        if attachment.history:
            view.history(True)
        async for event in handler.stream_events(expose_internal=True):
            seq += 1
            if isinstance(event, StepStateChanged):
                view.step_changed(event)
            elif isinstance(event, WorkflowFailedEvent):
                outcome.failed_step = event.step_name
                view.step_failed(event.step_name, one_line(event.exception))
            elif isinstance(event, StopEvent):
                pass  # the result is reported once the handler resolves
            elif isinstance(event, UnhandledEvent):
                view.unhandled(event)
            elif isinstance(event, StepAttemptFailed):
                view.attempt_failed(event, max_attempts(workflow, event.step_name))
            elif isinstance(event, InternalDispatchEvent):
                pass
            elif isinstance(event, InputRequiredEvent):
                questions.add(seq, event)
            else:
                view.event(event)
            if seq == attachment.history and not attachment.finished:
                view.history(False)
        return await handler

    async def follow_or_stop() -> Any:
        following = asyncio.ensure_future(follow())
        try:
            await asyncio.wait({following, questions.stopped}, return_when=FIRST_COMPLETED)
        finally:
            if not following.done():
                following.cancel()
                with contextlib.suppress(BaseException):
                    await following
        if following.done() and not following.cancelled():
            return following.result()
        raise questions.stopped.result()

    try:
        outcome.result = await follow_or_stop()
    except _LeaveWaiting as exc:
        outcome.waiting = str(exc)
    except NoAnswer as exc:
        outcome.error = exc
        await _cancel(handler)
    except Exception as exc:
        outcome.error = exc
    finally:
        await questions.close("the run ended" if outcome.waiting is None else "left waiting")
        view.history(False, "end of the stored history")
        outcome.seconds = time.monotonic() - started
        view.finish()
    if isinstance(outcome.error, (WorkflowValidationError, WorkflowConfigurationError)):
        raise InvalidWorkflow(described(outcome.error)) from outcome.error
    return outcome


def max_attempts(workflow: Workflow, step_name: str) -> int | None:
    """How many attempts the step's retry policy allows, when it says (``stop_after_attempt``)."""
    config = getattr(workflow, "_configs", {}).get(step_name)
    policy = getattr(config, "retry_policy", None)
    limit = getattr(getattr(policy, "stop", None), "max_attempt_number", None)
    if limit is None:
        limit = getattr(policy, "maximum_attempts", None)
    if limit is None and config is not None and policy is None:
        return 1
    return limit if isinstance(limit, int) else None


async def _cancel(handler: WorkflowHandler) -> None:
    """Cancel the run and wait for it to settle; its own error no longer matters."""
    with contextlib.suppress(Exception):
        await handler.cancel_run()
    with contextlib.suppress(Exception, asyncio.CancelledError):
        await asyncio.wait_for(asyncio.shield(handler), _CANCEL_GRACE_SECONDS)
