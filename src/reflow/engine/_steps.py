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
    # Positional arguments: this runs for every step, and keywords cost more.
    attempt = Attempt(work.attempt_id, run.free_worker_id(), work, state.now)
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
            step_name,
            attempt.worker_id,
            attempt.attempt_id,
            work.event,
            RetryState(
                work.attempts, work.first_attempt_at, work.last_exception, work.last_failed_at
            ),
            work.recovery_counts,
            dict(work.resolved) if work.resolved else _NO_OUTCOMES,
            work.resume_waiter,
            work.join,
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
        if attempt.deadline_timer is not None:
            cancel_timer(state, cmds, attempt.deadline_timer)
    return attempt
