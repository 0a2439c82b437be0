"""The ``workers`` part of a snapshot: the peer's portable view of a run, both directions.

llama-index-workflows (2.2x) stores a run as per-step ``queue``, ``in_progress``,
``collected_events`` and ``collected_waiters``.  reflow writes the same fields with the same
meaning, so a payload reflow stored is readable by tools built for the peer:

- ``queue``: work waiting for a worker, and retries in their delay window, each with
  ``attempts``, ``first_attempt_at``, ``last_exception``, ``last_failed_at``,
  ``recovery_counts`` and ``not_before`` (when a delayed retry may start; None for ready work);
- ``in_progress``: work a worker holds, the same fields plus ``worker_id``;
- ``collected_events``: ``ctx.collect_events`` buffers by buffer id;
- ``collected_waiters``: steps waiting in ``wait_for_event``.

reflow resumes from its exact engine state (the ``reflow`` key) when it is there; a payload
written by the peer has only this view, and is read back here: queued and in-progress work is
queued again, a retry whose ``not_before`` lies ahead waits for it, buffers are refilled, and a
waiting step runs again (the peer re-runs it too) so that it waits anew.
"""

from __future__ import annotations

from typing import Any

from reflow.context.serializers import BaseSerializer
from reflow.engine import RunConfig, RunState
from reflow.engine.state import (
    Attempt,
    CollectBuffer,
    StepRun,
    Timer,
    TimerAddEvent,
    Work,
)
from reflow.errors import ContextSerdeError
from reflow.events import Event, deserialize_exception, serialize_exception

# -- writing ----------------------------------------------------------------------------------


def _work_view(
    work: Work, serializer: BaseSerializer, not_before: float | None = None
) -> dict[str, Any]:
    return {
        "event": serializer.serialize(work.event),
        "attempts": work.attempts,
        "first_attempt_at": work.first_attempt_at,
        "last_exception": (
            None if work.last_exception is None else serialize_exception(work.last_exception)
        ),
        "last_failed_at": work.last_failed_at,
        "recovery_counts": dict(work.recovery_counts),
        "not_before": not_before,
    }


def _attempt_view(attempt: Attempt, serializer: BaseSerializer) -> dict[str, Any]:
    return {**_work_view(attempt.work, serializer), "worker_id": attempt.worker_id}


def workers_view(state: RunState, serializer: BaseSerializer) -> dict[str, Any]:
    """The peer's per-step view of ``state``."""
    delayed: dict[str, list[tuple[float, Work]]] = {}
    for timer in state.timers.values():
        action = timer.action
        if isinstance(action, TimerAddEvent) and action.step_name is not None:
            delayed.setdefault(action.step_name, []).append((timer.due, action.work))
    workers: dict[str, Any] = {}
    for name in state.config.steps:
        run = state.steps.get(name) or StepRun()
        waiters = [w for w in state.waiters.values() if w.step_name == name]
        queue = [_work_view(work, serializer) for work in run.queue]
        # A retry in its delay window is still queued work, as the peer shows it.
        queue += [
            _work_view(work, serializer, due)
            for due, work in sorted(delayed.get(name, []), key=lambda item: item[0])
        ]
        workers[name] = {
            "queue": queue,
            "in_progress": [_attempt_view(a, serializer) for a in run.active.values()],
            "collected_events": {
                buffer_id: [serializer.serialize(e) for e in buffer.events()]
                for buffer_id, buffer in run.collected.items()
            },
            "collected_waiters": [
                {
                    "waiter_id": w.waiter_id,
                    "event": serializer.serialize(w.work.event),
                    "waiting_for_event": f"{w.event_type.__module__}.{w.event_type.__qualname__}",
                    "has_requirements": bool(w.requirements),
                    "resolved_event": None,
                }
                for w in waiters
            ],
        }
    return workers


# -- reading ----------------------------------------------------------------------------------


def state_from_workers(
    workers: dict[str, Any], config: RunConfig, serializer: BaseSerializer, now: float
) -> RunState:
    """Best effort from the portable view (a payload the peer wrote)."""
    state = RunState.initial(config)
    for name, data in workers.items():
        if name not in config.steps:
            continue  # the step was renamed or removed since the snapshot was taken
        run = state.steps[name]
        # In-progress work first: it was taken from the queue before what is still there.
        for raw in data.get("in_progress", []):
            run.queue.append(_work(serializer, raw))
        for item in data.get("queue", []):
            work = _work(serializer, item)
            not_before = item.get("not_before") if isinstance(item, dict) else None
            if isinstance(not_before, (int, float)) and not_before > now:
                timer_id = state.next_timer_id
                state.next_timer_id += 1
                state.timers[timer_id] = Timer(float(not_before), TimerAddEvent(work, name))
            else:
                run.queue.append(work)
        for buffer_id, raws in (data.get("collected_events") or {}).items():
            buffer = CollectBuffer()
            for raw in raws:
                event = _event(serializer, raw)
                buffer.by_type.setdefault(type(event), []).append(event)
            run.collected[str(buffer_id)] = buffer
        for waiter in data.get("collected_waiters", []):
            # Requirements are not in the portable view: the waiting step runs again.
            run.queue.append(Work(_event(serializer, waiter["event"])))
    state.recount()
    return state


def _work(serializer: BaseSerializer, raw: Any) -> Work:
    """A queued or in-progress entry: a dict with its retry fields (2.2x), or a bare event."""
    if not isinstance(raw, dict):
        return Work(_event(serializer, raw))
    exception = raw.get("last_exception")
    return Work(
        _event(serializer, raw["event"]),
        attempts=int(raw.get("attempts") or 0),
        first_attempt_at=raw.get("first_attempt_at"),
        last_exception=None if exception is None else deserialize_exception(exception),
        last_failed_at=raw.get("last_failed_at"),
        recovery_counts=dict(raw.get("recovery_counts") or {}),
    )


def _event(serializer: BaseSerializer, raw: Any) -> Event:
    value = serializer.deserialize(raw) if isinstance(raw, str) else raw
    if not isinstance(value, Event):
        raise ContextSerdeError(f"Expected a serialized event in the snapshot, got {value!r}")
    return value
