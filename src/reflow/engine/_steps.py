"""Starting and finishing step attempts."""

from __future__ import annotations

from reflow.engine._effects import cancel_timer, publish_step_state, schedule
from reflow.engine.commands import Command, CommandRunStep, RetryState
from reflow.engine.state import Attempt, RunState, TimerStepDeadline, Work
from reflow.events import Event, StepState

# Shared and never mutated: the shell copies outcomes before it adds to them.
_NO_OUTCOMES: dict[str, Event | None] = {}


def start_attempt(state: RunState, cmds: list[Command], step_name: str, work: Work) -> None:
    run = state.steps[step_name]
    spec = state.config.steps[step_name]
    if work.attempt_id is None:
        work.attempt_id = state.next_attempt_id
        state.next_attempt_id += 1
    if work.first_attempt_at is None:
        work.first_attempt_at = state.now
    attempt = Attempt(
        attempt_id=work.attempt_id,
        worker_id=run.free_worker_id(),
        work=work,
        started_at=state.now,
    )
    if spec.timeout is not None:
        attempt.deadline_timer = schedule(
            state,
            cmds,
            state.now + spec.timeout,
            TimerStepDeadline(step_name, attempt.attempt_id, spec.timeout),
        )
    run.active[attempt.attempt_id] = attempt
    publish_step_state(
        cmds, step_name, StepState.RUNNING, str(attempt.worker_id), type(work.event).__name__
    )
    cmds.append(
        CommandRunStep(
            step_name=step_name,
            worker_id=attempt.worker_id,
            attempt_id=attempt.attempt_id,
            event=work.event,
            retry=RetryState(
                retry_number=work.attempts,
                first_attempt_at=work.first_attempt_at,
                last_exception=work.last_exception,
                last_failed_at=work.last_failed_at,
            ),
            recovery_counts=work.recovery_counts,
            resolved=dict(work.resolved) if work.resolved else _NO_OUTCOMES,
            resume_waiter=work.resume_waiter,
            join=work.join,
        )
    )
    work.resume_waiter = None


def finish_attempt(
    state: RunState, cmds: list[Command], step_name: str, attempt_id: int
) -> Attempt | None:
    """Free the attempt's worker slot; None if the attempt is no longer active (stale tick)."""
    run = state.steps.get(step_name)
    if run is None:
        return None
    attempt = run.active.pop(attempt_id, None)
    if attempt is not None:
        state.pending_work -= 1
        cancel_timer(state, cmds, attempt.deadline_timer)
    return attempt
