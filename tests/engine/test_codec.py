"""The engine's JSON codec: ticks, commands and run state survive a JSON round trip."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

import pytest

from reflow.engine import (
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
    RunState,
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
from reflow.engine.codec import (
    EventCodec,
    command_from_json,
    command_to_json,
    registry_for,
    state_from_json,
    state_to_json,
    tick_from_json,
    tick_to_json,
    types_from_json,
    types_to_json,
)
from reflow.engine.state import (
    CollectBuffer,
    Timer,
    TimerAddEvent,
    TimerRunTimeout,
    TimerStepDeadline,
    TimerWaiterTimeout,
    Waiter,
    Work,
)
from reflow.errors import StepTimeoutError, WorkflowCancelledByUser
from reflow.events import (
    Event,
    StartEvent,
    StepFailedEvent,
    StopEvent,
    UnreconstructedException,
    WorkflowFailedEvent,
)

from ._harness import (
    Answer,
    Ask,
    Begin,
    Driver,
    Finished,
    Ping,
    PingChild,
    Pong,
    codec_for,
    config,
    dumps,
    spec,
)

CODEC = EventCodec()


def _stable(encoded: dict[str, Any], decode: Any, encode: Any) -> Any:
    """Decode the JSON text of ``encoded`` and check that encoding it again gives the same."""
    text = json.dumps(encoded)
    decoded = decode(json.loads(text))
    assert dumps(encode(decoded)) == dumps(encoded)
    return decoded


def _tick_round_trip(tick: WorkflowTick, codec: EventCodec = CODEC) -> WorkflowTick:
    return _stable(  # type: ignore[no-any-return]
        tick_to_json(tick, codec),
        lambda d: tick_from_json(d, codec),
        lambda t: tick_to_json(t, codec),
    )


def _command_round_trip(command: Command) -> Command:
    return _stable(  # type: ignore[no-any-return]
        command_to_json(command, CODEC),
        lambda d: command_from_json(d, CODEC),
        lambda c: command_to_json(c, CODEC),
    )


ERROR = ValueError("bad")
FULL_ADD = TickAddEvent(
    2.0,
    PingChild(n=1, extra="kept"),
    step_name="work",
    delay=0.5,
    attempts=2,
    first_attempt_at=1.0,
    last_exception=ERROR,
    last_failed_at=1.75,
    recovery_counts={"rescue": 1},
)
LIST_RESULT = TickStepReturned(3.0, "work", 4, [Pong(n=1), Ping(n=2)])
STOP_RESULT = TickStepReturned(3.0, "work", 4, StopEvent(result={"a": [1, 2]}))
WAITING = TickStepWaiting(3.0, "ask", 5, "w", "w#0", Answer, {"key": "a"}, Ask(n=1), 2.5)
COLLECT = TickCollect(4.0, "join", "default", Pong(), [Pong, Ping, Pong])
TICKS: list[tuple[str, WorkflowTick]] = [
    ("start_run", TickStartRun(1.5, Begin(n=2))),
    ("start_run", TickStartRun(1.5)),
    ("add_event", TickAddEvent(2.0, Ping(n=1))),
    ("add_event", FULL_ADD),
    ("step_returned", TickStepReturned(3.0, "work", 4, Pong(n=3))),
    ("step_returned", TickStepReturned(3.0, "work", 4, None)),
    ("step_returned", LIST_RESULT),
    ("step_returned", TickStepReturned(3.0, "work", 4, [])),
    ("step_returned", STOP_RESULT),
    ("step_failed", TickStepFailed(3.0, "work", 4, ERROR)),
    ("step_waiting", WAITING),
    ("step_waiting", TickStepWaiting(3.0, "ask", 5, "w", "w#1", Answer, {}, None, None)),
    ("collect", COLLECT),
    ("publish_event", TickPublishEvent(4.0, Ping(n=9))),
    ("cancel_run", TickCancelRun(5.0)),
    ("timer_fired", TickTimerFired(5.0, 7)),
    ("idle_check", TickIdleCheck(5.0)),
]


@pytest.mark.parametrize(("type_name", "tick"), TICKS)
def test_every_tick_kind_round_trips_with_its_discriminator(
    type_name: str, tick: WorkflowTick
) -> None:
    assert tick_to_json(tick, CODEC)["type"] == type_name
    decoded = _tick_round_trip(tick)
    assert type(decoded) is type(tick)
    assert decoded.at == tick.at


def test_decoded_ticks_carry_equal_values() -> None:
    decoded = _tick_round_trip(FULL_ADD)
    assert isinstance(decoded, TickAddEvent)
    assert isinstance(decoded.last_exception, ValueError)
    assert decoded == replace(FULL_ADD, last_exception=decoded.last_exception)
    assert str(decoded.last_exception) == "bad"
    waiting = _tick_round_trip(WAITING)
    assert waiting == WAITING
    collect = _tick_round_trip(COLLECT)
    assert isinstance(collect, TickCollect)
    assert list(collect.expected) == [Pong, Ping, Pong]
    assert _tick_round_trip(LIST_RESULT) == LIST_RESULT
    stop = _tick_round_trip(STOP_RESULT)
    assert isinstance(stop, TickStepReturned) and isinstance(stop.result, StopEvent)
    assert stop.result.result == {"a": [1, 2]}


COMMANDS: list[tuple[str, Command]] = [
    (
        "run_step",
        CommandRunStep(
            "work",
            1,
            3,
            Ping(n=1),
            RetryState(2, 1.0, ERROR, 2.0),
            {"rescue": 1},
            {"w#0": Answer(key="a"), "w#1": None},
            "w#1",
        ),
    ),
    ("run_step", CommandRunStep("work", 0, 1, Begin(), RetryState())),
    ("cancel_step", CommandCancelStep("work", 3)),
    ("publish", CommandPublish(Ask(n=2))),
    ("schedule", CommandSchedule(4, 12.25)),
    ("cancel_timer", CommandCancelTimer(4)),
    ("idle_check", CommandIdleCheck()),
    ("reply", CommandReply(None)),
    ("reply", CommandReply([Pong(n=1), Ping(n=2)])),
    ("reply", CommandReply([])),
    ("complete_run", CommandCompleteRun(Finished(n=1))),
    ("fail_run", CommandFailRun("work", ERROR)),
    ("fail_run", CommandFailRun(None, StepTimeoutError("work", 2.0))),
    ("halt_run", CommandHaltRun(WorkflowCancelledByUser())),
]


@pytest.mark.parametrize(("type_name", "command"), COMMANDS)
def test_every_command_kind_round_trips_with_its_discriminator(
    type_name: str, command: Command
) -> None:
    assert command_to_json(command, CODEC)["type"] == type_name
    assert type(_command_round_trip(command)) is type(command)


def test_decoded_commands_carry_equal_values() -> None:
    run = _command_round_trip(COMMANDS[0][1])
    assert isinstance(run, CommandRunStep)
    assert (run.step_name, run.worker_id, run.attempt_id, run.event) == ("work", 1, 3, Ping(n=1))
    assert run.resolved == {"w#0": Answer(key="a"), "w#1": None}
    assert (run.retry.retry_number, run.retry.first_attempt_at, run.retry.last_failed_at) == (
        2,
        1.0,
        2.0,
    )
    assert run.recovery_counts == {"rescue": 1} and run.resume_waiter == "w#1"
    reply = _command_round_trip(COMMANDS[8][1])
    assert isinstance(reply, CommandReply) and reply.value == [Pong(n=1), Ping(n=2)]
    complete = _command_round_trip(COMMANDS[10][1])
    assert complete == CommandCompleteRun(Finished(n=1))


def test_an_exception_that_cannot_be_rebuilt_keeps_its_name_and_message() -> None:
    command = _command_round_trip(CommandFailRun("work", StepTimeoutError("work", 2.0)))
    assert isinstance(command, CommandFailRun)
    error = command.exception
    assert isinstance(error, UnreconstructedException)
    assert error.original_type == "reflow.errors.StepTimeoutError"
    assert str(error) == "Step 'work' timed out after 2 seconds"


def test_a_reply_must_be_none_or_events() -> None:
    with pytest.raises(ValueError, match="A reply must be None or a list of events"):
        command_to_json(CommandReply(42), CODEC)


def test_a_long_uniform_expected_list_is_run_length_encoded() -> None:
    expected: list[type[Event]] = [Pong] * 100_000
    encoded = types_to_json(expected, CODEC)
    assert encoded == [[f"{Pong.__module__}.Pong", 100_000]]
    assert types_from_json(encoded, CODEC) == expected
    mixed: list[type[Event]] = [Pong, Pong, Pong, Ping]
    assert types_from_json(types_to_json(mixed, CODEC), CODEC) == mixed
    short: list[type[Event]] = [Pong, Ping]
    assert types_to_json(short, CODEC) == [f"{Pong.__module__}.Pong", f"{Ping.__module__}.Ping"]
    assert types_to_json([], CODEC) == []


def test_a_collect_tick_of_a_wide_fan_in_stays_small() -> None:
    tick = TickCollect(0.0, "join", "b", Pong(), [Pong] * 100_000)
    assert len(json.dumps(tick_to_json(tick, CODEC))) < 500
    decoded = tick_from_json(tick_to_json(tick, CODEC), CODEC)
    assert isinstance(decoded, TickCollect) and len(decoded.expected) == 100_000


def test_events_defined_in_a_function_resolve_through_the_registry() -> None:
    class Local(Event):
        value: int = 0

    class LocalChild(Local):
        pass

    cfg = config(spec("local", Local))
    registry = registry_for(cfg)
    codec = EventCodec(registry)
    failed = StepFailedEvent(
        step_name="local",
        input_event=LocalChild(value=3),
        exception=ERROR,
        attempts=1,
        elapsed_seconds=0.5,
        failed_at=datetime(2024, 1, 2, tzinfo=timezone.utc),
    )
    tick = _tick_round_trip(TickAddEvent(1.0, failed), codec)
    assert isinstance(tick, TickAddEvent) and isinstance(tick.event, StepFailedEvent)
    assert type(tick.event.input_event) is LocalChild
    assert tick.event.input_event.value == 3
    # Without the registry the name cannot be imported, and the error says which one.
    with pytest.raises(ValueError, match="LocalChild"):
        tick_from_json(tick_to_json(TickAddEvent(1.0, LocalChild()), codec), CODEC)


def test_the_registry_holds_accepted_types_their_subclasses_and_the_built_ins() -> None:
    registry = registry_for(config(spec("work", Ping), spec("rescue", StepFailedEvent)))
    for cls in (Ping, PingChild, StepFailedEvent, StartEvent, StopEvent, WorkflowFailedEvent):
        assert registry[f"{cls.__module__}.{cls.__qualname__}"] is cls
    assert f"{Pong.__module__}.Pong" not in registry


def test_a_non_json_requirement_is_refused_naming_the_waiter() -> None:
    tick = TickStepWaiting(
        0.0, "ask", 1, "approval", "approval#0", Answer, {"ids": (1, 2)}, None, None
    )
    with pytest.raises(ValueError, match=r"waiter 'approval' of step 'ask'.*'ids'"):
        tick_to_json(tick, CODEC)
    driver = Driver(config(spec("ask", Begin)))
    driver.start(Begin())
    driver.park(1, Answer, {"when": datetime(2024, 1, 1)}, waiter_id="approval")
    with pytest.raises(ValueError, match=r"waiter 'approval' of step 'ask'.*'when'"):
        state_to_json(driver.state, CODEC)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"type": "nope", "at": 1.0}, "Unknown tick type 'nope'"),
        ({"at": 1.0}, "Unknown tick type None"),
        ({"type": "timer_fired", "at": 1.0}, "missing the field 'timer_id'"),
        ([1, 2], "Expected a tick as a JSON object"),
        ({"type": "publish_event", "at": 1.0, "event": {"x": 1}}, "Expected a serialized event"),
        (
            {"type": "start_run", "at": 1.0, "start_event": CODEC.event_to_json(Ping())},
            "start_run needs a StartEvent",
        ),
        (
            {
                "type": "collect",
                "at": 1,
                "step_name": "s",
                "buffer_id": "b",
                "event": CODEC.event_to_json(Ping()),
                "expected": [["x.Y", -1]],
            },
            "Expected a type name or a",
        ),
    ],
)
def test_malformed_tick_json_is_refused_clearly(data: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tick_from_json(data, CODEC)


def test_an_unknown_command_type_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown command type 'explode'"):
        command_from_json({"type": "explode"}, CODEC)


def _populated_state() -> RunState:
    """A state with something in every dynamic field."""
    cfg = config(spec("work", Ping, num_workers=1), spec("join", Pong), timeout=60.0)
    driver = Driver(cfg)
    driver.start(None)
    driver.submit(TickAddEvent(0.0, Ping(n=1)))
    driver.submit(TickAddEvent(0.0, Ping(n=2)))
    driver.submit(TickAddEvent(0.0, Pong(n=1)))
    driver.park(2, Answer, {"key": "k", "nested": {"list": [1, 2.5, None, True]}}, timeout=3.0)
    driver.submit(TickAddEvent(0.0, Ping(n=3), delay=2.0, attempts=1, last_exception=ERROR))
    driver.submit(TickCollect(0.0, "join", "buf", Pong(n=5), [Pong, Pong, Ping]))
    state = driver.state
    state.idle_published = True
    state.timers[99] = Timer(9.0, TimerStepDeadline("work", 1, 4.0))
    return state


def test_state_round_trip_keeps_every_dynamic_field() -> None:
    state = _populated_state()
    codec = codec_for(state.config)
    encoded = state_to_json(state, codec)
    restored = _stable(
        encoded,
        lambda d: state_from_json(d, state.config, codec),
        lambda s: state_to_json(s, codec),
    )
    assert isinstance(restored, RunState)
    assert restored.config is state.config
    for name in ("status", "is_running", "started_at", "now", "next_attempt_id"):
        assert getattr(restored, name) == getattr(state, name), name
    for name in ("next_timer_id", "idle_published", "idle_check_pending", "run_timer"):
        assert getattr(restored, name) == getattr(state, name), name
    work, join = restored.steps["work"], restored.steps["join"]
    assert [w.event for w in work.queue] == [Ping(n=2)]
    assert [(a.attempt_id, a.work.event) for a in work.active.values()] == [(1, Ping(n=1))]
    (waiter,) = restored.waiters.values()
    assert isinstance(waiter, Waiter)
    assert waiter.requirements == {"key": "k", "nested": {"list": [1, 2.5, None, True]}}
    assert waiter.event_type is Answer and waiter.timer_id in restored.timers
    assert [type(t.action) for t in restored.timers.values()] == [
        TimerRunTimeout,
        TimerWaiterTimeout,
        TimerAddEvent,
        TimerStepDeadline,
    ]
    delayed = next(
        t.action for t in restored.timers.values() if isinstance(t.action, TimerAddEvent)
    )
    assert isinstance(delayed.work, Work) and delayed.work.attempts == 1
    assert isinstance(delayed.work.last_exception, ValueError)
    buffer = join.collected["buf"]
    assert isinstance(buffer, CollectBuffer)
    assert buffer.by_type == {Pong: [Pong(n=5)]}
    assert (buffer.need, buffer.missing) == ({Pong: 2, Ping: 1}, 2)
    assert (buffer.expected_ref, buffer.expected_len) == (None, -1)


def test_state_from_json_refuses_a_step_the_workflow_lacks() -> None:
    state = _populated_state()
    encoded = state_to_json(state, CODEC)
    encoded["steps"]["gone"] = encoded["steps"].pop("join")
    with pytest.raises(ValueError, match=r"step 'gone'.*no such step"):
        state_from_json(encoded, state.config, CODEC)


def test_state_from_json_names_what_is_missing() -> None:
    state = _populated_state()
    encoded = state_to_json(state, CODEC)
    del encoded["waiters"][0]["work"]
    with pytest.raises(ValueError, match=r"waiter 'w' of step 'join'.*'work'"):
        state_from_json(encoded, state.config, CODEC)
    with pytest.raises(ValueError, match="Unsupported run state format"):
        state_from_json({"format": 99}, state.config, CODEC)


def test_a_step_added_to_the_workflow_starts_empty() -> None:
    state = _populated_state()
    encoded = state_to_json(state, CODEC)
    del encoded["steps"]["join"]
    restored = state_from_json(encoded, state.config, CODEC)
    assert "work" in restored.steps
    assert not restored.steps["join"].queue and not restored.steps["join"].collected
