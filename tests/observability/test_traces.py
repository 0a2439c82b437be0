"""Spans of runs, read back from the OpenTelemetry SDK's in-memory exporter."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

from reflow.errors import WorkflowCancelledByUser, WorkflowTimeoutError
from reflow.observability import current_traceparent, render_span_tree

from .conftest import Telemetry
from .flows import Everything, Fails, Quick, Sleeps, run_everything


def _parent(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def _attrs(span: ReadableSpan) -> dict[str, object]:
    return dict(span.attributes or {})


async def test_span_tree_of_fan_out_retry_wait_catch_error_and_timeout(
    telemetry: Telemetry,
) -> None:
    assert await run_everything() == "rescued slow"
    spans = telemetry.spans()
    assert len({span.context.trace_id for span in spans}) == 1
    (run,) = telemetry.named("run ")
    assert run.parent is None
    assert _attrs(run)["reflow.run.outcome"] == "completed"
    assert _attrs(run)["reflow.workflow.name"].endswith("Everything")  # type: ignore[union-attr]
    assert _attrs(run)["reflow.run.resumed"] is False
    assert run.status.status_code is StatusCode.UNSET
    steps = telemetry.named("step ")
    assert all(_parent(span) == run.context.span_id for span in steps)

    work = [span for span in steps if span.name == "step work"]
    assert len(work) == 4  # three parts, one of them twice
    (failed,) = [span for span in work if _attrs(span)["reflow.step.outcome"] == "failed"]
    assert failed.status.status_code is StatusCode.ERROR
    assert _attrs(failed)["error.type"] == "ConnectionError"
    assert _attrs(failed)["reflow.retry.delay"] == pytest.approx(0.01, abs=0.005)
    assert [event.name for event in failed.events] == ["exception"]
    (retried,) = [span for span in work if _attrs(span)["reflow.step.attempt"] == 2]
    assert _attrs(retried)["reflow.step.outcome"] == "returned"
    assert retried.start_time >= failed.end_time  # type: ignore[operator]
    (delay,) = telemetry.named("retry_delay ")
    assert _parent(delay) == run.context.span_id
    assert delay.start_time == failed.end_time
    assert delay.end_time <= retried.start_time  # type: ignore[operator]

    (ask,) = [span for span in steps if span.name == "step ask"]
    (wait,) = telemetry.named("wait ")
    assert _parent(wait) == ask.context.span_id
    assert _attrs(wait)["reflow.wait.outcome"] == "received"
    assert _attrs(wait)["reflow.wait.event_type"] == "HumanResponseEvent"
    assert wait.status.status_code is StatusCode.UNSET  # waiting is not an error
    assert ask.status.status_code is StatusCode.UNSET

    (slow,) = [span for span in steps if span.name == "step slow"]
    assert _attrs(slow)["reflow.step.outcome"] == "timed_out"
    assert _attrs(slow)["error.type"] == "StepTimeoutError"
    assert slow.status.status_code is StatusCode.ERROR
    (rescue,) = [span for span in steps if span.name == "step rescue"]
    assert _attrs(rescue)["reflow.step.input_event"] == "StepFailedEvent"
    assert _attrs(rescue)["reflow.step.outcome"] == "returned"
    assert run.end_time >= rescue.end_time  # type: ignore[operator]

    tree = render_span_tree(spans)
    assert tree.splitlines()[0].startswith("run Everything")
    assert "│   └── wait HumanResponseEvent" in tree
    assert "timed_out  attempt 1  ERROR StepTimeoutError" in tree


async def test_a_failed_run_records_the_exception(telemetry: Telemetry) -> None:
    with pytest.raises(ValueError, match="no good"):
        await Fails(timeout=5).run()
    (run,) = telemetry.named("run ")
    (boom,) = telemetry.named("step ")
    for span in (run, boom):
        assert span.status.status_code is StatusCode.ERROR
        assert _attrs(span)["error.type"] == "ValueError"
        (event,) = span.events
        assert event.name == "exception"
        assert dict(event.attributes or {})["exception.message"] == "no good"
    assert _attrs(run)["reflow.run.outcome"] == "failed"


async def test_a_run_timeout_and_a_cancel(telemetry: Telemetry) -> None:
    with pytest.raises(WorkflowTimeoutError):
        await Sleeps(timeout=0.05).run()
    handler = Sleeps(timeout=5).run()
    await asyncio.sleep(0.01)
    await handler.cancel_run()
    with pytest.raises(WorkflowCancelledByUser):
        await handler
    timed_out, cancelled = sorted(telemetry.named("run "), key=lambda span: span.start_time or 0)
    assert _attrs(timed_out)["reflow.run.outcome"] == "timed_out"
    assert timed_out.status.status_code is StatusCode.ERROR
    assert _attrs(cancelled)["reflow.run.outcome"] == "cancelled"
    assert cancelled.status.status_code is StatusCode.UNSET  # the user's choice, not an error
    naps = telemetry.named("step nap")
    assert [_attrs(span)["reflow.step.outcome"] for span in naps] == ["cancelled", "cancelled"]


async def test_runs_nest_under_the_callers_span_and_steps_are_current_inside(
    telemetry: Telemetry,
) -> None:
    seen: list[str | None] = []

    tracer = telemetry.tracer_provider.get_tracer("test")
    from reflow import Workflow, step
    from reflow.events import StartEvent, StopEvent

    class Inside(Workflow):
        @step
        async def only(self, ev: StartEvent) -> StopEvent:
            seen.append(current_traceparent())
            with tracer.start_as_current_span("user work"):
                pass
            return StopEvent(result=1)

    with tracer.start_as_current_span("request") as request:
        await Inside(timeout=5).run()
    by_name = {span.name: span for span in telemetry.spans()}
    run, only, user = by_name["run Inside"], by_name["step only"], by_name["user work"]
    assert _parent(run) == request.get_span_context().span_id
    assert _parent(user) == only.context.span_id
    (traceparent,) = seen
    assert traceparent is not None
    assert traceparent.startswith(f"00-{only.context.trace_id:032x}-{only.context.span_id:016x}-")
    assert trace.get_current_span().get_span_context().is_valid is False  # nothing leaked


async def test_without_instrument_no_listener_is_made() -> None:
    handler = Quick(timeout=5).run()
    assert handler._adapter.driver._listener is None  # type: ignore[attr-defined]
    assert await handler == 1


async def test_instrument_without_an_sdk_observes_nothing() -> None:
    from reflow.observability import instrument, uninstrument

    instrument(llama_index=False)
    try:
        handler = Everything(timeout=5).run()
        assert handler._adapter.driver._listener is None  # type: ignore[attr-defined]
        await handler.cancel_run()
        with pytest.raises(WorkflowCancelledByUser):
            await handler
    finally:
        uninstrument()


async def test_instrument_follows_a_global_provider_installed_later(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from reflow.observability import instrument, uninstrument

    instrument(llama_index=False)
    try:
        await Quick(timeout=5).run()  # no SDK yet: not observed
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        # What trace.set_tracer_provider() does, undone after the test.
        monkeypatch.setattr(trace, "_TRACER_PROVIDER", provider)
        await Quick(timeout=5).run()
    finally:
        uninstrument()
    assert sorted(span.name for span in exporter.get_finished_spans()) == ["run Quick", "step only"]
