"""``capture_spans()``: record the spans of runs in memory, for ``reflow run --trace`` and tests.

It needs the OpenTelemetry SDK (``opentelemetry-sdk``) and adds its own listener next to any
``instrument()`` configuration, so a global setup keeps exporting while a capture is open.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from reflow.observability._factory import otel_factory
from reflow.observability._render import render_span_tree
from reflow.runtime.listeners import add_run_listener


class SpanCapture:
    """The spans finished while the capture was open."""

    def __init__(self, exporter: Any) -> None:
        self._exporter = exporter

    def spans(self) -> list[Any]:
        return list(self._exporter.get_finished_spans())

    def render(self) -> str:
        """The captured spans as a text tree (see ``render_span_tree``)."""
        return render_span_tree(self.spans())


@contextmanager
def capture_spans() -> Iterator[SpanCapture]:
    """Record the spans of every run started inside the block."""
    try:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
            InMemorySpanExporter,
        )
    except ImportError as exc:
        raise ImportError(
            "capture_spans() needs the OpenTelemetry SDK: pip install opentelemetry-sdk"
        ) from exc
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    remove = add_run_listener(otel_factory(provider, None))
    try:
        yield SpanCapture(exporter)
    finally:
        remove()
        provider.shutdown()
