"""Metric values after a known set of runs, and log records that name their run and span."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from reflow import Context, Workflow, step
from reflow.events import StartEvent, StopEvent
from reflow.observability import (
    JsonFormatter,
    RunContextFilter,
    disable_log_context,
    enable_log_context,
)

from .conftest import Telemetry
from .flows import Everything, Fails, Quick, run_everything


def _by(points: list[tuple[dict[str, object], object]], key: str) -> dict[object, object]:
    return {attributes.get(key): value for attributes, value in points}


async def test_metric_values_after_known_runs(telemetry: Telemetry) -> None:
    quick = Quick(timeout=5)
    await quick.run()
    await quick.run()
    with pytest.raises(ValueError):
        await Fails(timeout=5).run()
    await run_everything()

    started = telemetry.points("reflow.runs.started")
    assert sum(value for _, value in started) == 4  # type: ignore[misc]
    finished = telemetry.points("reflow.runs.finished")
    outcomes: dict[tuple[object, object], object] = {
        (a["reflow.workflow.name"], a["reflow.run.outcome"]): v for a, v in finished
    }
    assert outcomes == {
        (quick.workflow_name, "completed"): 2,
        (Fails(timeout=5).workflow_name, "failed"): 1,
        (Everything(timeout=5).workflow_name, "completed"): 1,
    }
    durations = {
        (a["reflow.step.name"], a["reflow.step.outcome"]): v
        for a, v in telemetry.points("reflow.step.duration")
    }
    assert durations[("only", "returned")][0] == 2  # type: ignore[index]
    assert durations[("boom", "failed")][0] == 1  # type: ignore[index]
    assert durations[("work", "returned")][0] == 3  # type: ignore[index]
    assert durations[("work", "failed")][0] == 1  # type: ignore[index]
    assert durations[("slow", "timed_out")][0] == 1  # type: ignore[index]
    _slow_count, slow_sum = durations[("slow", "timed_out")]  # type: ignore[misc]
    assert slow_sum >= 0.05
    # Every attempt gave its slot back and nobody is waiting any more.
    assert all(value == 0 for _, value in telemetry.points("reflow.steps.active"))
    assert all(value == 0 for _, value in telemetry.points("reflow.runs.waiting"))
    waits = _by(telemetry.points("reflow.step.queue_wait"), "reflow.step.name")
    assert waits["only"][0] == 2  # type: ignore[index]
    assert waits["work"][0] == 3  # type: ignore[index]  # the retry is not queue wait
    assert waits["join"][0] == 3  # type: ignore[index]
    assert waits["only"][1] >= 0  # type: ignore[index]


async def test_a_waiting_run_is_counted_while_it_waits(telemetry: Telemetry) -> None:
    from reflow.events import HumanResponseEvent, InputRequiredEvent

    class Asks(Workflow):
        @step
        async def ask(self, ev: StartEvent, ctx: Context) -> StopEvent:
            reply = await ctx.wait_for_event(
                HumanResponseEvent, waiter_event=InputRequiredEvent(prefix="?")
            )
            return StopEvent(result=reply.response)

    handler = Asks(timeout=5).run()
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent):
            assert [v for _, v in telemetry.points("reflow.runs.waiting")] == [1]
            assert [v for _, v in telemetry.points("reflow.steps.active")] == [0]
            await handler.send_event(HumanResponseEvent(response="x"))
    assert await handler == "x"
    assert [v for _, v in telemetry.points("reflow.runs.waiting")] == [0]


class Logs(Workflow):
    @step
    async def talk(self, ev: StartEvent) -> StopEvent:
        logging.getLogger("reflow.test.talk").warning("hello from %s", "talk")
        return StopEvent(result=1)


@contextmanager
def json_records() -> Iterator[list[dict[str, Any]]]:
    """The records logged under ``reflow.test`` meanwhile, as ``JsonFormatter`` writes them
    with ``RunContextFilter``; the list is filled when the block ends."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RunContextFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("reflow.test")
    logger.addHandler(handler)
    records: list[dict[str, Any]] = []
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        records.extend(json.loads(line) for line in stream.getvalue().splitlines())


async def test_log_records_carry_run_step_attempt_and_trace(telemetry: Telemetry) -> None:
    with json_records() as records:
        run = Logs(timeout=5).run()
        await run
        logging.getLogger("reflow.test").warning("outside")
    inside, outside = records
    (talk,) = telemetry.named("step talk")
    assert inside["message"] == "hello from talk"
    assert inside["run_id"] == run.run_id
    assert inside["step"] == "talk"
    assert inside["attempt"] == 1
    assert inside["trace_id"] == f"{talk.context.trace_id:032x}"
    assert inside["span_id"] == f"{talk.context.span_id:016x}"
    assert inside["level"] == "WARNING"
    assert set(outside) == {"time", "level", "logger", "message"}


async def test_enable_log_context_annotates_every_record(telemetry: Telemetry) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(reflow_run_id)s %(reflow_step)s %(message)s"))
    logger = logging.getLogger("reflow.test")
    logger.addHandler(handler)
    enable_log_context()
    enable_log_context()  # idempotent
    try:
        run = Logs(timeout=5).run()
        await run
    finally:
        disable_log_context()
        logger.removeHandler(handler)
    assert stream.getvalue().strip() == f"{run.run_id} talk hello from talk"
    assert not hasattr(logging.LogRecord("x", 0, "", 0, "", (), None), "reflow_run_id")


class SyncLogs(Workflow):
    @step
    def talk(self, ev: StartEvent) -> StopEvent:  # runs in a worker thread
        logging.getLogger("reflow.test.sync").warning("from a thread")
        return StopEvent(result=1)


async def test_a_sync_step_in_a_thread_logs_with_its_run_and_span(telemetry: Telemetry) -> None:
    with json_records() as records:
        run = SyncLogs(timeout=5).run()
        await run
    (record,) = records
    (talk,) = telemetry.named("step talk")
    assert (record["run_id"], record["step"]) == (run.run_id, "talk")
    assert record["span_id"] == f"{talk.context.span_id:016x}"
