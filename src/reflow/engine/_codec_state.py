"""JSON form of ``RunState``'s dynamic part (the static ``RunConfig`` is supplied on decode).

Dicts whose order the reducer observes (active attempts, waiters, timers, collect buffers) are
stored as lists of entries, which keeps their order and their non-string keys.  A collect
buffer's ``expected_ref`` is a transient identity cache: it is dropped, and ``expected_len``
comes back as -1 so the next ``collect_events`` call recounts.
"""

from __future__ import annotations

from typing import Any

from reflow.engine._codec_events import JSON, EventCodec
from reflow.engine._work_queue import WorkQueue
from reflow.engine.state import (
    Attempt,
    CollectBuffer,
    RunConfig,
    RunState,
    StepRun,
    Stream,
    Timer,
    TimerAction,
    TimerAddEvent,
    TimerRunTimeout,
    TimerStepDeadline,
    TimerWaiterTimeout,
    Waiter,
    Work,
)

STATE_FORMAT = 1
_STATUSES = ("pending", "running", "completed", "failed", "cancelled", "timed_out")


def work_to_json(work: Work, codec: EventCodec) -> dict[str, Any]:
    return {
        "event": codec.event_to_json(work.event),
        "attempts": work.attempts,
        "first_attempt_at": work.first_attempt_at,
        "last_exception": codec.optional_exception_to_json(work.last_exception),
        "last_failed_at": work.last_failed_at,
        "recovery_counts": dict(work.recovery_counts),
        "stream": work.stream,
        "member": work.member,
        "attempt_id": work.attempt_id,
        "resolved": {s: codec.optional_event_to_json(e) for s, e in work.resolved.items()},
        "resume_waiter": work.resume_waiter,
        "join": None if work.join is None else [codec.event_to_json(e) for e in work.join],
    }


def work_from_json(data: JSON, codec: EventCodec) -> Work:
    return Work(
        event=codec.event_from_json(data["event"]),
        attempts=data["attempts"],
        first_attempt_at=data["first_attempt_at"],
        last_exception=codec.optional_exception_from_json(data["last_exception"]),
        last_failed_at=data["last_failed_at"],
        recovery_counts=dict(data["recovery_counts"]),
        stream=data["stream"],
        member=data.get("member"),
        attempt_id=data["attempt_id"],
        resolved={s: codec.optional_event_from_json(e) for s, e in data["resolved"].items()},
        resume_waiter=data["resume_waiter"],
        join=(
            None
            if data.get("join") is None
            else tuple(codec.event_from_json(e) for e in data["join"])
        ),
    )


def _action_to_json(action: TimerAction, codec: EventCodec) -> dict[str, Any]:
    if isinstance(action, TimerAddEvent):
        return {
            "kind": "add_event",
            "work": work_to_json(action.work, codec),
            "step_name": action.step_name,
        }
    if isinstance(action, TimerRunTimeout):
        return {"kind": "run_timeout", "timeout": action.timeout}
    if isinstance(action, TimerWaiterTimeout):
        return {"kind": "waiter_timeout", "waiter_key": action.waiter_key}
    return {
        "kind": "step_deadline",
        "step_name": action.step_name,
        "attempt_id": action.attempt_id,
        "timeout": action.timeout,
    }


def _action_from_json(data: JSON, codec: EventCodec) -> TimerAction:
    kind = data["kind"]
    if kind == "add_event":
        return TimerAddEvent(work_from_json(data["work"], codec), data["step_name"])
    if kind == "run_timeout":
        return TimerRunTimeout(data["timeout"])
    if kind == "waiter_timeout":
        return TimerWaiterTimeout(data["waiter_key"])
    if kind == "step_deadline":
        return TimerStepDeadline(data["step_name"], data["attempt_id"], data["timeout"])
    raise ValueError(f"Unknown timer action {kind!r}")


