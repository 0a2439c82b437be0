"""Lossless JSON for ticks, commands and ``RunState``: journals and snapshots.

Every encoder returns plain ``json.dumps``-able data and every decoder rebuilds an equal
value: ``encode(decode(encode(x))) == encode(x)``.  Ticks and commands carry a ``"type"``
discriminator (``"start_run"``, ``"run_step"``, ...).  Events, exceptions and event types go
through an ``EventCodec`` so classes defined inside functions resolve via its registry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import groupby
from typing import Any, TypeVar

from reflow.engine._codec_events import JSON, EventCodec, check_requirements, registry_for
from reflow.engine._codec_state import (
    state_from_json,
    state_to_json,
    work_from_json,
    work_to_json,
)
from reflow.engine.commands import (
    Command,
    CommandCancelStep,
    CommandCancelTimer,
    CommandCompleteRun,
    CommandFailRun,
    CommandHaltRun,
    CommandIdleCheck,
    CommandPublish,
    CommandReply,
    CommandRunStep,
    CommandSchedule,
    RetryState,
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
from reflow.events import Event, StartEvent, StopEvent

DecodedT = TypeVar("DecodedT")

# Event types -------------------------------------------------------------------------------


def types_to_json(types: Sequence[type[Event]], codec: EventCodec) -> list[Any]:
    """Qualified names; run-length encoded as ``[[name, count], ...]`` when that is shorter.

    A fan-in of 100,000 identical types therefore stays one pair, and costs one name lookup:
    the runs are found by ``groupby`` (identity comparisons), not by naming every item.
    """
    runs = [[codec.type_to_json(cls), len(list(group))] for cls, group in groupby(types)]
    if len(runs) < len(types):
        return runs
    return [name for name, _ in runs]


def types_from_json(data: JSON, codec: EventCodec) -> list[type[Event]]:
    if not isinstance(data, list):
        raise ValueError(f"Expected a list of event type names, got {data!r}")
    types: list[type[Event]] = []
    for item in data:
        if isinstance(item, str):
            types.append(codec.type_from_json(item))
        elif (
            isinstance(item, list) and len(item) == 2 and isinstance(item[1], int) and item[1] >= 0
        ):
            types.extend([codec.type_from_json(item[0])] * item[1])
        else:
            raise ValueError(f"Expected a type name or a [name, count] pair, got {item!r}")
    return types


# Ticks -------------------------------------------------------------------------------------


def tick_to_json(tick: WorkflowTick, codec: EventCodec) -> dict[str, Any]:
    c = codec
    if isinstance(tick, TickStartRun):
        return {
            "type": "start_run",
            "at": tick.at,
            "start_event": c.optional_event_to_json(tick.start_event),
        }
    if isinstance(tick, TickAddEvent):
        return {
            "type": "add_event",
            "at": tick.at,
            "event": c.event_to_json(tick.event),
            "step_name": tick.step_name,
            "delay": tick.delay,
            "attempts": tick.attempts,
            "first_attempt_at": tick.first_attempt_at,
            "last_exception": c.optional_exception_to_json(tick.last_exception),
            "last_failed_at": tick.last_failed_at,
            "recovery_counts": dict(tick.recovery_counts),
        }
    if isinstance(tick, TickStepReturned):
        return {
            "type": "step_returned",
            "at": tick.at,
            "step_name": tick.step_name,
            "attempt_id": tick.attempt_id,
            "result": _result_to_json(tick.result, c),
        }
    if isinstance(tick, TickStepFailed):
        return {
            "type": "step_failed",
            "at": tick.at,
            "step_name": tick.step_name,
            "attempt_id": tick.attempt_id,
            "exception": c.exception_to_json(tick.exception),
        }
    if isinstance(tick, TickStepWaiting):
        where = f"waiter {tick.waiter_id!r} of step {tick.step_name!r}"
        return {
            "type": "step_waiting",
            "at": tick.at,
            "step_name": tick.step_name,
            "attempt_id": tick.attempt_id,
            "waiter_id": tick.waiter_id,
            "slot": tick.slot,
            "event_type": c.type_to_json(tick.event_type),
            "requirements": check_requirements(tick.requirements, where),
            "waiter_event": c.optional_event_to_json(tick.waiter_event),
            "timeout": tick.timeout,
        }
    if isinstance(tick, TickCollect):
        return {
            "type": "collect",
            "at": tick.at,
            "step_name": tick.step_name,
            "buffer_id": tick.buffer_id,
            "event": c.event_to_json(tick.event),
            "expected": types_to_json(tick.expected, c),
        }
    if isinstance(tick, TickPublishEvent):
        return {"type": "publish_event", "at": tick.at, "event": c.event_to_json(tick.event)}
    if isinstance(tick, TickCancelRun):
        return {"type": "cancel_run", "at": tick.at}
    if isinstance(tick, TickTimerFired):
        return {"type": "timer_fired", "at": tick.at, "timer_id": tick.timer_id}
    if isinstance(tick, TickIdleCheck):
        return {"type": "idle_check", "at": tick.at}
    raise TypeError(f"Not a tick: {tick!r}")


def _add_event(d: dict[str, Any], c: EventCodec) -> WorkflowTick:
    return TickAddEvent(
        at=d["at"],
        event=c.event_from_json(d["event"]),
        step_name=d["step_name"],
        delay=d["delay"],
        attempts=d["attempts"],
        first_attempt_at=d["first_attempt_at"],
        last_exception=c.optional_exception_from_json(d["last_exception"]),
        last_failed_at=d["last_failed_at"],
        recovery_counts=dict(d["recovery_counts"]),
    )


def _step_waiting(d: dict[str, Any], c: EventCodec) -> WorkflowTick:
    return TickStepWaiting(
        at=d["at"],
        step_name=d["step_name"],
        attempt_id=d["attempt_id"],
        waiter_id=d["waiter_id"],
        slot=d["slot"],
        event_type=c.type_from_json(d["event_type"]),
        requirements=dict(d["requirements"]),
        waiter_event=c.optional_event_from_json(d["waiter_event"]),
        timeout=d["timeout"],
    )


def _result_to_json(result: Event | list[Event] | None, codec: EventCodec) -> Any:
    """A step's result: null, one event, or a JSON list for a returned ``list[E]``."""
    if isinstance(result, list):
        return [codec.event_to_json(event) for event in result]
    return codec.optional_event_to_json(result)


