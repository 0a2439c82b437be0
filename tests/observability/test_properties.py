"""Rules that hold for every input: bounded summaries, complete span trees, balanced gauges."""

from __future__ import annotations

import asyncio
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reflow import Context, Workflow, step
from reflow.events import Event, StartEvent, StopEvent
from reflow.observability import render_span_tree
from reflow.observability._listener import OtelRunListener
from reflow.observability._summary import REPR_LIMIT, TEXT_LIMIT, summarize_event
from reflow.retry_policy import retry_policy, stop_after_attempt, wait_fixed

from .conftest import Telemetry


class Anything(Event):
    text: str
    numbers: list[int]
    mapping: dict[str, str]


@given(
    text=st.text(max_size=400),
    items=st.lists(st.integers(), max_size=50),
    mapping=st.dictionaries(st.text(max_size=30), st.text(max_size=30), max_size=20),
)
def test_a_summary_stays_bounded_whatever_the_event_holds(
    text: str, items: list[int], mapping: dict[str, str]
) -> None:
    summary = summarize_event(Anything(text=text, numbers=items, mapping=mapping))
    assert summary.startswith("Anything(text=")
    assert f"numbers=[{len(items)} items]" in summary
    assert len(summary) <= 40 + (TEXT_LIMIT + 3) * 6 + REPR_LIMIT + 3


class Part(Event):
    index: int


class Done(Event):
    index: int


class Flaky(Workflow):
    failures: dict[int, int] = {}

    @step
    async def split(self, ctx: Context, ev: StartEvent) -> Part | None:
        for index in self.failures:
            ctx.send_event(Part(index=index))
        return None

    @step(
        num_workers=2, retry_policy=retry_policy(wait=wait_fixed(0.001), stop=stop_after_attempt(4))
    )
    async def work(self, ctx: Context, ev: Part) -> Done:
        if ctx.retry_info().retry_number < self.failures[ev.index]:
            raise ConnectionError("again")
        return Done(index=ev.index)

    @step
    async def finish(self, ctx: Context, ev: Done) -> StopEvent | None:
        if ctx.collect_events(ev, [Done] * len(self.failures)) is None:
            return None
        return StopEvent(result="all done")


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(failures=st.lists(st.integers(min_value=0, max_value=2), min_size=1, max_size=4))
def test_every_attempt_and_retry_is_one_closed_span(
    telemetry: Telemetry, failures: list[int]
) -> None:
    telemetry.exporter.clear()

    class Run(Flaky):
        pass

    Run.failures = dict(enumerate(failures))

    async def go() -> object:
        return await Run(timeout=5).run()

    assert asyncio.run(go()) == "all done"
    work = telemetry.named("step work")
    assert len(work) == len(failures) + sum(failures)
    assert len(telemetry.named("retry_delay work")) == sum(failures)
    assert all(span.end_time is not None for span in telemetry.spans())
    tree = render_span_tree(telemetry.spans()).splitlines()
    assert len(tree) == len(telemetry.spans())
    assert all(value == 0 for _, value in telemetry.points("reflow.steps.active"))


async def test_a_listener_bug_is_logged_and_the_run_goes_on(
    telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("listener bug")

    monkeypatch.setattr(OtelRunListener, "_on_tick", broken)
    monkeypatch.setattr(OtelRunListener, "_on_attempt", broken)

    class Fine(Workflow):
        @step
        async def only(self, ev: StartEvent) -> StopEvent:
            return StopEvent(result="fine")

    with caplog.at_level(logging.ERROR, logger="reflow.observability"):
        assert await Fine(timeout=5).run() == "fine"
    assert "OtelRunListener failed on TickStartRun" in caplog.text
    assert "OtelRunListener failed on an attempt of only" in caplog.text
