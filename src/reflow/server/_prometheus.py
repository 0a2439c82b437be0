"""``GET /metrics``: reflow's OpenTelemetry metrics in the Prometheus text format.

Off by default (``WorkflowServer(metrics=True)``, ``reflow serve --metrics``); behind the
bearer token when the server has one.  The server measures the runs of its process with its
own ``MeterProvider``, read by OpenTelemetry's Prometheus exporter into a registry of its own,
so an application's ``instrument()`` setup (and its exporters) is neither needed nor changed.
Needs the ``prometheus`` extra.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from reflow.runtime.listeners import RunListener, add_run_listener


class _MetricsOnly(RunListener):
    """Feeds the instruments, but keeps its (non-recording) spans out of the steps' context.

    The observability listener makes each step attempt's span current; this one's spans are
    no-ops, so its attempt runs in a throwaway copy of the context, leaving the current span to
    a tracing setup the application may have.
    """

    def __init__(self, inner: RunListener) -> None:
        self._inner = inner

    def on_tick(self, state: Any, tick: Any, commands: Sequence[Any]) -> None:
        self._inner.on_tick(state, tick, commands)

    def on_attempt(self, call: Any) -> None:
        contextvars.copy_context().run(self._inner.on_attempt, call)

    def on_journal_write(self, ticks: int, seconds: float) -> None:
        self._inner.on_journal_write(ticks, seconds)

    def on_done(self, result: Any) -> None:
        self._inner.on_done(result)


class PrometheusMetrics:
    """The server's meter provider, its Prometheus reader, and the ``/metrics`` endpoint."""

    def __init__(self) -> None:
        try:
            from opentelemetry import trace
            from opentelemetry.exporter.prometheus import PrometheusMetricReader
            from opentelemetry.sdk.metrics import MeterProvider
            from prometheus_client import CollectorRegistry
        except ImportError as exc:
            raise ImportError(
                f"metrics=True needs the prometheus extra (pip install 'reflow[prometheus]'): {exc}"
            ) from exc
        from reflow.observability._instrument import otel_factory

        self.registry = CollectorRegistry(auto_describe=True)
        self._reader = PrometheusMetricReader(registry=self.registry)
        self._provider = MeterProvider(metric_readers=[self._reader])
        from reflow.observability._dbos_metrics import make_queue_depth_gauge

        make_queue_depth_gauge(self._provider)  # reports only while a DBOSRuntime runs here
        make = otel_factory(trace.NoOpTracerProvider(), self._provider)

        def factory(driver: Any, workflow: Any) -> RunListener | None:
            inner = make(driver, workflow)
            return None if inner is None else _MetricsOnly(inner)

        self._factory = factory
        self._remove: Callable[[], None] | None = None

    def open(self) -> None:
        """Measure every run started in this process from now on."""
        if self._remove is None:
            self._remove = add_run_listener(self._factory)

    def close(self) -> None:
        if self._remove is not None:
            self._remove()
            self._remove = None

    def exposition(self) -> bytes:
        from prometheus_client import generate_latest

        return bytes(generate_latest(self.registry))

    async def endpoint(self, request: Request) -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST

        return Response(self.exposition(), media_type=CONTENT_TYPE_LATEST)