def _buffer_to_json(buffer: CollectBuffer, codec: EventCodec) -> dict[str, Any]:
    return {
        "by_type": [
            [codec.type_to_json(cls), [codec.event_to_json(e) for e in events]]
            for cls, events in buffer.by_type.items()
        ],
        "need": [[codec.type_to_json(cls), count] for cls, count in buffer.need.items()],
        "missing": buffer.missing,
    }


def _buffer_from_json(data: JSON, codec: EventCodec) -> CollectBuffer:
    return CollectBuffer(
        by_type={
            codec.type_from_json(name): [codec.event_from_json(e) for e in events]
            for name, events in data["by_type"]
        },
        need={codec.type_from_json(name): count for name, count in data["need"]},
        missing=data["missing"],
    )


def _attempt_to_json(attempt: Attempt, codec: EventCodec) -> dict[str, Any]:
    return {
        "attempt_id": attempt.attempt_id,
        "worker_id": attempt.worker_id,
        "work": work_to_json(attempt.work, codec),
        "started_at": attempt.started_at,
        "deadline_timer": attempt.deadline_timer,
    }


def _attempt_from_json(data: JSON, codec: EventCodec) -> Attempt:
    return Attempt(
        attempt_id=data["attempt_id"],
        worker_id=data["worker_id"],
        work=work_from_json(data["work"], codec),
        started_at=data["started_at"],
        deadline_timer=data["deadline_timer"],
    )


def _step_run_to_json(run: StepRun, codec: EventCodec) -> dict[str, Any]:
    return {
        "queue": [work_to_json(work, codec) for work in run.queue],
        "active": [_attempt_to_json(attempt, codec) for attempt in run.active.values()],
        "collected": [
            [buffer_id, _buffer_to_json(buffer, codec)]
            for buffer_id, buffer in run.collected.items()
        ],
        "joins": [
            [list(lineage), [[codec.event_to_json(e) for e in slot] for slot in buffers]]
            for lineage, buffers in run.joins.items()
        ],
    }


def _step_run_from_json(data: JSON, codec: EventCodec) -> StepRun:
    active = [_attempt_from_json(item, codec) for item in data["active"]]
    return StepRun(
        queue=WorkQueue(work_from_json(item, codec) for item in data["queue"]),
        active={attempt.attempt_id: attempt for attempt in active},
        collected={bid: _buffer_from_json(buf, codec) for bid, buf in data["collected"]},
        joins={
            _lineage(key): [[codec.event_from_json(e) for e in slot] for slot in buffers]
            for key, buffers in data.get("joins", [])
        },
    )


def _lineage(key: JSON) -> tuple[int | None, int | None]:
    """A join buffer's key: ``[stream, member]``, or a bare stream id (older journals)."""
    if isinstance(key, list):
        return (key[0], key[1])
    return (key, None)


def _stream_to_json(stream: Stream, codec: EventCodec) -> dict[str, Any]:
    return {
        "collectors": [
            [name, [codec.event_to_json(e) for e in events]]
            for name, events in stream.collectors.items()
        ],
        "parent": stream.parent,
        "parent_member": stream.parent_member,
        "live": stream.live,
        "released": sorted(stream.released),
    }


def _stream_from_json(data: JSON, codec: EventCodec) -> Stream:
    return Stream(
        collectors={
            name: [codec.event_from_json(e) for e in events] for name, events in data["collectors"]
        },
        parent=data["parent"],
        parent_member=data.get("parent_member"),
        live=data["live"],
        released=set(data["released"]),
    )


def _waiter_to_json(key: str, waiter: Waiter, codec: EventCodec) -> dict[str, Any]:
    where = f"waiter {waiter.waiter_id!r} of step {waiter.step_name!r}"
    return {
        "key": key,
        "waiter_id": waiter.waiter_id,
        "slot": waiter.slot,
        "step_name": waiter.step_name,
        "attempt_id": waiter.attempt_id,
        "work": work_to_json(waiter.work, codec),
        "event_type": codec.type_to_json(waiter.event_type),
        "requirements": codec.requirements_to_json(waiter.requirements, where),
        "timer_id": waiter.timer_id,
    }


