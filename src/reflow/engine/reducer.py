"""The reducer: ``reduce(state, tick) -> (state, commands)``.

Deterministic and free of I/O, clocks and randomness: given the same state and tick it always
returns the same state and commands.  It updates ``state`` in place (see ``state.py`` for why)
and returns it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reflow.engine._collect import collect
from reflow.engine._effects import (
    publish,
    publish_step_state,
    schedule,
    stop_everything,
    type_repr,
)
from reflow.engine._failures import handle_failure, run_timed_out
from reflow.engine._routing import dispatch, enqueue, resolve_waiter, route
from reflow.engine._steps import finish_attempt
from reflow.engine._streams import capture, drop, hold, open_stream
from reflow.engine.commands import (
    Command,
    CommandCancelStep,
    CommandCompleteRun,
    CommandHaltRun,
    CommandIdleCheck,
    CommandReply,
    CommandSchedule,
)
from reflow.engine.state import (
    CollectBuffer,
    RunState,
    TimerAddEvent,
    TimerRunTimeout,
    TimerStepDeadline,
    TimerWaiterTimeout,
    Waiter,
    Work,
    waiter_key,
)
from reflow.engine.ticks import (
    TickAddEvent,
    TickCancelRun,
    TickCollect,
    TickIdleCheck,
    TickPublishEvent,
    TickStartRun,
    TickStepFailed,
    TickStepReturned,
    TickStepWaiting,
    TickTimerFired,
    WorkflowTick,
)
from reflow.errors import StepTimeoutError, WorkflowCancelledByUser
from reflow.events import (
    Event,
    InputRequiredEvent,
    StepState,
    StopEvent,
    WorkflowCancelledEvent,
    WorkflowIdleEvent,
)

# Shared by the waiters that have no requirements: the engine only reads them.
_NO_REQUIREMENTS: dict[str, Any] = {}


def reduce(state: RunState, tick: WorkflowTick) -> tuple[RunState, list[Command]]:
    cmds: list[Command] = []
    status = state.status
    if status != "running" and status != "pending" and type(tick) is not TickStartRun:
        return state, cmds  # late ticks of an ended run (a cancelled attempt's result, ...)
    state.now = tick.at
    _HANDLERS[type(tick)](state, tick, cmds)
    if state.status == "running":
        if state.pending_work:  # not quiescent (``is_quiescent``, inlined: every tick)
            state.idle_published = False
        elif not state.idle_published and not state.idle_check_pending:
            state.idle_check_pending = True
            cmds.append(CommandIdleCheck())
    return state, cmds


def _start(state: RunState, tick: Any, cmds: list[Command]) -> None:
    assert isinstance(tick, TickStartRun)
    state.status = "running"
    state.is_running = True
    if state.started_at is None:
        state.started_at = tick.at
    state.idle_published = False
    state.idle_check_pending = False
    if state.run_timer is not None:
        # A restored run timeout belongs to the earlier start; this start arms its own.
        state.timers.pop(state.run_timer, None)
        state.run_timer = None
    # Attempts that were in flight when the snapshot was taken run again, first in line;
    # their old deadlines go, so they are not armed below only to be cancelled.
    for _, run in state.step_runs():
        for attempt in sorted(run.active.values(), key=lambda a: a.attempt_id, reverse=True):
            if attempt.deadline_timer is not None:
                state.timers.pop(attempt.deadline_timer, None)
            run.queue.appendleft(attempt.work)
        run.active.clear()
    # Timers restored from a snapshot or journal are armed again.
    for timer_id, timer in state.timers.items():
        cmds.append(CommandSchedule(timer_id=timer_id, due=timer.due))
    timeout = state.config.timeout
    if timeout is not None and timeout <= 0:
        run_timed_out(state, cmds, timeout)  # before any step starts, like the peer
        return
    if timeout is not None:
        state.run_timer = schedule(state, cmds, tick.at + timeout, TimerRunTimeout(timeout))
    if tick.start_event is not None:
        route(state, cmds, Work(tick.start_event), None)
    for name, _ in state.step_runs():
        dispatch(state, cmds, name)


def _add_event(state: RunState, tick: Any, cmds: list[Command]) -> None:
    assert isinstance(tick, TickAddEvent)
    work = Work(
        event=tick.event,
        attempts=tick.attempts,
        first_attempt_at=tick.first_attempt_at,
        last_exception=tick.last_exception,
        last_failed_at=tick.last_failed_at,
        recovery_counts=tick.recovery_counts,
    )
    if tick.delay is not None and tick.delay > 0:
        schedule(state, cmds, tick.at + tick.delay, TimerAddEvent(work, tick.step_name))
    else:
        route(state, cmds, work, tick.step_name)


def _step_returned(state: RunState, tick: Any, cmds: list[Command]) -> None:
    assert isinstance(tick, TickStepReturned)
    attempt = finish_attempt(state, cmds, tick.step_name, tick.attempt_id)
    if attempt is None:
        return
    result = tick.result
    publish_step_state(
        cmds,
        tick.step_name,
        StepState.NOT_RUNNING,
        str(attempt.worker_id),
        type_repr(type(attempt.work.event)),
        type_repr(type(result)),
    )
    if isinstance(result, StopEvent):
        publish(cmds, result)
        state.status = "completed"
        state.is_running = False
        stop_everything(state, cmds)
        cmds.append(CommandCompleteRun(result))
        return
    work = attempt.work
    if isinstance(result, list):
        _fan_out(state, cmds, tick.step_name, work, result)
    elif result is not None:
        _emit(state, cmds, work, result, work.stream, work.member)
    if work.stream is not None:  # (most work is in no stream: the test saves a call a step)
        drop(state, cmds, work.stream, enqueue)
    dispatch(state, cmds, tick.step_name)


def _emit(
    state: RunState,
    cmds: list[Command],
    parent: Work,
    event: Event,
    stream: int | None,
    member: int | None,
) -> None:
    """Route a step's output, unless a list[E] collector of its stream captures it."""
    if isinstance(event, InputRequiredEvent):
        publish(cmds, event)
    if stream is None or not capture(state, cmds, stream, event, enqueue):
        # Positional: event, attempts, first_attempt_at, last_exception, last_failed_at,
        # recovery_counts, stream, member (every step's output goes through here).
        route(
            state,
            cmds,
            Work(event, 0, None, None, None, parent.recovery_counts, stream, member),
            None,
        )


