"""The peer's instrumentation, as handlers on the root dispatcher see it."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from llama_index_instrumentation import get_dispatcher
from llama_index_instrumentation.base import BaseEvent
from llama_index_instrumentation.dispatcher import active_instrument_tags, instrument_tags
from llama_index_instrumentation.event_handlers import BaseEventHandler
from llama_index_instrumentation.span import SimpleSpan, active_span_id
from llama_index_instrumentation.span_handlers import BaseSpanHandler

from reflow import Workflow, step
from reflow.errors import WorkflowCancelledByUser, WorkflowTimeoutError
from reflow.events import StartEvent, StopEvent
from reflow.observability import instrument, uninstrument

from .flows import Everything, Fails, Sleeps, run_everything

Record = tuple[str, str, Any]


class Spans(BaseSpanHandler[SimpleSpan]):
    records: list[Record] = []

    def new_span(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        parent_span_id: str | None = None,
        tags: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> SimpleSpan:
        self.records.append(("enter", id_, (parent_span_id, dict(tags or {}), instance)))
        return SimpleSpan(id_=id_, parent_id=parent_span_id, tags=tags or {})

    def prepare_to_exit_span(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        result: Any | None = None,
        **kwargs: Any,
    ) -> SimpleSpan | None:
        self.records.append(("exit", id_, result))
        return self.open_spans.get(id_)

    def prepare_to_drop_span(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        err: BaseException | None = None,
        **kwargs: Any,
    ) -> SimpleSpan | None:
        self.records.append(("drop", id_, err))
        return self.open_spans.get(id_)


class Events(BaseEventHandler):
    seen: list[BaseEvent] = []

    @classmethod
    def class_name(cls) -> str:
        return "TestEvents"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.seen.append(event)


@contextmanager
def handlers() -> Iterator[tuple[Spans, Events]]:
    root = get_dispatcher()
    spans, events = Spans(), Events()
    spans.records, events.seen = [], []
    root.add_span_handler(spans)
    root.add_event_handler(events)
    try:
        yield spans, events
    finally:
        root.span_handlers.remove(spans)
        root.event_handlers.remove(events)


@pytest.fixture(params=["instrument", "automatic"])
def peer(request: pytest.FixtureRequest) -> Iterator[tuple[Spans, Events]]:
    """Handlers on the root dispatcher, with ``instrument()`` or with nothing at all."""
    with handlers() as seen:
        if request.param == "instrument":
            instrument(llama_index=True)
        try:
            yield seen
        finally:
            uninstrument()


async def test_nothing_is_dispatched_while_nobody_listens() -> None:
    handler = Sleeps(timeout=5).run()
    assert handler._adapter.driver._listener is None  # type: ignore[attr-defined]
    await handler.cancel_run()
    with pytest.raises(WorkflowCancelledByUser):
        await handler


async def test_tags_around_run_reach_the_steps_even_with_no_handler() -> None:
    seen: list[dict[str, Any]] = []

    class Tagged(Workflow):
        @step
        async def only(self, ev: StartEvent) -> StopEvent:
            seen.append(dict(active_instrument_tags.get()))
            return StopEvent(result="done")

    with instrument_tags({"tenant": "t1"}):
        handler = Tagged(timeout=5).run()
    await handler
    (tags,) = seen
    assert tags["tenant"] == "t1"
    assert tags["llamaindex.run_id"] == handler.run_id


async def test_instrument_without_the_peer_leaves_handlers_alone() -> None:
    with handlers() as (spans, events):
        instrument(llama_index=False)
        try:
            await Fails(timeout=5).run()
        except ValueError:
            pass
        finally:
            uninstrument()
    assert spans.records == [] and events.seen == []


def _kinds(events: Events) -> list[str]:
    return [event.class_name() for event in events.seen]


async def test_run_and_step_spans_with_tags_and_output_events(peer: tuple[Spans, Events]) -> None:
    spans, events = peer
    seen_inside: list[tuple[dict[str, Any], str | None]] = []

    class Tagged(Workflow):
        @step
        async def only(self, ev: StartEvent) -> StopEvent:
            seen_inside.append((dict(active_instrument_tags.get()), active_span_id.get()))
            return StopEvent(result="done")

    workflow = Tagged(timeout=5)
    with instrument_tags({"user": "u1"}):
        handler = workflow.run(topic="x")
    assert await handler == "done"
    (run_enter, step_enter, step_exit, run_exit) = spans.records
    assert run_enter[0] == "enter" and run_enter[1].startswith("Tagged.run-")
    assert run_enter[2][0] is None and run_enter[2][2] is workflow
    assert step_enter[0] == "enter"
    assert step_enter[1].startswith(f"{Tagged.only.__qualname__}-")
    parent, tags, instance = step_enter[2]
    assert parent == run_enter[1] and instance is None
    assert tags == {
        "user": "u1",
        "llamaindex.run_id": handler.run_id,
        "llamaindex.step.input_event": "StartEvent",
        "llamaindex.step.input_summary": "StartEvent(topic='x')",
    }
    assert step_exit[:2] == ("exit", step_enter[1])
    assert run_exit[:2] == ("exit", run_enter[1])
    assert seen_inside == [(tags, step_enter[1])]
    assert _kinds(events) == ["step.output", "workflow.output"]
    step_output, run_output = events.seen
    assert step_output.span_id == step_enter[1]
    assert step_output.output == "StopEvent(result='done')"  # type: ignore[attr-defined]
    assert run_output.span_id == run_enter[1]
    assert run_output.tags == {"user": "u1", "llamaindex.run_id": handler.run_id}


async def test_failures_drop_spans_and_cancelled_steps_exit(peer: tuple[Spans, Events]) -> None:
    spans, events = peer
    with pytest.raises(ValueError):
        await Fails(timeout=5).run()
    assert [record[0] for record in spans.records] == ["enter", "enter", "drop", "drop"]
    assert _kinds(events) == ["SpanDropEvent", "SpanDropEvent"]
    assert [event.err_str for event in events.seen] == ["no good", "no good"]  # type: ignore[attr-defined]

    spans.records.clear()
    events.seen.clear()
    with pytest.raises(WorkflowTimeoutError):
        await Sleeps(timeout=0.05).run()
    assert [record[0] for record in spans.records] == ["enter", "enter", "exit", "drop"]
    assert _kinds(events) == ["SpanCancelledEvent", "SpanDropEvent"]
    assert events.seen[0].reason == "step cancelled"  # type: ignore[attr-defined]


async def test_a_waiting_step_exits_its_span_and_retries_drop(peer: tuple[Spans, Events]) -> None:
    spans, _events = peer
    await run_everything(Everything(timeout=10))
    drops = [record for record in spans.records if record[0] == "drop"]
    assert [type(record[2]).__name__ for record in drops] == ["ConnectionError"]
    ask = [r for r in spans.records if r[0] == "enter" and ".ask-" in r[1]]
    assert len(ask) == 2  # entered, exited while it waits, entered again when answered
    exits = {record[1]: record[2] for record in spans.records if record[0] == "exit"}
    assert exits[ask[0][1]] is None
    assert ask[1][1] in exits
    entered = {record[1] for record in spans.records if record[0] == "enter"}
    left = {record[1] for record in spans.records if record[0] in ("exit", "drop")}
    assert entered == left  # every span is closed
