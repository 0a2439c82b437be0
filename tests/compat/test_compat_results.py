"""Run results: ``await handler``, stop event subclasses, start events, run ids, handler state."""

from __future__ import annotations

import logging
import re

import pytest
from compat_support import drain

from reflow import Workflow, step
from reflow.errors import WorkflowRuntimeError, WorkflowTimeoutError
from reflow.events import StartEvent, StopEvent
from reflow.handler import WorkflowHandler


class PlainStop(Workflow):
    @step
    async def start(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=ev.get("value"))


async def test_exact_stop_event_resolves_to_its_result() -> None:
    assert await PlainStop(timeout=2).run(value={"k": [1, 2]}) == {"k": [1, 2]}


async def test_stop_event_without_result_resolves_to_none() -> None:
    assert await PlainStop(timeout=2).run() is None


class Summary(StopEvent):
    summary: str


class SubclassStop(Workflow):
    @step
    async def start(self, ev: StartEvent) -> Summary:
        return Summary(summary="s", result="inner")


async def test_stop_event_subclass_resolves_to_the_event_itself() -> None:
    result = await SubclassStop(timeout=2).run()
    assert type(result) is Summary
    assert result.summary == "s"
    assert result.result == "inner"


def test_stop_event_dump_includes_result_only_when_set() -> None:
    assert Summary(summary="s").model_dump() == {"summary": "s"}
    assert Summary(summary="s", result=3).model_dump() == {"summary": "s", "result": 3}
    assert StopEvent().model_dump() == {}
    assert str(StopEvent(result=42)) == "42"


class Topic(StartEvent):
    topic: str
    n: int = 1


class Report(StopEvent):
    text: str


class CustomEvents(Workflow):
    @step
    async def start(self, ev: Topic) -> Report:
        return Report(text=f"{ev.topic}:{ev.n}")


async def test_custom_start_event_is_built_from_run_kwargs() -> None:
    result = await CustomEvents(timeout=2).run(topic="t", n=3)
    assert isinstance(result, Report)
    assert result.text == "t:3"


def test_start_and_stop_event_classes_are_inferred() -> None:
    workflow = CustomEvents(timeout=2)
    assert workflow.start_event_class is Topic
    assert workflow.stop_event_class is Report
    assert set(workflow.events) == {Topic, Report}


async def test_missing_start_event_field_raises_runtime_error_from_run() -> None:
    with pytest.raises(WorkflowRuntimeError) as info:
        CustomEvents(timeout=2).run(n=2)
    assert str(info.value) == (
        "Failed creating a start event of type 'Topic' with the keyword arguments: {'n': 2}"
    )


async def test_invalid_start_event_field_type_raises_runtime_error() -> None:
    with pytest.raises(
        WorkflowRuntimeError, match=r"^Failed creating a start event of type 'Topic'"
    ):
        CustomEvents(timeout=2).run(topic=3)


async def test_run_accepts_a_prebuilt_start_event() -> None:
    result = await CustomEvents(timeout=2).run(start_event=Topic(topic="pre"))
    assert result.text == "pre:1"


@pytest.mark.parametrize("bad", [StopEvent(), {"topic": "x"}, "x"])
async def test_start_event_argument_must_be_a_start_event(bad: object) -> None:
    with pytest.raises(ValueError) as info:
        CustomEvents(timeout=2).run(start_event=bad)  # type: ignore[arg-type]
    assert str(info.value) == "The 'start_event' argument must be an instance of 'StartEvent'."


async def test_kwargs_next_to_start_event_are_ignored_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        result = await CustomEvents(timeout=2).run(start_event=Topic(topic="a"), extra=1)
    assert result.text == "a:1"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("ignored" in m and "'extra': 1" in m for m in warnings)


async def test_a_base_start_event_is_not_routed_to_a_custom_start_step() -> None:
    handler = CustomEvents(timeout=0.1).run(start_event=StartEvent(topic="z"))
    with pytest.raises(WorkflowTimeoutError):
        await handler


async def test_default_run_id_is_a_ten_character_alphanumeric_string() -> None:
    workflow = PlainStop(timeout=2)
    handlers = [workflow.run() for _ in range(5)]
    for handler in handlers:
        assert re.fullmatch(r"[A-Za-z0-9]{10}", handler.run_id)
        await handler
    assert len({h.run_id for h in handlers}) == 5


async def test_run_id_keyword_sets_the_run_id_and_is_not_a_start_field() -> None:
    handler = PlainStop(timeout=2).run(run_id="my-run", value=1)
    assert handler.run_id == "my-run"
    assert await handler == 1


async def test_duplicate_run_id_in_flight_is_rejected() -> None:
    workflow = PlainStop(timeout=2)
    first = workflow.run(run_id="dup-1")
    with pytest.raises(RuntimeError) as info:
        workflow.run(run_id="dup-1")
    assert str(info.value) == "Workflow run with run_id 'dup-1' already exists."
    await first


async def test_handler_state_before_and_after_completion() -> None:
    handler = SubclassStop(timeout=2).run()
    assert isinstance(handler, WorkflowHandler)
    assert handler.is_done() is False
    assert handler.get_stop_event() is None
    result = await handler
    assert handler.is_done() is True
    assert handler.get_stop_event() is result
    assert await handler.stop_event_result() is result


async def test_stop_event_result_returns_the_raw_stop_event() -> None:
    handler = PlainStop(timeout=2).run(value=5)
    stop = await handler.stop_event_result()
    assert type(stop) is StopEvent
    assert stop.result == 5
    assert await handler == 5


async def test_handler_can_be_awaited_more_than_once() -> None:
    handler = PlainStop(timeout=2).run(value="v")
    assert await handler == "v"
    assert await handler == "v"


async def test_streamed_stop_event_equals_the_result() -> None:
    handler = SubclassStop(timeout=2).run()
    events = await drain(handler)
    result = await handler
    assert type(events[-1]) is type(result) is Summary
    assert events[-1] == result


async def test_handler_str_names_workflow_run_id_and_result() -> None:
    workflow = PlainStop(timeout=2)
    handler = workflow.run(run_id="abc", value=7)
    await handler
    assert (
        str(handler) == f"WorkflowHandler(workflow={workflow.workflow_name}, run_id=abc, result=7)"
    )


def test_default_workflow_name_is_module_and_qualname() -> None:
    assert PlainStop().workflow_name == f"{__name__}.PlainStop"
    assert PlainStop(workflow_name="custom").workflow_name == "custom"


async def test_run_requires_no_kwargs_for_plain_start_event() -> None:
    handler = PlainStop(timeout=2).run()
    assert handler.ctx is not None
    assert await handler is None


class WithTimeoutNone(Workflow):
    @step
    async def start(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result="no timeout")


async def test_timeout_none_disables_the_run_timeout() -> None:
    assert await WithTimeoutNone(timeout=None).run() == "no timeout"