def _result_from_json(data: JSON, codec: EventCodec) -> Event | list[Event] | None:
    if isinstance(data, list):
        return [codec.event_from_json(item) for item in data]
    return codec.optional_event_from_json(data)


def _start_event(event: Event | None) -> StartEvent | None:
    if event is not None and not isinstance(event, StartEvent):
        raise ValueError(f"start_run needs a StartEvent, got {type(event).__name__}")
    return event


_TICK_DECODERS: dict[str, Callable[[dict[str, Any], EventCodec], WorkflowTick]] = {
    "start_run": lambda d, c: TickStartRun(
        at=d["at"], start_event=_start_event(c.optional_event_from_json(d["start_event"]))
    ),
    "add_event": _add_event,
    "step_returned": lambda d, c: TickStepReturned(
        at=d["at"],
        step_name=d["step_name"],
        attempt_id=d["attempt_id"],
        result=_result_from_json(d["result"], c),
    ),
    "step_failed": lambda d, c: TickStepFailed(
        at=d["at"],
        step_name=d["step_name"],
        attempt_id=d["attempt_id"],
        exception=c.exception_from_json(d["exception"]),
    ),
    "step_waiting": _step_waiting,
    "collect": lambda d, c: TickCollect(
        at=d["at"],
        step_name=d["step_name"],
        buffer_id=d["buffer_id"],
        event=c.event_from_json(d["event"]),
        expected=types_from_json(d["expected"], c),
    ),
    "publish_event": lambda d, c: TickPublishEvent(at=d["at"], event=c.event_from_json(d["event"])),
    "cancel_run": lambda d, c: TickCancelRun(at=d["at"]),
    "timer_fired": lambda d, c: TickTimerFired(at=d["at"], timer_id=d["timer_id"]),
    "idle_check": lambda d, c: TickIdleCheck(at=d["at"]),
}


def tick_from_json(data: JSON, codec: EventCodec) -> WorkflowTick:
    return _decode("tick", _TICK_DECODERS, data, codec)


# Commands ----------------------------------------------------------------------------------


def _reply_to_json(value: Any, codec: EventCodec) -> Any:
    if value is None:
        return None
    if isinstance(value, list) and all(isinstance(event, Event) for event in value):
        return [codec.event_to_json(event) for event in value]
    raise ValueError(f"A reply must be None or a list of events, got {type(value).__name__}")


