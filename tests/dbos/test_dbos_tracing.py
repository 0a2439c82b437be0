"""DBOSRuntime runs in OpenTelemetry: the trace context kept in the PostgreSQL journal, steps
executed by another process as children of their attempt's span, and the queue depth gauge.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import durable_flows as flows
import pytest
from conftest import MakeRuntime, ask_and_release, rows
from dbos_trace_worker import Broken, Number, Traced
from durable_support import read_line, worker_env
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from reflow.events import HumanResponseEvent
from reflow.observability import instrument, uninstrument

HERE = Path(__file__).resolve().parent


class Telemetry:
    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def named(self, prefix: str) -> list[ReadableSpan]:
        return [s for s in self.exporter.get_finished_spans() if s.name.startswith(prefix)]

    def gauge(self, name: str) -> dict[str, object]:
        """Queue -> value of the gauge ``name`` at one collection."""
        found: dict[str, object] = {}
        data = self.reader.get_metrics_data()
        for resource in data.resource_metrics if data is not None else []:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        for point in metric.data.data_points:
                            attributes = dict(point.attributes or {})
                            found[str(attributes["reflow.dbos.queue"])] = point.value  # type: ignore[union-attr]
        return found


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    made = Telemetry()
    instrument(
        tracer_provider=made.tracer_provider, meter_provider=made.meter_provider, llama_index=False
    )
    try:
        yield made
    finally:
        uninstrument()
        made.tracer_provider.shutdown()
        made.meter_provider.shutdown()


async def test_a_run_resumed_from_the_postgres_journal_stays_in_its_trace(
    make_runtime: MakeRuntime, telemetry: Telemetry, dsn: str, schema: str
) -> None:
    info = await ask_and_release(make_runtime, "hitl")
    assert info.owner is None  # the next delivery resumes it from the journal
    answering = make_runtime()
    flows.Approval(runtime=answering, timeout=None)
    await answering.launch()
    await answering.send_event("hitl", HumanResponseEvent(response="yes"))
    assert await answering.get_handler("hitl") == "name? yes"

    first, resumed = sorted(telemetry.named("run "), key=lambda s: s.start_time or 0)
    assert first.attributes is not None and first.attributes["reflow.run.resumed"] is False
    assert resumed.attributes is not None and resumed.attributes["reflow.run.resumed"] is True
    assert resumed.parent is not None and resumed.parent.span_id == first.context.span_id
    assert resumed.context.trace_id == first.context.trace_id
    [(stored,)] = rows(dsn, schema, "SELECT traceparent FROM reflow_trace_context")
    context = first.context
    assert stored == f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


async def test_a_step_run_by_another_process_is_a_child_of_its_attempt(
    make_runtime: MakeRuntime, telemetry: Telemetry, db: str
) -> None:
    driving = make_runtime(distribute_steps=True)
    await driving.launch()
    # Registered after launch: this process does not serve the queue, the worker does.
    workflow = Traced(runtime=driving, timeout=None)
    handler = workflow.run(run_id="t1", start_event=Number(n=21))
    queue = f"reflow:{workflow.workflow_name}:double"
    depth: dict[str, object] = {}
    for _ in range(300):  # the execution waits in its queue while no process serves it
        depth = telemetry.gauge("reflow.dbos.queue.depth")
        if depth.get(queue) == 1:
            break
        await asyncio.sleep(0.02)
    assert depth.get(queue) == 1
    # The server's /metrics exposes the same gauge (Prometheus names it with underscores).
    from prometheus_client import generate_latest

    from reflow.server._prometheus import PrometheusMetrics

    exposed = generate_latest(PrometheusMetrics().registry).decode()
    [line] = [line for line in exposed.splitlines() if line.startswith("reflow_dbos_queue_depth{")]
    assert f'reflow_dbos_queue="{queue}"' in line and line.endswith("} 1.0")

    worker = subprocess.Popen(
        [sys.executable, str(HERE / "dbos_trace_worker.py"), db],
        env=worker_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        read_line(worker, "ready")
        result = await asyncio.wait_for(handler, 30)
        out, err = await asyncio.to_thread(worker.communicate, timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, err
    assert result == {"value": 42, "pid": worker.pid}

    [attempt] = telemetry.named("step double")
    [run] = telemetry.named("run ")
    [remote] = json.loads(out.splitlines()[-1])
    assert remote["name"] == "step_execution double"
    assert remote["trace_id"] == run.context.trace_id == attempt.context.trace_id
    assert remote["parent_id"] == attempt.context.span_id
    attributes = remote["attributes"]
    assert attributes["reflow.run.id"] == "t1"
    assert attributes["reflow.workflow.name"] == workflow.workflow_name
    assert attributes["reflow.step.name"] == "double"
    assert attributes["reflow.step.outcome"] == "returned"
    assert attributes["reflow.dbos.queue"] == queue
    assert attributes["process.pid"] == worker.pid
    cluster = driving._cluster
    assert cluster is not None
    assert attributes["reflow.dbos.executor_id"] not in ("", cluster.executor_id)
    assert telemetry.gauge("reflow.dbos.queue.depth").get(queue) == 0


async def test_a_queued_step_that_raises_records_the_error_on_its_execution_span(
    make_runtime: MakeRuntime, telemetry: Telemetry
) -> None:
    runtime = make_runtime(distribute_steps=True)
    workflow = Broken(runtime=runtime, timeout=None)  # registered first: served here
    await runtime.launch()
    with pytest.raises(Exception, match="cannot take 7"):
        await workflow.run(run_id="b1", start_event=Number(n=7))
    [attempt] = telemetry.named("step explode")
    [execution] = telemetry.named("step_execution explode")
    assert execution.parent is not None and execution.parent.span_id == attempt.context.span_id
    assert execution.status.status_code is StatusCode.ERROR
    assert execution.attributes is not None
    assert execution.attributes["reflow.step.outcome"] == "failed"
    assert execution.attributes["error.type"] == "ValueError"
    assert [event.name for event in execution.events] == ["exception"]
