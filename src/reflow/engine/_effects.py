"""Small state transitions shared by the reducer's handlers: publishing, timers, ending a run."""

from __future__ import annotations

from reflow.engine.commands import (
    Command,
    CommandCancelStep,
    CommandCancelTimer,
    CommandPublish,
    CommandSchedule,
)
from reflow.engine.state import RunState, Timer, TimerAction
from reflow.events import Event, StepState

_TYPE_REPRS: dict[type, str] = {}
# A notice keeps the state's plain string: an enum member would keep its tuple GC-tracked.
_VALUES: dict[StepState, str] = {state: str(state.value) for state in StepState}


def type_repr(kind: type) -> str:
    """``str(kind)`` (``"<class 'mod.X'>"``), cached: two are built per step."""
    text = _TYPE_REPRS.get(kind)
    if text is None:
        if len(_TYPE_REPRS) > 4096:  # classes made at run time must not pile up here
            _TYPE_REPRS.clear()
        text = _TYPE_REPRS[kind] = str(kind)
    return text


def publish(cmds: list[Command], event: Event) -> None:
    cmds.append(CommandPublish(event))


def publish_step_state(
    cmds: list[Command],
    step_name: str,
    state: StepState,
    worker_id: str,
    input_event_name: str,
    output_event_name: str | None = None,
) -> None:
    """Publish a ``StepStateChanged`` notice, as data (see ``_notices.py``)."""
    cmds.append(
        CommandPublish(
            notice=(step_name, _VALUES[state], worker_id, input_event_name, output_event_name)
        )
    )


def schedule(state: RunState, cmds: list[Command], due: float, action: TimerAction) -> int:
    timer_id = state.next_timer_id
    state.next_timer_id += 1
    state.timers[timer_id] = Timer(due=due, action=action)
    cmds.append(CommandSchedule(timer_id=timer_id, due=due))
    return timer_id


def cancel_timer(state: RunState, cmds: list[Command], timer_id: int | None) -> None:
    if timer_id is not None and state.timers.pop(timer_id, None) is not None:
        cmds.append(CommandCancelTimer(timer_id))


def stop_everything(state: RunState, cmds: list[Command], *, keep_work: bool = False) -> None:
    """Cancel every attempt and timer; unless ``keep_work``, drop queues, buffers and waiters.

    A cancelled run keeps its work so that a snapshot taken afterwards can resume it.  That
    includes its pending timers (delayed events, retries, waiter timeouts): they are disarmed
    here and armed again by the next ``TickStartRun``.  The run timeout and the deadlines of
    the cancelled attempts are dropped, since a resume arms fresh ones.
    """
    for name, run in state.step_runs():
        for attempt_id, attempt in run.active.items():
            cmds.append(CommandCancelStep(step_name=name, attempt_id=attempt_id))
            if keep_work and attempt.deadline_timer is not None:
                state.timers.pop(attempt.deadline_timer, None)
                cmds.append(CommandCancelTimer(attempt.deadline_timer))
                attempt.deadline_timer = None
        if not keep_work:
            run.active.clear()
            run.queue.clear()
            run.collected.clear()
    if not keep_work:
        state.pending_work = 0
    for timer_id in state.timers:
        cmds.append(CommandCancelTimer(timer_id))
    if keep_work:
        if state.run_timer is not None:
            state.timers.pop(state.run_timer, None)
    else:
        state.timers.clear()
        state.waiters.clear()
    state.run_timer = None