def command_to_json(command: Command, codec: EventCodec) -> dict[str, Any]:
    c = codec
    if isinstance(command, CommandRunStep):
        retry = command.retry
        return {
            "type": "run_step",
            "step_name": command.step_name,
            "worker_id": command.worker_id,
            "attempt_id": command.attempt_id,
            "event": c.event_to_json(command.event),
            "retry": {
                "retry_number": retry.retry_number,
                "first_attempt_at": retry.first_attempt_at,
                "last_exception": c.optional_exception_to_json(retry.last_exception),
                "last_failed_at": retry.last_failed_at,
            },
            "recovery_counts": dict(command.recovery_counts),
            "resolved": {k: c.optional_event_to_json(v) for k, v in command.resolved.items()},
            "resume_waiter": command.resume_waiter,
            "join": None if command.join is None else [c.event_to_json(e) for e in command.join],
        }
    if isinstance(command, CommandCancelStep):
        return {
            "type": "cancel_step",
            "step_name": command.step_name,
            "attempt_id": command.attempt_id,
        }
    if isinstance(command, CommandPublish):
        return {"type": "publish", "event": c.event_to_json(command.event)}
    if isinstance(command, CommandSchedule):
        return {"type": "schedule", "timer_id": command.timer_id, "due": command.due}
    if isinstance(command, CommandCancelTimer):
        return {"type": "cancel_timer", "timer_id": command.timer_id}
    if isinstance(command, CommandIdleCheck):
        return {"type": "idle_check"}
    if isinstance(command, CommandReply):
        return {"type": "reply", "value": _reply_to_json(command.value, c)}
    if isinstance(command, CommandCompleteRun):
        return {"type": "complete_run", "result": c.event_to_json(command.result)}
    if isinstance(command, CommandFailRun):
        return {
            "type": "fail_run",
            "step_name": command.step_name,
            "exception": c.exception_to_json(command.exception),
        }
    if isinstance(command, CommandHaltRun):
        return {"type": "halt_run", "exception": c.exception_to_json(command.exception)}
    raise TypeError(f"Not a command: {command!r}")


def _run_step(d: dict[str, Any], c: EventCodec) -> Command:
    retry = d["retry"]
    return CommandRunStep(
        step_name=d["step_name"],
        worker_id=d["worker_id"],
        attempt_id=d["attempt_id"],
        event=c.event_from_json(d["event"]),
        retry=RetryState(
            retry_number=retry["retry_number"],
            first_attempt_at=retry["first_attempt_at"],
            last_exception=c.optional_exception_from_json(retry["last_exception"]),
            last_failed_at=retry["last_failed_at"],
        ),
        recovery_counts=dict(d["recovery_counts"]),
        resolved={k: c.optional_event_from_json(v) for k, v in d["resolved"].items()},
        resume_waiter=d["resume_waiter"],
        join=(None if d.get("join") is None else tuple(c.event_from_json(e) for e in d["join"])),
    )


def _complete_run(d: dict[str, Any], c: EventCodec) -> Command:
    result = c.event_from_json(d["result"])
    if not isinstance(result, StopEvent):
        raise ValueError(f"complete_run needs a StopEvent result, got {type(result).__name__}")
    return CommandCompleteRun(result)


def _reply(d: dict[str, Any], c: EventCodec) -> Command:
    value = d["value"]
    return CommandReply(None if value is None else [c.event_from_json(e) for e in value])


_COMMAND_DECODERS: dict[str, Callable[[dict[str, Any], EventCodec], Command]] = {
    "run_step": _run_step,
    "cancel_step": lambda d, c: CommandCancelStep(d["step_name"], d["attempt_id"]),
    "publish": lambda d, c: CommandPublish(c.event_from_json(d["event"])),
    "schedule": lambda d, c: CommandSchedule(timer_id=d["timer_id"], due=d["due"]),
    "cancel_timer": lambda d, c: CommandCancelTimer(d["timer_id"]),
    "idle_check": lambda d, c: CommandIdleCheck(),
    "reply": _reply,
    "complete_run": _complete_run,
    "fail_run": lambda d, c: CommandFailRun(
        step_name=d["step_name"], exception=c.exception_from_json(d["exception"])
    ),
    "halt_run": lambda d, c: CommandHaltRun(c.exception_from_json(d["exception"])),
}


def command_from_json(data: JSON, codec: EventCodec) -> Command:
    return _decode("command", _COMMAND_DECODERS, data, codec)


def _decode(
    kind: str,
    decoders: dict[str, Callable[[dict[str, Any], EventCodec], DecodedT]],
    data: JSON,
    codec: EventCodec,
) -> DecodedT:
    if not isinstance(data, dict):
        raise ValueError(f"Expected a {kind} as a JSON object, got {type(data).__name__}")
    type_name = data.get("type")
    decoder = decoders.get(type_name) if isinstance(type_name, str) else None
    if decoder is None:
        raise ValueError(f"Unknown {kind} type {type_name!r}; expected one of {sorted(decoders)}")
    try:
        return decoder(data, codec)
    except KeyError as exc:
        raise ValueError(f"The {type_name!r} {kind} is missing the field {exc}") from None
    except (TypeError, AttributeError, ValueError) as exc:
        raise ValueError(f"The {type_name!r} {kind} is malformed: {exc}") from exc


__all__ = [
    "EventCodec",
    "command_from_json",
    "command_to_json",
    "registry_for",
    "state_from_json",
    "state_to_json",
    "tick_from_json",
    "tick_to_json",
    "types_from_json",
    "types_to_json",
    "work_from_json",
    "work_to_json",
]
