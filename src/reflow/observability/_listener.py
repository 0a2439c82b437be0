"""``OtelRunListener``: turns one run's ticks and commands into spans and metric points.

It reads only what the reducer already says: a ``TickStartRun`` opens the run span, a
``CommandRunStep`` takes a worker slot and opens the attempt span (before its tick is journaled:
a runtime may send it along), ``on_attempt`` makes it current in the attempt's own context (so
the step's own spans and logs nest under it), the attempt's outcome tick closes it, a
``TickStepWaiting`` opens a wait span that the resuming ``CommandRunStep`` closes, a retry
timer is a retry-delay span, and the terminal command closes the run.
Times are the ticks' own ``at`` stamps, so spans line up with the run's journal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span

from reflow.engine import (
    Command,
    CommandCancelStep,
    CommandCancelTimer,
    CommandCompleteRun,
    CommandFailRun,
    CommandHaltRun,
    CommandRunStep,
    CommandSchedule,
    RunState,
    TickAddEvent,
    TickStartRun,
    TickStepFailed,
    TickStepReturned,
    TickStepWaiting,
    TickTimerFired,
    WorkflowTick,
)
from reflow.engine.state import TimerAddEvent, TimerStepDeadline
from reflow.errors import StepTimeoutError, WorkflowCancelledByUser, WorkflowTimeoutError
from reflow.events import Event, StopEvent
from reflow.observability import _attributes as attr
from reflow.observability._command_span import command_tracer
from reflow.observability._guarded import GuardedListener
from reflow.observability._logs import LogFields, current_log_fields
from reflow.observability._metrics import Instruments
from reflow.observability._propagation import (
    forget_attempt_span,
    remember_attempt_span,
    remember_run_span,
)
from reflow.observability._spans import fail_span, ns, type_name
from reflow.runtime.types.step_call import StepCall

ARRIVALS_LIMIT = 10_000


@dataclass(slots=True)
class _Attempt:
    span: Span
    started: float
    step: str
    number: int


class OtelRunListener(GuardedListener):
    def __init__(
        self,
        driver: Any,
        workflow: Any,
        tracer: trace.Tracer,
        instruments: Instruments,
        parent: otel_context.Context,
        on_run_span: Callable[[Span, bool], None] | None = None,
    ) -> None:
        self._driver = driver
        self._run_id: str = driver.run_id
        name = getattr(workflow, "workflow_name", None)
        self._workflow: str = name if isinstance(name, str) else "unknown"
        self._label = type(workflow).__name__ if workflow is not None else "workflow"
        self._tracer = tracer
        self._m = instruments
        self._parent = parent
        self._on_run_span = on_run_span  # told of the new run span (the durable trace store)
        self._labels = {attr.WORKFLOW: self._workflow}
        self._run_span: Span | None = None
        self._run_context: otel_context.Context = parent
        self._attempts: dict[int, _Attempt] = {}
        self._waits: dict[int, Span] = {}
        self._delays: dict[int, Span] = {}
        self._deadlines: dict[int, int] = {}
        self._timed_out: set[int] = set()
        self._arrivals: dict[int, tuple[Event, float]] = {}
        self._ended = False
        # In the run's own context: every timer, flush and attempt of the run inherits it.
        current_log_fields.set(LogFields(self._run_id, self._workflow))

    # -- RunListener ---------------------------------------------------------------------

    def _on_tick(self, state: RunState, tick: WorkflowTick, commands: Sequence[Command]) -> None:
        at = tick.at
        kind = type(tick)
        if kind is TickStartRun:
            assert isinstance(tick, TickStartRun)
            self._start(tick)
        elif kind is TickAddEvent:
            assert isinstance(tick, TickAddEvent)
            if tick.delay is None:
                self._arrive(tick.event, at)
        elif kind is TickStepReturned:
            assert isinstance(tick, TickStepReturned)
            self._returned(tick)
        elif kind is TickStepFailed:
            assert isinstance(tick, TickStepFailed)
            self._failed(state, tick, commands)
        elif kind is TickStepWaiting:
            assert isinstance(tick, TickStepWaiting)
            self._waiting(tick)
        elif kind is TickTimerFired:
            assert isinstance(tick, TickTimerFired)
            self._fired(tick.timer_id, at)
        for cmd in commands:
            ckind = type(cmd)
            if ckind is CommandRunStep:
                assert isinstance(cmd, CommandRunStep)
                self._take_slot(cmd, at)
            elif ckind is CommandSchedule:
                assert isinstance(cmd, CommandSchedule)
                timer = state.timers.get(cmd.timer_id)
                if timer is not None and isinstance(timer.action, TimerStepDeadline):
                    self._deadlines[cmd.timer_id] = timer.action.attempt_id
            elif ckind is CommandCancelStep:
                assert isinstance(cmd, CommandCancelStep)
                self._cancelled(cmd, at)
            elif ckind is CommandCancelTimer:
                assert isinstance(cmd, CommandCancelTimer)
                self._deadlines.pop(cmd.timer_id, None)
                self._end_delay(cmd.timer_id, at, cancelled=True)
            elif isinstance(cmd, (CommandCompleteRun, CommandFailRun, CommandHaltRun)):
                self._end_run(cmd, at)
                return

    def _on_attempt(self, call: StepCall) -> None:
        open_attempt = self._attempts.get(call.attempt_id)
        if open_attempt is None:  # its ``CommandRunStep`` went by unseen
            number = call.retry.retry_number + 1
            open_attempt = self._open_attempt(
                call.step_name,
                call.attempt_id,
                number,
                call.worker_id,
                call.event,
                self._driver.now(),
            )
        # This context is the attempt task's own copy: nothing to detach.
        otel_context.attach(trace.set_span_in_context(open_attempt.span, self._run_context))
        command_tracer.set(self._tracer)  # the step's commands get their spans from it
        current_log_fields.set(
            LogFields(self._run_id, self._workflow, call.step_name, open_attempt.number)
        )

    def on_journal_write(self, ticks: int, seconds: float) -> None:
        self._m.journal_write.record(seconds, self._labels)

    def on_done(self, result: asyncio.Future[StopEvent]) -> None:
        """The run left this process without a terminal command (released, taken over)."""
        if not self._ended:
            self._close_all(self._driver.now())
            if self._run_span is not None:
                self._run_span.set_attribute(attr.RUN_OUTCOME, "released")
                self._run_span.end(end_time=ns(self._driver.now()))
            self._ended = True

    # -- the run -------------------------------------------------------------------------

    def _start(self, tick: TickStartRun) -> None:
        resumed = tick.start_event is None
        attributes: dict[str, Any] = {
            attr.RUN_ID: self._run_id,
            attr.WORKFLOW: self._workflow,
            attr.RUN_RESUMED: resumed,
        }
        if tick.start_event is not None:
            attributes[attr.START_EVENT] = type_name(tick.start_event)
            self._arrive(tick.start_event, tick.at)
        span = self._tracer.start_span(
            f"run {self._label}",
            context=self._parent,
            start_time=ns(tick.at),
            attributes=attributes,
        )
        self._run_span = span
        self._run_context = trace.set_span_in_context(span, self._parent)
        remember_run_span(self._run_id, span)
        self._m.runs_started.add(1, {**self._labels, attr.RUN_RESUMED: resumed})
        if self._on_run_span is not None:
            self._on_run_span(span, resumed)

    def _end_run(self, cmd: Command, at: float) -> None:
        error: BaseException | None = None
        if isinstance(cmd, CommandCompleteRun):
            outcome = "completed"
        elif isinstance(cmd, CommandFailRun):
            outcome, error = "failed", cmd.exception
        else:
            assert isinstance(cmd, CommandHaltRun)
            error = cmd.exception
            if isinstance(error, WorkflowCancelledByUser):
                outcome, error = "cancelled", None  # the user's choice, not an error
            elif isinstance(error, WorkflowTimeoutError):
                outcome = "timed_out"
            else:
                outcome = "halted"
        self._close_all(at)
        span = self._run_span
        if span is not None:
            span.set_attribute(attr.RUN_OUTCOME, outcome)
            if error is not None:
                fail_span(span, error, at)
            span.end(end_time=ns(at))
        self._m.runs_finished.add(1, {**self._labels, attr.RUN_OUTCOME: outcome})
        self._ended = True

    def _close_all(self, at: float) -> None:
        for attempt_id in list(self._attempts):
            self._end_attempt(attempt_id, at, "cancelled")
        for timer_id in list(self._delays):
            self._end_delay(timer_id, at, cancelled=True)
        self._arrivals.clear()

    # -- attempts ------------------------------------------------------------------------

    def _arrive(self, event: Event, at: float) -> None:
        arrivals = self._arrivals
        if len(arrivals) >= ARRIVALS_LIMIT:
            arrivals.clear()
        # The event itself is kept, so its id cannot be reused while it is remembered.
        arrivals[id(event)] = (event, at)

    def _take_slot(self, cmd: CommandRunStep, at: float) -> None:
        self._m.levels.change(self._m.levels.steps_active, self._workflow, 1)
        if cmd.resume_waiter is not None:
            received = cmd.resolved.get(cmd.resume_waiter) is not None
            self._end_wait(cmd.attempt_id, at, "received" if received else "timed_out")
            return
        if cmd.retry.retry_number == 0:
            arrival = self._arrivals.get(id(cmd.event))
            if arrival is not None and arrival[0] is cmd.event:
                labels = {**self._labels, attr.STEP: cmd.step_name}
                self._m.queue_wait.record(max(0.0, at - arrival[1]), labels)
        # The attempt's span opens now, before the tick that starts it is journaled: a
        # runtime that enqueues the attempt with its tick sends this span as the parent.
        if cmd.attempt_id not in self._attempts:
            number = cmd.retry.retry_number + 1
            self._open_attempt(cmd.step_name, cmd.attempt_id, number, cmd.worker_id, cmd.event, at)

    def _open_attempt(
        self, step: str, attempt_id: int, number: int, worker_id: int, event: Event, at: float
    ) -> _Attempt:
        span = self._tracer.start_span(
            f"step {step}",
            context=self._run_context,
            start_time=ns(at),
            attributes={
                attr.RUN_ID: self._run_id,
                attr.WORKFLOW: self._workflow,
                attr.STEP: step,
                attr.ATTEMPT: number,
                attr.ATTEMPT_ID: attempt_id,
                attr.WORKER: worker_id,
                attr.INPUT_EVENT: type_name(event),
            },
        )
        opened = self._attempts[attempt_id] = _Attempt(span, at, step, number)
        remember_attempt_span(self._run_id, attempt_id, span)
        return opened

    def _returned(self, tick: TickStepReturned) -> None:
        open_attempt = self._attempts.get(tick.attempt_id)
        if open_attempt is not None:
            result = tick.result
            produced = result if isinstance(result, list) else [] if result is None else [result]
            if produced:
                open_attempt.span.set_attribute(
                    attr.OUTPUT_EVENTS, sorted({type_name(event) for event in produced})
                )
            for event in produced:
                self._arrive(event, tick.at)
        self._end_attempt(tick.attempt_id, tick.at, "returned")

    def _failed(self, state: RunState, tick: TickStepFailed, commands: Sequence[Command]) -> None:
        open_attempt = self._attempts.get(tick.attempt_id)
        if open_attempt is not None:
            delay = self._retry_delay(state, tick, commands)
            if delay is not None:
                open_attempt.span.set_attribute(attr.RETRY_DELAY, delay)
        self._end_attempt(tick.attempt_id, tick.at, "failed", tick.exception)

    def _retry_delay(
        self, state: RunState, tick: TickStepFailed, commands: Sequence[Command]
    ) -> float | None:
        """The delay before the retry this failure scheduled, opening its span; or None."""
        for cmd in commands:
            if not isinstance(cmd, CommandSchedule):
                continue
            timer = state.timers.get(cmd.timer_id)
            action = None if timer is None else timer.action
            if isinstance(action, TimerAddEvent) and action.step_name == tick.step_name:
                delay = max(0.0, cmd.due - tick.at)
                self._delays[cmd.timer_id] = self._tracer.start_span(
                    f"retry_delay {tick.step_name}",
                    context=self._run_context,
                    start_time=ns(tick.at),
                    attributes={
                        attr.RUN_ID: self._run_id,
                        attr.STEP: tick.step_name,
                        attr.ATTEMPT: action.work.attempts + 1,
                        attr.RETRY_DELAY: delay,
                    },
                )
                return delay
        return None

    def _cancelled(self, cmd: CommandCancelStep, at: float) -> None:
        if cmd.attempt_id in self._timed_out:
            self._timed_out.discard(cmd.attempt_id)
            open_attempt = self._attempts.get(cmd.attempt_id)
            timeout = 0.0 if open_attempt is None else at - open_attempt.started
            error = StepTimeoutError(cmd.step_name, round(timeout, 3))
            self._end_attempt(cmd.attempt_id, at, "timed_out", error)
        else:
            self._end_attempt(cmd.attempt_id, at, "cancelled")

    def _end_attempt(
        self, attempt_id: int, at: float, outcome: str, error: BaseException | None = None
    ) -> None:
        open_attempt = self._attempts.pop(attempt_id, None)
        if open_attempt is None:
            return
        forget_attempt_span(self._run_id, attempt_id)
        if attempt_id in self._waits:
            self._end_wait(attempt_id, at, "cancelled")  # its slot was already given back
        else:
            self._m.levels.change(self._m.levels.steps_active, self._workflow, -1)
        span = open_attempt.span
        span.set_attribute(attr.STEP_OUTCOME, outcome)
        if error is not None:
            fail_span(span, error, at)
        span.end(end_time=ns(at))
        self._m.step_duration.record(
            max(0.0, at - open_attempt.started),
            {**self._labels, attr.STEP: open_attempt.step, attr.STEP_OUTCOME: outcome},
        )

    # -- waits and timers ------------------------------------------------------------------

    def _waiting(self, tick: TickStepWaiting) -> None:
        open_attempt = self._attempts.get(tick.attempt_id)
        parent = self._run_context
        if open_attempt is not None:
            parent = trace.set_span_in_context(open_attempt.span, self._run_context)
        if not self._waits:
            self._m.levels.change(self._m.levels.runs_waiting, self._workflow, 1)
        self._m.levels.change(self._m.levels.steps_active, self._workflow, -1)
        self._waits[tick.attempt_id] = self._tracer.start_span(
            f"wait {tick.event_type.__qualname__}",
            context=parent,
            start_time=ns(tick.at),
            attributes={
                attr.RUN_ID: self._run_id,
                attr.STEP: tick.step_name,
                attr.WAIT_EVENT: tick.event_type.__qualname__,
                attr.WAITER_ID: tick.waiter_id,
            },
        )

    def _end_wait(self, attempt_id: int, at: float, outcome: str) -> None:
        span = self._waits.pop(attempt_id, None)
        if span is None:
            return
        if not self._waits:
            self._m.levels.change(self._m.levels.runs_waiting, self._workflow, -1)
        # Waiting is not failing: a wait span carries its outcome, never an error status.
        span.set_attribute(attr.WAIT_OUTCOME, outcome)
        span.end(end_time=ns(at))

    def _fired(self, timer_id: int, at: float) -> None:
        attempt_id = self._deadlines.pop(timer_id, None)
        if attempt_id is not None:
            self._timed_out.add(attempt_id)
        self._end_delay(timer_id, at, cancelled=False)

    def _end_delay(self, timer_id: int, at: float, *, cancelled: bool) -> None:
        span = self._delays.pop(timer_id, None)
        if span is not None:
            if cancelled:
                span.set_attribute(attr.STEP_OUTCOME, "cancelled")
            span.end(end_time=ns(at))
