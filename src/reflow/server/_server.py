"""``WorkflowServer``: workflows served over HTTP, SSE, NDJSON and WebSockets (Starlette)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route

from reflow.durable import DurableRuntime
from reflow.events import Event, HumanResponseEvent, InputRequiredEvent, StopEvent
from reflow.runtime.basic import basic_runtime
from reflow.runtime.types.plugin import Runtime
from reflow.server._artifact_routes import ArtifactRoutes, default_artifacts_root
from reflow.server._auth import BearerAuth, token_from_env
from reflow.server._http import (
    DEFAULT_MAX_BODY_BYTES,
    ApiError,
    api_error_handler,
    http_error_handler,
    internal_error_handler,
)
from reflow.server._journal_runs import JournalRuns
from reflow.server._memory_store import MemoryWorkflowStore
from reflow.server._openapi import openapi_document
from reflow.server._routes import Routes
from reflow.server._run_detail_routes import RunDetailRoutes
from reflow.server._runs import Runs
from reflow.server._sqlite_store import SqliteWorkflowStore
from reflow.server._store import AbstractWorkflowStore
from reflow.server._store_runs import StoreRuns
from reflow.server._ui import drawing_route, ui_routes
from reflow.server._websocket import Sockets

if TYPE_CHECKING:
    from reflow.flows import Flow, FlowServices, NodeRegistry
    from reflow.server._flow_host import FlowHost


class WorkflowServer:
    """Serves workflows; ``app`` is the ASGI application (its lifespan starts and stops runs).

    On ``SqliteWorkflowStore`` (or a ``DurableRuntime`` given as ``runtime``) runs are durable:
    they live in the journal and continue after a restart.  On other stores they run in memory
    and the store records their handlers and events.  ``auth_token`` (or the environment
    variable ``REFLOW_SERVER_TOKEN``) requires ``Authorization: Bearer <token>`` on every route
    but ``/health``; with a token, CORS allows only ``cors_origins``.  Request bodies above
    ``max_body_bytes`` are refused with 413.  ``metrics=True`` serves ``GET /metrics`` for
    Prometheus (the ``prometheus`` extra).  A run's artifacts (``reflow.runners``) are listed
    and served from ``artifacts_root`` (default: ``artifacts/`` beside the journal).  With
    OpenTelemetry installed, a request's ``traceparent`` is the parent of the run it starts,
    and run routes and streams answer with the run's own ``traceparent``.
    ``ui`` serves the web UI at ``/``.
    """

    def __init__(
        self,
        *,
        middleware: list[Middleware] | None = None,
        exception_handlers: Mapping[Any, Any] | None = None,
        workflow_store: AbstractWorkflowStore | None = None,
        persistence_backoff: Sequence[float] = (0.5, 3),
        runtime: Runtime | None = None,
        idle_timeout: float = 60.0,
        sse_heartbeat_interval: float | None = 25.0,
        accept_context_api: bool = False,
        auth_token: str | None = None,
        cors_origins: Sequence[str] = (),
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        metrics: bool = False,
        artifacts_root: str | os.PathLike[str] | None = None,
        ui: bool = True,
    ) -> None:
        if sse_heartbeat_interval is not None and sse_heartbeat_interval <= 0:
            raise ValueError("sse_heartbeat_interval must be a positive number of seconds or None")
        if not isinstance(max_body_bytes, int) or max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be a positive integer, got {max_body_bytes!r}")
        self.workflow_store = workflow_store or MemoryWorkflowStore()
        self.persistence_backoff = list(persistence_backoff)
        self.idle_timeout = idle_timeout
        self.sse_heartbeat_interval = sse_heartbeat_interval
        self.accept_context_api = accept_context_api
        self.max_body_bytes = max_body_bytes
        self.ui = ui
        self.auth_token = auth_token if auth_token is not None else token_from_env()
        self._runs: Runs = self._pick_runs(self.workflow_store, runtime, self.persistence_backoff)
        self._workflows: dict[str, Any] = {}
        self._extra_events: dict[str, list[type[Event]]] = {}
        self._registries: dict[str, dict[str, type[Event]]] = {}
        self.started = False
        self.flows: FlowHost | None = None
        self.metrics = _prometheus_metrics() if metrics else None
        self.artifacts_root = (
            Path(artifacts_root).resolve()
            if artifacts_root is not None
            else default_artifacts_root(getattr(self._runs, "runtime", None))
        )
        self.app = self._build_app(middleware, exception_handlers, list(cors_origins))

    @staticmethod
    def _pick_runs(
        store: AbstractWorkflowStore, runtime: Runtime | None, backoff: list[float]
    ) -> Runs:
        if isinstance(store, SqliteWorkflowStore):
            return JournalRuns(store.runtime)
        if isinstance(runtime, DurableRuntime):
            return JournalRuns(runtime)
        return StoreRuns(store, runtime or basic_runtime, backoff)

    def _build_app(
        self,
        middleware: list[Middleware] | None,
        exception_handlers: Mapping[Any, Any] | None,
        cors_origins: list[str],
    ) -> Starlette:
        if middleware is None:
            if self.auth_token:
                cors = Middleware(
                    CORSMiddleware,
                    allow_origins=cors_origins,
                    allow_methods=["*"],
                    allow_headers=["*"],
                    allow_credentials=True,
                )
            else:
                cors = Middleware(
                    CORSMiddleware,
                    allow_origin_regex=".*",
                    allow_methods=["*"],
                    allow_headers=["*"],
                    allow_credentials=True,
                )
            middleware = [cors]
        if self.auth_token:
            middleware = [*middleware, Middleware(BearerAuth, token=self.auth_token)]
        middleware = [*middleware, *_trace_middleware()]
        handlers: dict[Any, Any] = {
            ApiError: api_error_handler,
            HTTPException: http_error_handler,
            Exception: internal_error_handler,
        }
        handlers.update(exception_handlers or {})
        routes = [
            *Routes(self).routes(),
            drawing_route(self),
            *Sockets(self).routes(),
            *ArtifactRoutes(self).routes(),
            *RunDetailRoutes(self).routes(),
        ]
        if self.metrics is not None:
            routes.append(Route("/metrics", self.metrics.endpoint, methods=["GET"]))
        if self.ui:
            routes += ui_routes()
        return Starlette(
            routes=routes,
            middleware=middleware,
            exception_handlers=handlers,
            lifespan=self._lifespan,
        )

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        async with self.contextmanager():
            yield

    # -- workflows ---------------------------------------------------------------------------

    def add_workflow(
        self, name: str, workflow: Any, additional_events: list[type[Event]] | None = None
    ) -> None:
        """Serve ``workflow`` as ``name`` (it is renamed to it and moved onto this server)."""
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(f"workflow name must be a non-empty string without '/', got {name!r}")
        workflow._workflow_name = name
        self._runs.adopt(workflow)
        self._workflows[name] = workflow
        self._extra_events[name] = list(additional_events or [])
        self._registries.pop(name, None)

    def get_workflows(self) -> dict[str, Any]:
        return dict(self._workflows)

    def event_registry(self, name: str) -> dict[str, type[Event]]:
        """Event classes a client may name for workflow ``name``, by class name."""
        found = self._registries.get(name)
        if found is None:
            workflow = self._workflows.get(name)
            classes: list[type[Event]] = [HumanResponseEvent, InputRequiredEvent, StopEvent]
            if workflow is not None:
                classes = [
                    workflow.start_event_class,
                    workflow.stop_event_class,
                    *workflow.events,
                    *self._extra_events.get(name, []),
                    *classes,
                ]
            found = {}
            for cls in classes:
                found.setdefault(cls.__name__, cls)
            if workflow is not None:
                self._registries[name] = found
        return found

    # -- flows (optional: needs the flows extra) -----------------------------------------------

    def enable_flows(
        self, services: FlowServices | None = None, registry: NodeRegistry | None = None
    ) -> FlowHost:
        """Mount the ``/flows`` routes and ``/ws/flows/{name}`` (once); returns the flow host."""
        if self.flows is None:
            from reflow.server._flow_host import FlowHost
            from reflow.server._flow_routes import FlowRoutes

            self.flows = FlowHost(services, registry)
            self.app.router.routes.extend(FlowRoutes(self, self.flows).routes())
        return self.flows

    def add_flow(self, flow: Flow | Any, *, name: str | None = None) -> Flow:
        """Serve a flow (a ``Flow``, a path, or a parsed document) under ``name``."""
        return self.enable_flows().add(flow, name=name)

    # -- life cycle --------------------------------------------------------------------------

    async def start(self) -> None:
        if not self.started:
            await self._runs.open()
            if self.metrics is not None:
                self.metrics.open()
            self.started = True

    async def stop(self) -> None:
        if self.started:
            self.started = False
            if self.flows is not None:
                await self.flows.close()
            if self.metrics is not None:
                self.metrics.close()
            await self._runs.close()

    @contextlib.asynccontextmanager
    async def contextmanager(self) -> AsyncIterator[WorkflowServer]:
        await self.start()
        try:
            yield self
        finally:
            await self.stop()

    async def serve(
        self, host: str = "localhost", port: int = 80, uvicorn_config: dict[str, Any] | None = None
    ) -> None:
        import uvicorn

        config = uvicorn.Config(self.app, host=host, port=port, **(uvicorn_config or {}))
        await uvicorn.Server(config).serve()

    def openapi_schema(self) -> dict[str, Any]:
        document = openapi_document(
            list(self._workflows),
            auth=bool(self.auth_token),
            metrics=self.metrics is not None,
            ui=self.ui,
        )
        if self.flows is not None:
            from reflow.server._flow_openapi import flow_paths

            document["paths"].update(flow_paths())
        return document


def _prometheus_metrics() -> Any:
    from reflow.server._prometheus import PrometheusMetrics

    return PrometheusMetrics()


def _trace_middleware() -> list[Middleware]:
    """Trace context in and out of requests, when OpenTelemetry is installed."""
    try:
        from reflow.server._tracing import TraceHeaders
    except ImportError:
        return []
    return [Middleware(TraceHeaders)]