def _fan_out(
    state: RunState, cmds: list[Command], step_name: str, parent: Work, members: list[Event]
) -> None:
    stream = open_stream(state, step_name, parent.stream, parent.member)
    hold(state, stream)  # keeps an empty or fully captured stream open until all are routed
    opened = stream != parent.stream
    for index, member in enumerate(members):
        # Each member of a new stream starts a lineage of its own.
        _emit(state, cmds, parent, member, stream, index if opened else parent.member)
    drop(state, cmds, stream, enqueue)


def _step_failed(state: RunState, tick: Any, cmds: list[Command]) -> None:
    assert isinstance(tick, TickStepFailed)
    attempt = finish_attempt(state, cmds, tick.step_name, tick.attempt_id)
    if attempt is not None:
        handle_failure(state, cmds, tick.step_name, attempt, tick.exception)


def _step_waiting(state: RunState, tick: Any, cmds: list[Command]) -> None:
    assert isinstance(tick, TickStepWaiting)
    attempt = finish_attempt(state, cmds, tick.step_name, tick.attempt_id)
    if attempt is None:
        return
    publish_step_state(
        cmds,
        tick.step_name,
        StepState.NOT_RUNNING,
        str(attempt.worker_id),
        type_repr(type(attempt.work.event)),
    )
    key = waiter_key(tick.step_name, tick.attempt_id, tick.slot)
    waiter = Waiter(
        waiter_id=tick.waiter_id,
        slot=tick.slot,
        step_name=tick.step_name,
        attempt_id=tick.attempt_id,
        work=attempt.work,
        event_type=tick.event_type,
        requirements=dict(tick.requirements) if tick.requirements else _NO_REQUIREMENTS,
    )
    if tick.timeout is not None:
        waiter.timer_id = schedule(state, cmds, tick.at + tick.timeout, TimerWaiterTimeout(key))
    state.waiters[key] = waiter
    hold(state, attempt.work.stream)
    drop(state, cmds, attempt.work.stream, enqueue)
    if tick.waiter_event is not None:
        publish(cmds, tick.waiter_event)
    dispatch(state, cmds, tick.step_name)


def _collect_events(state: RunState, tick: Any, cmds: list[Command]) -> None:
    assert isinstance(tick, TickCollect)
    buffers = state.steps[tick.step_name].collected
    buffer = buffers.get(tick.buffer_id)
    if buffer is None:
        buffer = buffers[tick.buffer_id] = CollectBuffer()
    cmds.append(CommandReply(collect(buffer, tick.event, tick.expected)))


def _publish_event(state: RunState, tick: Any, cmds: list[Command]) -> None:
    assert isinstance(tick, TickPublishEvent)
    publish(cmds, tick.event)


def _cancel(state: RunState, tick: Any, cmds: list[Command]) -> None:
    publish(cmds, WorkflowCancelledEvent())
    state.status = "cancelled"
    stop_everything(state, cmds, keep_work=True)
    cmds.append(CommandHaltRun(WorkflowCancelledByUser()))


def _idle_check(state: RunState, tick: Any, cmds: list[Command]) -> None:
    state.idle_check_pending = False
    if state.status == "running" and state.is_quiescent() and not state.idle_published:
        state.idle_published = True
        publish(cmds, WorkflowIdleEvent())


def _timer_fired(state: RunState, tick: Any, cmds: list[Command]) -> None:
    assert isinstance(tick, TickTimerFired)
    timer = state.timers.pop(tick.timer_id, None)
    if timer is None:
        return  # cancelled after it was armed
    action = timer.action
    if isinstance(action, TimerAddEvent):
        route(state, cmds, action.work, action.step_name)
        drop(state, cmds, action.work.stream, enqueue)
    elif isinstance(action, TimerWaiterTimeout):
        if action.waiter_key in state.waiters:
            state.waiters[action.waiter_key].timer_id = None
            resolve_waiter(state, cmds, action.waiter_key, None)
    elif isinstance(action, TimerStepDeadline):
        run = state.steps[action.step_name]
        attempt = run.active.get(action.attempt_id)
        if attempt is not None:
            attempt.deadline_timer = None
            finish_attempt(state, cmds, action.step_name, action.attempt_id)
            cmds.append(CommandCancelStep(action.step_name, action.attempt_id))
            error = StepTimeoutError(action.step_name, action.timeout)
            handle_failure(state, cmds, action.step_name, attempt, error)
    else:
        run_timed_out(state, cmds, action.timeout)


_HANDLERS: dict[type[Any], Callable[[RunState, Any, list[Command]], None]] = {
    TickStartRun: _start,
    TickAddEvent: _add_event,
    TickStepReturned: _step_returned,
    TickStepFailed: _step_failed,
    TickStepWaiting: _step_waiting,
    TickCollect: _collect_events,
    TickPublishEvent: _publish_event,
    TickCancelRun: _cancel,
    TickIdleCheck: _idle_check,
    TickTimerFired: _timer_fired,
}

__all__ = ["reduce"]
