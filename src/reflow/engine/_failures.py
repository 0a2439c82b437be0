"""What happens when an attempt fails or the run times out: retry policy, ``@catch_error``,
or the end of the run."""

from __future__ import annotations

from datetime import datetime, timezone

from reflow.engine._effects import (
    publish,
    publish_step_state,
    schedule,
    stop_everything,
    type_repr,
)
from reflow.engine._routing import dispatch, enqueue, route
from reflow.engine._streams import drop, hold
from reflow.engine._trace_text import exception_trace
from reflow.engine.commands import Command, CommandFailRun, CommandHaltRun
from reflow.engine.state import Attempt, RunState, TimerAddEvent, Work
from reflow.errors import WorkflowTimeoutError
from reflow.events import (
    StepAttemptFailed,
    StepFailedEvent,
    StepState,
    WorkflowFailedEvent,
    WorkflowTimedOutEvent,
)
from reflow.retry_policy import compute_retry_delay, retry_seed


def handle_failure(
    state: RunState, cmds: list[Command], step_name: str, attempt: Attempt, error: BaseException
) -> None:
    """Retry policy first, then a ``@catch_error`` handler within budget, else fail the run."""
    work = attempt.work
    failures = work.attempts + 1
    first = work.first_attempt_at if work.first_attempt_at is not None else attempt.started_at
    elapsed = state.now - first
    publish_step_state(
        cmds, step_name, StepState.NOT_RUNNING, str(attempt.worker_id), type_repr(type(work.event))
    )
    spec = state.config.steps[step_name]
    delay = None
    if spec.retry_policy is not None and isinstance(error, Exception):
        try:
            delay = compute_retry_delay(
                spec.retry_policy,
                elapsed_time=elapsed,
                attempts=failures,
                error=error,
                seed=retry_seed(state.config.run_id, step_name, failures),
            )
        except Exception as policy_error:  # a broken policy fails the run, loudly
            error = policy_error
            delay = None
    publish(
        cmds,
        StepAttemptFailed(
            step_name=step_name,
            attempt=failures,
            exception_type=type(error).__name__,
            exception_message=str(error),
            retry_in=delay,
            traceback=exception_trace(error),
        ),
    )
    if delay is not None:
        retry = Work(
            event=work.event,
            attempts=failures,
            first_attempt_at=first,
            last_exception=error,
            last_failed_at=state.now,
            recovery_counts=work.recovery_counts,
            # Waits the failed attempt completed are answered again, not asked again (as the
            # peer keeps a waiter's event); a timed-out wait is asked again.
            resolved={slot: ev for slot, ev in work.resolved.items() if ev is not None},
        )
        retry.stream = work.stream
        retry.member = work.member
        if delay > 0:
            hold(state, retry.stream)
            schedule(state, cmds, state.now + delay, TimerAddEvent(retry, step_name))
        else:
            enqueue(state, cmds, step_name, retry)
        drop(state, cmds, work.stream, enqueue)
        dispatch(state, cmds, step_name)
        return
    handler = state.config.handler_for_step.get(step_name)
    if handler is not None:
        used = work.recovery_counts.get(handler, 0)
        if used < state.config.steps[handler].max_recoveries:
            failed = StepFailedEvent(
                step_name=step_name,
                input_event=work.event,
                exception=error,
                attempts=failures,
                elapsed_seconds=elapsed,
                failed_at=datetime.fromtimestamp(state.now, tz=timezone.utc),
            )
            counts = {**work.recovery_counts, handler: used + 1}
            recovery = Work(failed, recovery_counts=counts, stream=work.stream, member=work.member)
            route(state, cmds, recovery, handler)
            drop(state, cmds, work.stream, enqueue)
            dispatch(state, cmds, step_name)
            return
    publish(
        cmds,
        WorkflowFailedEvent(
            step_name=step_name, exception=error, attempts=failures, elapsed_seconds=elapsed
        ),
    )
    state.status = "failed"
    state.is_running = False
    stop_everything(state, cmds)
    cmds.append(CommandFailRun(step_name=step_name, exception=error))


def run_timed_out(state: RunState, cmds: list[Command], timeout: float) -> None:
    active = sorted(state.active_step_names())
    publish(cmds, WorkflowTimedOutEvent(timeout=timeout, active_steps=active))
    state.status = "timed_out"
    state.is_running = False
    state.run_timer = None
    stop_everything(state, cmds)
    steps = f"Currently active steps: {', '.join(active)}" if active else "No steps active"
    message = f"Operation timed out after {float(timeout)} seconds. {steps}"
    cmds.append(CommandHaltRun(WorkflowTimeoutError(message)))
