"""``GET /metrics``: reflow's OpenTelemetry metrics in the Prometheus text format.

Off by default (``WorkflowServer(metrics=True)``, ``reflow serve --metrics``); behind the
bearer token when the server has one.  The server measures the runs of its process with its
own ``MeterProvider``, read by OpenTelemetry's Prometheus exporter into a registry of its own,
so an application's ``instrument()`` setup (and its exporters) is neither needed nor changed.
Needs the ``prometheus`` extra.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from reflow.runtime.listeners import add_run_listener


class PrometheusMetrics:
    """The server's meter provider, its Prometheus reader, and the ``/metrics`` endpoint."""

    def __init__(self) -> None:
        try:
            from opentelemetry.exporter.prometheus import PrometheusMetricReader
            from opentelemetry.sdk.metrics import MeterProvider
            from prometheus_client import CollectorRegistry
        except ImportError as exc:
            raise ImportError(
                f"metrics=True needs the prometheus extra (pip install 'reflow[prometheus]'): {exc}"
            ) from exc
        from reflow.observability import metrics_listener_factory

        self.registry = CollectorRegistry(auto_describe=True)
        self._reader = PrometheusMetricReader(registry=self.registry)
        self._provider = MeterProvider(metric_readers=[self._reader])
        self._factory = metrics_listener_factory(self._provider)
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
