"""Routing an event: waiters first, then every accepting step (or the one it targets)."""

from __future__ import annotations

from typing import Any

from reflow.engine._effects import cancel_timer, publish, publish_step_state
from reflow.engine._steps import start_attempt
from reflow.engine._streams import drop, hold
from reflow.engine.commands import Command
from reflow.engine.state import RunState, StepRun, Work
from reflow.events import Event, InputRequiredEvent, StepState, UnhandledEvent

_MISSING: Any = object()


def _matches(
    event: Event, event_type: type[Event], requirements: dict[str, Any], subclasses: bool
) -> bool:
    """Exactly ``event_type`` (or a subclass, when the waiting step accepts subclasses)."""
    if type(event) is not event_type and not (subclasses and isinstance(event, event_type)):
        return False
    return all(getattr(event, key, _MISSING) == value for key, value in requirements.items())


def resolve_waiter(state: RunState, cmds: list[Command], key: str, outcome: Event | None) -> None:
    """Resume the attempt suspended on waiter ``key`` (``outcome`` None means it timed out)."""
    waiter = state.waiters.pop(key)
    cancel_timer(state, cmds, waiter.timer_id)
    work = waiter.work
    work.resolved[waiter.slot] = outcome
    work.resume_waiter = waiter.slot
    work.attempt_id = waiter.attempt_id
    enqueue(state, cmds, waiter.step_name, work, front=True)
    drop(state, cmds, work.stream, enqueue)


def enqueue(
    state: RunState, cmds: list[Command], step_name: str, work: Work, *, front: bool = False
) -> None:
    """Start ``work`` at once if the step has a free worker, else queue it (PREPARING)."""
    run = state.steps[step_name]
    spec = state.config.steps[step_name]
    if spec.slots and work.join is None:
        joined = _join(run, spec.slots, spec.accept_subclasses, work)
        if joined is None:
            return  # waits for its partners, holding no stream open
        work = joined
    if work.stream is not None:
        hold(state, work.stream)
    state.pending_work += 1
    if len(run.active) < spec.num_workers and not run.queue:
        start_attempt(state, cmds, step_name, work)
        return
    if front:
        run.queue.appendleft(work)
    else:
        run.queue.append(work)
    publish_step_state(
        cmds, step_name, StepState.PREPARING, "<enqueued>", type(work.event).__name__
    )


def _join(
    run: StepRun, slots: tuple[type[Event], ...], subclasses: bool, work: Work
) -> Work | None:
    """Buffer an arrival for a multi-slot join; the joined work once every slot has one.

    Slots fill first-in first-out, and an arrival goes to the emptiest slot of its type, in
    parameter order, so ``a: A, b: A`` pairs A0 with A1, then A2 with A3.
    """
    event = work.event
    kind = type(event)
    lineage = (work.stream, work.member)
    buffers = run.joins.get(lineage)
    if buffers is None:
        buffers = run.joins[lineage] = [[] for _ in slots]
    best = -1
    for index, slot_type in enumerate(slots):
        fits = kind is slot_type or (subclasses and isinstance(event, slot_type))
        if fits and (best < 0 or len(buffers[index]) < len(buffers[best])):
            best = index
    if best < 0:
        return None
    buffers[best].append(event)
    if any(not buffer for buffer in buffers):
        return None
    joined = tuple(buffer.pop(0) for buffer in buffers)
    if not any(buffers):
        del run.joins[lineage]
    return Work(
        event,
        recovery_counts=work.recovery_counts,
        stream=work.stream,
        member=work.member,
        join=joined,
    )


def dispatch(state: RunState, cmds: list[Command], step_name: str) -> None:
    """Fill the step's free worker slots from its queue."""
    run = state.steps[step_name]
    limit = state.config.steps[step_name].num_workers
    while run.queue and len(run.active) < limit:
        start_attempt(state, cmds, step_name, run.queue.popleft())


def route(state: RunState, cmds: list[Command], work: Work, target: str | None) -> None:
    event = work.event
    resolved_steps: set[str] = set()
    if state.waiters:
        for key, waiter in list(state.waiters.items()):
            if target is not None and waiter.step_name != target:
                continue
            subclasses = state.config.steps[waiter.step_name].accept_subclasses
            if _matches(event, waiter.event_type, waiter.requirements, subclasses):
                resolve_waiter(state, cmds, key, event)
                resolved_steps.add(waiter.step_name)
    if target is not None:
        if target not in resolved_steps:
            enqueue(state, cmds, target, work)
        return
    names = state.config.routes_for(type(event))
    first = True
    for name in names:
        if name in resolved_steps:
            continue
        if first:
            enqueue(state, cmds, name, work)
            first = False
        else:
            # recovery_counts dicts are never mutated, so branches share them.
            branch = Work(
                event, recovery_counts=work.recovery_counts, stream=work.stream, member=work.member
            )
            enqueue(state, cmds, name, branch)
    if not names and not resolved_steps and not isinstance(event, InputRequiredEvent):
        event_type = type(event)
        publish(
            cmds,
            UnhandledEvent(
                event_type=event_type.__name__,
                qualified_name=f"{event_type.__module__}.{event_type.__qualname__}",
                step_name=target,
                idle=state.is_quiescent(),
            ),
        )
