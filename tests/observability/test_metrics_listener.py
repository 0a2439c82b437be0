"""``metrics_listener_factory``: reflow's metrics into a meter provider of one's own, no spans."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from reflow import Workflow, step
from reflow.events import StartEvent, StopEvent
from reflow.observability import is_instrumented, metrics_listener_factory
from reflow.runtime.listeners import add_run_listener


class SeesItsSpan(Workflow):
    @step
    async def only(self, ev: StartEvent) -> StopEvent:
        # The step's current span: the application's (recording), never the listener's no-op
        # span, which would carry the same ids but record nothing.
        span = trace.get_current_span()
        return StopEvent(result=(span.get_span_context().span_id, span.is_recording()))


def _metric_names(reader: InMemoryMetricReader) -> dict[str, int]:
    data = reader.get_metrics_data()
    assert data is not None
    found: dict[str, int] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found[metric.name] = sum(
                    int(getattr(point, "value", getattr(point, "count", 0)))
                    for point in metric.data.data_points
                )
    return found


async def test_runs_are_measured_without_instrument_and_without_spans() -> None:
    assert not is_instrumented()
    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader])
    exporter = InMemorySpanExporter()
    tracers = TracerProvider()
    tracers.add_span_processor(SimpleSpanProcessor(exporter))
    remove = add_run_listener(metrics_listener_factory(meters))
    try:
        with tracers.get_tracer("app").start_as_current_span("request") as request:
            seen = await SeesItsSpan(timeout=5).run()
            await SeesItsSpan(timeout=5).run()
    finally:
        remove()
    assert seen == (request.get_span_context().span_id, True)
    names = _metric_names(reader)
    assert names["reflow.runs.started"] == 2
    assert names["reflow.runs.finished"] == 2
    assert names["reflow.step.duration"] == 2
    assert [span.name for span in exporter.get_finished_spans()] == ["request"]
    await SeesItsSpan(timeout=5).run()  # removed: no longer measured
    assert _metric_names(reader)["reflow.runs.started"] == 2
    meters.shutdown()
    tracers.shutdown()
