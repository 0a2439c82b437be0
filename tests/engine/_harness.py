"""A pure simulated driver for the reducer, used by the engine tests.

``Driver`` plays the imperative shell without any I/O: it submits ticks, keeps its own view
of running attempts and armed timers from the commands it gets back, and records every tick
and command so tests can replay or re-encode them.  ``simulate`` drives a run with choices
taken from a ``Chooser`` (hypothesis in the property tests).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from reflow.engine import (
    Command,
    CommandCancelStep,
    CommandCancelTimer,
    CommandIdleCheck,
    CommandPublish,
    CommandRunStep,
    CommandSchedule,
    RunConfig,
    RunState,
    StepSpec,
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
    reduce,
)
from reflow.engine.codec import EventCodec, registry_for
from reflow.events import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StepFailedEvent,
    StopEvent,
)

T = TypeVar("T")


# Events used by the engine tests -----------------------------------------------------------


class Begin(StartEvent):
    n: int = 0


class Ping(Event):
    n: int = 0


class PingChild(Ping):
    pass


class Pong(Event):
    n: int = 0


class Stray(Event):
    """Accepted by no step."""

    n: int = 0


class Ask(InputRequiredEvent):
    n: int = 0


class Answer(HumanResponseEvent):
    key: str = ""


class Finished(StopEvent):
    n: int = 0


class FixedRetry:
    """Retry after ``delay`` seconds until ``max_failures`` failures (a ``RetryPolicy``)."""

    def __init__(self, delay: float, max_failures: int) -> None:
        self.delay = delay
        self.max_failures = max_failures

    def next(
        self, elapsed_time: float, attempts: int, error: Exception, *, seed: int | None = None
    ) -> float | None:
        return self.delay if attempts < self.max_failures else None


def spec(name: str, *accepted: type[Event], **options: Any) -> StepSpec:
    return StepSpec(name=name, accepted=tuple(accepted), **options)


def config(*specs: StepSpec, **options: Any) -> RunConfig:
    return RunConfig(run_id="run-1", steps={s.name: s for s in specs}, **options)


# Command helpers ---------------------------------------------------------------------------


def published(cmds: Sequence[Command]) -> list[Event]:
    return [c.event for c in cmds if isinstance(c, CommandPublish)]


def published_of(cmds: Sequence[Command], cls: type[T]) -> list[T]:
    return [e for e in published(cmds) if isinstance(e, cls)]


def runs(cmds: Sequence[Command]) -> list[CommandRunStep]:
    return [c for c in cmds if isinstance(c, CommandRunStep)]


def only(cmds: Sequence[Command], cls: type[T]) -> T:
    found = [c for c in cmds if isinstance(c, cls)]
    assert len(found) == 1, f"expected one {cls.__name__}, got {found}"
    return found[0]


# Encoding helpers --------------------------------------------------------------------------


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=False, allow_nan=False)


# The driver --------------------------------------------------------------------------------


@dataclass
class Driver:
    """Submits ticks to the reducer and mirrors what a shell would know from the commands."""

    config: RunConfig
    state: RunState = field(init=False)
    now: float = 0.0
    running: dict[int, CommandRunStep] = field(default_factory=dict)
    timers: dict[int, float] = field(default_factory=dict)
    idle_pending: bool = False
    ticks: list[WorkflowTick] = field(default_factory=list)
    commands: list[list[Command]] = field(default_factory=list)
    on_tick: Callable[[Driver, WorkflowTick], None] | None = None

    def __post_init__(self) -> None:
        self.state = RunState.initial(self.config)

    def tick_time(self, advance: float = 0.0) -> float:
        self.now += advance
        return self.now

    def submit(self, tick: WorkflowTick) -> list[Command]:
        if self.on_tick is not None:
            self.on_tick(self, tick)
        self.state, cmds = reduce(self.state, tick)
        self.ticks.append(tick)
        self.commands.append(cmds)
        for cmd in cmds:
            if isinstance(cmd, CommandRunStep):
                assert cmd.attempt_id not in self.running, f"attempt {cmd.attempt_id} ran twice"
                self.running[cmd.attempt_id] = cmd
            elif isinstance(cmd, CommandCancelStep):
                self.running.pop(cmd.attempt_id, None)
            elif isinstance(cmd, CommandSchedule):
                self.timers[cmd.timer_id] = cmd.due
            elif isinstance(cmd, CommandCancelTimer):
                self.timers.pop(cmd.timer_id, None)
            elif isinstance(cmd, CommandIdleCheck):
                self.idle_pending = True
        if self.state.finished:
            self.running.clear()
            self.timers.clear()
        self.check_workers()
        return cmds

    def check_workers(self) -> None:
        """No step ever has more active attempts than its ``num_workers``.

        While the run lasts, the attempts the state holds active are exactly the ones the
        commands started and did not cancel or see finish.
        """
        if not self.state.finished:
            active = {a for run in self.state.steps.values() for a in run.active}
            assert active == set(self.running), "the shell's view and the state disagree"
        per_step: dict[str, int] = {}
        for cmd in self.running.values():
            per_step[cmd.step_name] = per_step.get(cmd.step_name, 0) + 1
        for name, spec_ in self.config.steps.items():
            assert len(self.state.steps[name].active) <= spec_.num_workers, name
            assert per_step.get(name, 0) <= spec_.num_workers, name

    # Ticks a shell would send ---------------------------------------------------------------

    def start(self, event: StartEvent | None) -> list[Command]:
        return self.submit(TickStartRun(at=self.now, start_event=event))

    def finish(self, attempt_id: int, result: Event | list[Event] | None) -> list[Command]:
        cmd = self.running.pop(attempt_id)
        return self.submit(TickStepReturned(self.now, cmd.step_name, attempt_id, result))

    def fail(self, attempt_id: int, error: BaseException) -> list[Command]:
        cmd = self.running.pop(attempt_id)
        return self.submit(TickStepFailed(self.now, cmd.step_name, attempt_id, error))

    def park(
        self,
        attempt_id: int,
        event_type: type[Event],
        requirements: dict[str, Any] | None = None,
        waiter_event: Event | None = None,
        timeout: float | None = None,
        waiter_id: str = "w",
    ) -> list[Command]:
        cmd = self.running.pop(attempt_id)
        slot = f"{waiter_id}#{len(cmd.resolved)}"
        tick = TickStepWaiting(
            at=self.now,
            step_name=cmd.step_name,
            attempt_id=attempt_id,
            waiter_id=waiter_id,
            slot=slot,
            event_type=event_type,
            requirements=dict(requirements or {}),
            waiter_event=waiter_event,
            timeout=timeout,
        )
        return self.submit(tick)

    def fire(self, timer_id: int) -> list[Command]:
        due = self.timers.pop(timer_id)
        self.now = max(self.now, due)
        return self.submit(TickTimerFired(self.now, timer_id))

    def idle_check(self) -> list[Command]:
        self.idle_pending = False
        return self.submit(TickIdleCheck(self.now))


# Randomised simulation ---------------------------------------------------------------------


class Chooser(Protocol):
    def choice(self, options: Sequence[T], label: str) -> T: ...


@dataclass(frozen=True)
class Graph:
    """A small step graph and what each step may return."""

    name: str
    config: RunConfig
    outputs: dict[str, tuple[Callable[[int], Event | list[Event]], ...]]
    start: Callable[[int], StartEvent]


def _graphs() -> list[Graph]:
    chain = config(
        spec("begin", Begin, num_workers=1),
        spec("work", Ping, num_workers=2, accept_subclasses=True, retry_policy=FixedRetry(1, 2)),
        spec("sink", Pong, num_workers=1, timeout=5.0),
        spec("rescue", StepFailedEvent, num_workers=1, is_catch_error=True),
        handler_for_step={"work": "rescue", "sink": "rescue"},
        timeout=100.0,
    )
    fan = config(
        spec("begin", Begin, num_workers=1),
        spec("left", Ping, num_workers=1),
        spec("right", Ping, PingChild, num_workers=3, retry_policy=FixedRetry(0.0, 3)),
        spec("join", Pong, Answer, num_workers=2),
    )
    # list[E] fan-in: begin returns a list of Pings, work turns each into Pongs (or not),
    # gather receives the Pongs of the whole list once every member's lineage has ended.
    gather = config(
        spec("begin", Begin, num_workers=1, bound_collectors=("gather",)),
        spec("work", Ping, num_workers=2, retry_policy=FixedRetry(0.5, 2)),
        spec("gather", num_workers=1, collects=(Pong,)),
    )
    return [
        Graph(
            "gather",
            gather,
            {
                "begin": (
                    lambda n: [Ping(n=n), Ping(n=n + 1), Ping(n=n + 2)],
                    lambda n: [],
                    lambda n: Ping(n=n),
                ),
                "work": (lambda n: Pong(n=n), lambda n: [Pong(n=n), Stray(n=n)]),
                "gather": (lambda n: StopEvent(result=n), lambda n: Stray(n=n)),
            },
            lambda n: Begin(n=n),
        ),
        Graph(
            "chain",
            chain,
            {
                "begin": (lambda n: Ping(n=n), lambda n: PingChild(n=n), lambda n: Ask(n=n)),
                "work": (lambda n: Pong(n=n), lambda n: Stray(n=n)),
                "sink": (lambda n: Finished(n=n),),
                "rescue": (lambda n: Pong(n=n),),
            },
            lambda n: Begin(n=n),
        ),
        Graph(
            "fan",
            fan,
            {
                "begin": (lambda n: Ping(n=n), lambda n: PingChild(n=n)),
                "left": (lambda n: Pong(n=n),),
                "right": (lambda n: Pong(n=n), lambda n: Answer(key="a")),
                "join": (lambda n: StopEvent(result=n), lambda n: Stray(n=n)),
            },
            lambda n: Begin(n=n),
        ),
    ]


GRAPHS = _graphs()

_EXTERNAL: tuple[Callable[[int], Event], ...] = (
    lambda n: Ping(n=n),
    lambda n: PingChild(n=n),
    lambda n: Pong(n=n),
    lambda n: Answer(key="a"),
    lambda n: Answer(key="b"),
    lambda n: Stray(n=n),
    lambda n: Ask(n=n),
)
RARELY = (False,) * 7 + (True,)
"""Ending a run by cancel or timeout is one choice in eight, so runs get somewhere first."""
EXPECTED_PAIR: list[type[Event]] = [Pong, Pong]
"""One list object reused by every collect call, as a fan-in loop would (identity cache)."""


def codec_for(graph_config: RunConfig) -> EventCodec:
    return EventCodec(registry_for(graph_config))


def simulate(
    graph: Graph,
    chooser: Chooser,
    max_ticks: int,
    on_tick: Callable[[Driver, WorkflowTick], None] | None = None,
) -> Driver:
    """Drive one run with random but valid ticks until it ends or ``max_ticks`` were sent."""
    driver = Driver(graph.config, on_tick=on_tick)
    counter = iter(range(1, 1_000_000))
    driver.start(graph.start(0))
    while not driver.state.finished and len(driver.ticks) < max_ticks:
        driver.tick_time(chooser.choice((0.0, 0.25, 1.0), "advance"))
        kinds = ["add", "publish", "cancel"]
        if driver.running:
            kinds += ["finish", "finish", "finish", "fail", "park", "collect"]
        run_timer = driver.state.run_timer
        step_timers = sorted(
            (t for t in driver.timers if t != run_timer), key=lambda t: (driver.timers[t], t)
        )
        if step_timers:
            kinds += ["fire", "fire"]
        if run_timer is not None:
            kinds += ["time_out"]
        if driver.idle_pending:
            kinds += ["idle"]
        kind = chooser.choice(kinds, "kind")
        n = next(counter)
        if kind == "finish":
            attempt_id = chooser.choice(sorted(driver.running), "attempt")
            step_name = driver.running[attempt_id].step_name
            factories = (*graph.outputs[step_name], None)
            make = chooser.choice(factories, "result")
            driver.finish(attempt_id, None if make is None else make(n))
        elif kind == "fail":
            attempt_id = chooser.choice(sorted(driver.running), "attempt")
            driver.fail(attempt_id, ValueError(f"boom {n}"))
        elif kind == "park":
            attempt_id = chooser.choice(sorted(driver.running), "attempt")
            key = chooser.choice((None, "a", "b"), "requirement")
            driver.park(
                attempt_id,
                Answer,
                requirements=None if key is None else {"key": key},
                waiter_event=chooser.choice((None, Ask(n=n)), "waiter_event"),
                timeout=chooser.choice((None, 2.0), "waiter_timeout"),
            )
        elif kind == "collect":
            attempt_id = chooser.choice(sorted(driver.running), "attempt")
            cmd = driver.running[attempt_id]
            event = chooser.choice((Pong(n=n), Ping(n=n)), "collected")
            lists: tuple[list[type[Event]], ...] = (EXPECTED_PAIR, [Pong, Ping], [])
            expected = chooser.choice(lists, "expected")
            driver.submit(TickCollect(driver.now, cmd.step_name, "buf", event, expected))
        elif kind == "fire":
            # A shell fires timers in due order; allow the second one to model a late first.
            driver.fire(chooser.choice(step_timers[:2], "timer"))
        elif kind == "time_out":
            if chooser.choice(RARELY, "really_time_out"):
                assert run_timer is not None
                driver.fire(run_timer)
        elif kind == "idle":
            driver.idle_check()
        elif kind == "add":
            event = chooser.choice(_EXTERNAL, "external")(n)
            target = chooser.choice((None, None, *graph.config.routes_for(type(event))), "target")
            delay = chooser.choice((None, None, 0.5), "delay")
            driver.submit(TickAddEvent(driver.now, event, step_name=target, delay=delay))
        elif kind == "publish":
            driver.submit(TickPublishEvent(driver.now, Stray(n=n)))
        elif chooser.choice(RARELY, "really_cancel"):
            driver.submit(TickCancelRun(driver.now))
    return driver