def _waiter_from_json(data: JSON, codec: EventCodec) -> Waiter:
    return Waiter(
        waiter_id=data["waiter_id"],
        slot=data["slot"],
        step_name=data["step_name"],
        attempt_id=data["attempt_id"],
        work=work_from_json(data["work"], codec),
        event_type=codec.type_from_json(data["event_type"]),
        requirements=codec.requirements_from_json(data["requirements"]),
        timer_id=data["timer_id"],
    )


def state_to_json(state: RunState, codec: EventCodec) -> dict[str, Any]:
    """Every dynamic field of ``state`` as plain JSON data (the config is not included)."""
    return {
        "format": STATE_FORMAT,
        "status": state.status,
        "is_running": state.is_running,
        "started_at": state.started_at,
        "now": state.now,
        "next_attempt_id": state.next_attempt_id,
        "next_timer_id": state.next_timer_id,
        "idle_published": state.idle_published,
        "idle_check_pending": state.idle_check_pending,
        "run_timer": state.run_timer,
        # Steps are made on first use, so an empty one is the same as an absent one.
        "steps": {
            name: _step_run_to_json(run, codec)
            for name, run in state.step_runs()
            if run.queue or run.active or run.collected or run.joins
        },
        "waiters": [_waiter_to_json(key, w, codec) for key, w in state.waiters.items()],
        "timers": [
            {"timer_id": timer_id, "due": timer.due, "action": _action_to_json(timer.action, codec)}
            for timer_id, timer in state.timers.items()
        ],
        "next_stream_id": state.next_stream_id,
        "streams": [
            [stream_id, _stream_to_json(stream, codec)]
            for stream_id, stream in state.streams.items()
        ],
    }


def state_from_json(data: JSON, config: RunConfig, codec: EventCodec) -> RunState:
    """Rebuild a ``RunState`` for ``config`` from ``state_to_json`` output.

    Steps the config has but the data lacks start empty; a step the data has but the config
    lacks is an error, since its queued work would be lost.
    """
    if not isinstance(data, dict):
        raise ValueError(f"Expected the run state as a JSON object, got {type(data).__name__}")
    if data.get("format") != STATE_FORMAT:
        raise ValueError(f"Unsupported run state format {data.get('format')!r}")
    where = "run state"
    try:
        status = data["status"]
        if status not in _STATUSES:
            raise ValueError(f"unknown status {status!r}")
        state = RunState.initial(config)
        state.status = status
        state.is_running = data["is_running"]
        state.started_at = data["started_at"]
        state.now = data["now"]
        state.next_attempt_id = data["next_attempt_id"]
        state.next_timer_id = data["next_timer_id"]
        state.idle_published = data["idle_published"]
        state.idle_check_pending = data["idle_check_pending"]
        state.run_timer = data["run_timer"]
        for name, run in data["steps"].items():
            where = f"step {name!r}"
            if name not in config.steps:
                raise ValueError("the workflow has no such step")
            state.steps[name] = _step_run_from_json(run, codec)
        for item in data["waiters"]:
            where = f"waiter {item.get('waiter_id')!r} of step {item.get('step_name')!r}"
            state.waiters[item["key"]] = _waiter_from_json(item, codec)
        for item in data["timers"]:
            where = f"timer {item.get('timer_id')!r}"
            state.timers[item["timer_id"]] = Timer(
                due=item["due"], action=_action_from_json(item["action"], codec)
            )
        where = "streams"
        state.next_stream_id = data["next_stream_id"]
        for stream_id, stream in data["streams"]:
            where = f"stream {stream_id!r}"
            state.streams[stream_id] = _stream_from_json(stream, codec)
    except KeyError as exc:
        raise ValueError(f"Invalid run state JSON at {where}: missing field {exc}") from None
    except (ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"Invalid run state JSON at {where}: {exc}") from exc
    state.recount()
    return state
