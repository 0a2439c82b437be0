"""Properties of the reducer and codec over random, valid runs (see ``_harness.simulate``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reflow._type_names.qualname import qualified_name
from reflow.engine import (
    Command,
    CommandPublish,
    CommandRunStep,
    RunState,
    TickAddEvent,
    TickStartRun,
    TickStepReturned,
    TickTimerFired,
    WorkflowTick,
    reduce,
)
from reflow.engine.codec import (
    command_from_json,
    command_to_json,
    state_from_json,
    state_to_json,
    tick_from_json,
    tick_to_json,
)
from reflow.engine.state import TimerAddEvent, Work
from reflow.events import (
    CollectionReleaseEvent,
    Event,
    InputRequiredEvent,
    StopEvent,
    UnhandledEvent,
)

from ._harness import GRAPHS, Driver, Graph, codec_for, dumps, simulate

T = TypeVar("T")
MAX_TICKS = 40
RUNS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class DrawChooser:
    """Lets hypothesis make (and shrink) every choice of the simulated driver."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def choice(self, options: Sequence[T], label: str) -> T:
        return self.data.draw(st.sampled_from(list(options)), label=label)


def _run(graph: Graph, data: st.DataObject, **kwargs: Any) -> Driver:
    return simulate(graph, DrawChooser(data), MAX_TICKS, **kwargs)


def _commands_json(driver: Driver, commands: list[list[Command]]) -> str:
    codec = codec_for(driver.config)
    return dumps([[command_to_json(c, codec) for c in cmds] for cmds in commands])


@RUNS
@given(graph=st.sampled_from(GRAPHS), data=st.data())
def test_ticks_commands_and_states_survive_json(graph: Graph, data: st.DataObject) -> None:
    states: list[str] = []

    def snapshot(driver: Driver, tick: WorkflowTick) -> None:
        states.append(dumps(state_to_json(driver.state, codec)))

    codec = codec_for(graph.config)
    driver = _run(graph, data, on_tick=snapshot)
    states.append(dumps(state_to_json(driver.state, codec)))
    for text in states:
        restored = state_from_json(json.loads(text), graph.config, codec)
        assert dumps(state_to_json(restored, codec)) == text
    for tick in driver.ticks:
        encoded = dumps(tick_to_json(tick, codec))
        assert dumps(tick_to_json(tick_from_json(json.loads(encoded), codec), codec)) == encoded
    for cmds in driver.commands:
        for command in cmds:
            encoded = dumps(command_to_json(command, codec))
            decoded = command_from_json(json.loads(encoded), codec)
            assert dumps(command_to_json(decoded, codec)) == encoded


@RUNS
@given(graph=st.sampled_from(GRAPHS), data=st.data())
def test_folding_the_tick_log_rebuilds_the_run(graph: Graph, data: st.DataObject) -> None:
    driver = _run(graph, data)
    state = RunState.initial(graph.config)
    commands: list[list[Command]] = []
    for tick in driver.ticks:
        state, cmds = reduce(state, tick)
        commands.append(cmds)
    codec = codec_for(graph.config)
    assert dumps(state_to_json(state, codec)) == dumps(state_to_json(driver.state, codec))
    assert _commands_json(driver, commands) == _commands_json(driver, driver.commands)


@RUNS
@given(graph=st.sampled_from(GRAPHS), data=st.data())
def test_a_run_resumed_from_json_ends_like_the_uninterrupted_one(
    graph: Graph, data: st.DataObject
) -> None:
    driver = _run(graph, data)
    cut = data.draw(st.integers(1, len(driver.ticks)), label="cut")
    codec = codec_for(graph.config)
    state = RunState.initial(graph.config)
    for tick in driver.ticks[:cut]:
        state, _ = reduce(state, tick)
    text = json.dumps(state_to_json(state, codec))
    state = state_from_json(json.loads(text), graph.config, codec)
    commands: list[list[Command]] = []
    for tick in driver.ticks[cut:]:
        state, cmds = reduce(state, tick)
        commands.append(cmds)
    assert dumps(state_to_json(state, codec)) == dumps(state_to_json(driver.state, codec))
    assert _commands_json(driver, commands) == _commands_json(driver, driver.commands[cut:])


