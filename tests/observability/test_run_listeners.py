"""The control loop's listener seam (``reflow.runtime.listeners``), without OpenTelemetry."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from tests.observability.conftest import modules_loaded_by

from reflow import Workflow, step
from reflow.durable import DurableRuntime
from reflow.engine import (
    Command,
    CommandCompleteRun,
    CommandRunStep,
    RunState,
    TickStartRun,
    TickStepReturned,
    WorkflowTick,
)
from reflow.events import StartEvent, StopEvent
from reflow.runtime import listeners
from reflow.runtime.listeners import RunListener, add_run_listener
from reflow.runtime.types.step_call import StepCall

from .flows import Quick

marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="unset")


class Recorder(RunListener):
    def __init__(self, driver: Any, workflow: Any) -> None:
        self.run_id = driver.run_id
        self.workflow = workflow
        self.ticks: list[tuple[type[Any], list[type[Any]], str]] = []
        self.attempts: list[str] = []
        self.writes: list[int] = []
        self.done: list[asyncio.Future[StopEvent]] = []
        marker.set("run")  # in the run's own context, not the caller's

    def on_tick(self, state: RunState, tick: WorkflowTick, commands: Sequence[Command]) -> None:
        self.ticks.append((type(tick), [type(cmd) for cmd in commands], state.status))

    def on_attempt(self, call: StepCall) -> None:
        self.attempts.append(call.step_name)
        marker.set(f"attempt {call.step_name}")

    def on_journal_write(self, ticks: int, seconds: float) -> None:
        assert seconds >= 0
        self.writes.append(ticks)

    def on_done(self, result: asyncio.Future[StopEvent]) -> None:
        self.done.append(result)


@pytest.fixture
def recorders() -> Iterator[list[Recorder]]:
    made: list[Recorder] = []

    def factory(driver: Any, workflow: Any) -> RunListener:
        made.append(Recorder(driver, workflow))
        return made[-1]

    remove = add_run_listener(factory)
    try:
        yield made
    finally:
        remove()
    assert factory not in listeners.factories


class Marks(Workflow):
    seen: list[str] = []

    @step
    async def only(self, ev: StartEvent) -> StopEvent:
        Marks.seen.append(marker.get())
        return StopEvent(result=1)


async def test_a_listener_sees_ticks_commands_attempts_and_the_end(
    recorders: list[Recorder],
) -> None:
    workflow = Marks(timeout=5)
    Marks.seen = []
    handler = workflow.run()
    assert await handler == 1
    assert marker.get() == "unset"  # nothing leaked into the caller
    assert Marks.seen == ["attempt only"]
    (recorder,) = recorders
    assert recorder.run_id == handler.run_id
    assert recorder.workflow is workflow
    assert recorder.ticks[0][0] is TickStartRun
    assert CommandRunStep in recorder.ticks[0][1]
    returned = [entry for entry in recorder.ticks if entry[0] is TickStepReturned]
    ((_, commands, status),) = returned
    assert commands[-1] is CommandCompleteRun and status == "completed"
    assert recorder.attempts == ["only"]
    assert recorder.writes == []  # nothing journals in memory
    await asyncio.sleep(0)
    assert len(recorder.done) == 1 and recorder.done[0].result().result == 1


async def test_factories_may_decline_and_several_listeners_all_see_the_run(
    recorders: list[Recorder],
) -> None:
    declined: list[str] = []

    def decline(driver: Any, workflow: Any) -> None:
        declined.append(driver.run_id)

    second: list[Recorder] = []
    remove_decline = add_run_listener(decline)
    remove_second = add_run_listener(lambda d, w: second.append(Recorder(d, w)) or second[-1])
    try:
        handler = Quick(timeout=5).run()
        await handler
    finally:
        remove_decline()
        remove_second()
        remove_second()  # removing twice is harmless
    assert declined == [handler.run_id]
    assert recorders[0].ticks == second[0].ticks
    assert recorders[0].attempts == second[0].attempts == ["only"]


async def test_a_durable_run_reports_its_journal_writes(
    recorders: list[Recorder], tmp_path: Path
) -> None:
    runtime = DurableRuntime(tmp_path / "runs.db")
    workflow = Quick(runtime=runtime, timeout=5)
    await runtime.launch()
    try:
        assert await workflow.run() == 1
    finally:
        await runtime.destroy()
    (recorder,) = recorders
    assert recorder.workflow is workflow
    assert sum(recorder.writes) == len(recorder.ticks)


def test_import_reflow_loads_neither_opentelemetry_nor_the_peers_dispatcher() -> None:
    code = "import reflow, reflow.observability"
    assert modules_loaded_by(code, ("opentelemetry", "llama_index_instrumentation")) == []
