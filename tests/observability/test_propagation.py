"""The helpers the server, the CLI and shell runners use to carry a run's trace context."""

from __future__ import annotations

from pathlib import Path

from opentelemetry import trace

from reflow import Workflow, step
from reflow.durable import DurableRuntime
from reflow.events import StartEvent, StopEvent
from reflow.observability import (
    attached,
    capture_spans,
    context_from_traceparent,
    current_traceparent,
    extract,
    inject,
    is_instrumented,
    run_traceparent,
)

from .conftest import Telemetry
from .flows import Everything, Quick, run_everything


async def test_a_requests_traceparent_is_the_parent_of_the_run_it_starts(
    telemetry: Telemetry,
) -> None:
    incoming = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    with attached(extract(incoming)):
        handler = Quick(timeout=5).run()
    await handler
    (run,) = telemetry.named("run ")
    assert run.context.trace_id == 0x0AF7651916CD43DD8448EB211C80319C
    assert run.parent is not None and run.parent.span_id == 0xB7AD6B7169203331
    outgoing = run_traceparent(handler.run_id)
    assert outgoing == f"00-{run.context.trace_id:032x}-{run.context.span_id:016x}-01"
    assert run_traceparent("no-such-run") is None


async def test_inject_and_traceparent_round_trip(telemetry: Telemetry) -> None:
    assert current_traceparent() is None
    assert context_from_traceparent("garbage") is None
    assert context_from_traceparent(None) is None
    tracer = telemetry.tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("outer") as outer:
        headers: dict[str, str] = {}
        inject(headers)
        value = current_traceparent()
    assert headers["traceparent"] == value
    context = context_from_traceparent(value)
    assert context is not None
    assert trace.get_current_span(context).get_span_context().span_id == (
        outer.get_span_context().span_id
    )


async def test_capture_spans_records_and_renders_runs_beside_instrument() -> None:
    assert not is_instrumented()
    with capture_spans() as capture:
        await run_everything(Everything(timeout=10))
    after = Quick(timeout=5).run()
    await after
    tree = capture.render()
    assert tree.startswith("run Everything")
    assert len(tree.splitlines()) == len(capture.spans())
    assert all("Quick" not in span.name for span in capture.spans())  # closed: not recorded


async def test_a_durable_run_reports_journal_write_latency(
    telemetry: Telemetry, tmp_path: Path
) -> None:
    class Durable(Workflow):
        @step
        async def only(self, ev: StartEvent) -> StopEvent:
            return StopEvent(result="kept")

    runtime = DurableRuntime(tmp_path / "runs.db")
    workflow = Durable(runtime=runtime, timeout=5)
    await runtime.launch()
    try:
        assert await workflow.run() == "kept"
    finally:
        await runtime.destroy()
    ((attributes, (count, total)),) = telemetry.points("reflow.journal.write.duration")
    assert attributes == {"reflow.workflow.name": workflow.workflow_name}
    assert count >= 1 and total > 0  # type: ignore[operator]
    (run,) = telemetry.named("run ")
    assert dict(run.attributes or {})["reflow.run.outcome"] == "completed"