@RUNS
@given(graph=st.sampled_from(GRAPHS), data=st.data())
def test_no_step_exceeds_its_workers(graph: Graph, data: st.DataObject) -> None:
    driver = _run(graph, data)  # Driver.submit checks the limits after every tick
    driver.check_workers()


def _held(state: RunState) -> set[int]:
    """Identities of the events the state still holds anywhere."""
    works: list[Work] = []
    for run in state.steps.values():
        works.extend(run.queue)
        works.extend(attempt.work for attempt in run.active.values())
    works.extend(waiter.work for waiter in state.waiters.values())
    works.extend(
        t.action.work for t in state.timers.values() if isinstance(t.action, TimerAddEvent)
    )
    held = {id(work.event) for work in works}
    held.update(id(e) for work in works for e in work.resolved.values() if e is not None)
    for run in state.steps.values():
        for buffer in run.collected.values():
            held.update(id(e) for e in buffer.events())
    for stream in state.streams.values():
        held.update(id(e) for events in stream.collectors.values() for e in events)
    return held


class EventLedger:
    """Records which events entered the run, and in which tick each was routed."""

    def __init__(self) -> None:
        self.entered: dict[int, Event] = {}
        self.routed: list[list[Event]] = []
        self.held_before_last: set[int] = set()

    def on_tick(self, driver: Driver, tick: WorkflowTick) -> None:
        routed: list[Event] = []
        state = driver.state
        if isinstance(tick, TickStartRun) and tick.start_event is not None:
            routed.append(tick.start_event)
        elif isinstance(tick, TickAddEvent):
            self.entered[id(tick.event)] = tick.event
            if not tick.delay:
                routed.append(tick.event)
        elif isinstance(tick, TickStepReturned):
            result = tick.result
            if tick.attempt_id in state.steps[tick.step_name].active:
                members = result if isinstance(result, list) else [result]
                routed.extend(e for e in members if isinstance(e, Event))
                routed = [e for e in routed if not isinstance(e, StopEvent)]
        elif isinstance(tick, TickTimerFired):
            timer = state.timers.get(tick.timer_id)
            if timer is not None and isinstance(timer.action, TimerAddEvent):
                routed.append(timer.action.work.event)
        for event in routed:
            self.entered.setdefault(id(event), event)
        self.routed.append(routed)
        self.held_before_last = _held(state)

    def lost(self, driver: Driver) -> list[Event]:
        accounted = set(self.held_before_last) | _held(driver.state)
        for index, cmds in enumerate(driver.commands):
            for cmd in cmds:
                if isinstance(cmd, CommandRunStep):
                    accounted.add(id(cmd.event))
                    if isinstance(cmd.event, CollectionReleaseEvent):
                        accounted.update(id(e) for e in cmd.event.events)
                    accounted.update(id(e) for e in cmd.resolved.values() if e is not None)
                elif isinstance(cmd, CommandPublish) and isinstance(cmd.event, InputRequiredEvent):
                    accounted.add(id(cmd.event))
            unhandled = {
                u.qualified_name
                for u in (c.event for c in cmds if isinstance(c, CommandPublish))
                if isinstance(u, UnhandledEvent)
            }
            for event in self.routed[index]:
                # By design an InputRequiredEvent no step accepts is never reported unhandled.
                if isinstance(event, InputRequiredEvent) or (
                    qualified_name(type(event)) in unhandled
                ):
                    accounted.add(id(event))
        return [event for key, event in self.entered.items() if key not in accounted]


@RUNS
@given(graph=st.sampled_from(GRAPHS), data=st.data())
def test_no_event_is_silently_lost(graph: Graph, data: st.DataObject) -> None:
    ledger = EventLedger()
    driver = _run(graph, data, on_tick=ledger.on_tick)
    assert ledger.lost(driver) == []
