"""OpenTelemetry SDK providers with in-memory exporters, wired to reflow for one test."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from reflow.observability import instrument, uninstrument


@dataclass
class Telemetry:
    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader
    tracer_provider: TracerProvider

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, prefix: str) -> list[ReadableSpan]:
        return [span for span in self.spans() if span.name.startswith(prefix)]

    def points(self, name: str) -> list[tuple[dict[str, object], object]]:
        """(attributes, value) of every point of metric ``name``; value is the sum or count."""
        found: list[tuple[dict[str, object], object]] = []
        data = self.reader.get_metrics_data()
        if data is None:
            return found
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name != name:
                        continue
                    for point in metric.data.data_points:
                        value = getattr(point, "value", None)
                        if value is None:
                            value = (point.count, point.sum)  # type: ignore[attr-defined]
                        found.append((dict(point.attributes or {}), value))
        return found


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, llama_index=False)
    try:
        yield Telemetry(exporter, reader, tracer_provider)
    finally:
        uninstrument()
        tracer_provider.shutdown()
        meter_provider.shutdown()


def modules_loaded_by(code: str, roots: tuple[str, ...] = ("opentelemetry",)) -> list[str]:
    """The modules under ``roots`` a fresh interpreter has loaded after running ``code``."""
    listing = f"sorted(m for m in sys.modules if m.split('.')[0] in {roots!r})"
    probe = f"{code}\nimport sys\nprint({listing})"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return list(ast.literal_eval(out))
