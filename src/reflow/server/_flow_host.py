"""Flows served by a ``WorkflowServer``: loading, production loops, development runs, the DLQ.

The host holds each flow by name with its live ``FlowState``.  ``start`` runs the flow's
production loops as a task of the server (a fresh ``FlowEngine`` per start, observed by the
state); ``stop`` asks the loops to end, as a signal does, and waits for them to clean up.
Development runs keep one ``DevSession`` per session name.  Every error that a request can
cause is an ``ApiError`` naming it; this module uses only the public API of ``reflow.flows``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reflow.flows import (
    DevSession,
    Flow,
    FlowEngine,
    FlowError,
    FlowFormatError,
    FlowServices,
    FlowValidationError,
    NodeConfigError,
    NodeFailure,
    NodeRegistry,
    UpstreamMissingError,
    load_flow,
)
from reflow.server._flow_state import FlowState
from reflow.server._http import ApiError

__all__ = ["FlowHost", "FlowLoadError", "ServedFlow", "redis_errors"]

logger = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 10.0


class FlowLoadError(ApiError):
    """A flow document with problems: 400 with every problem (node id, field, message)."""

    def __init__(self, exc: FlowValidationError) -> None:
        super().__init__(400, str(exc))
        self.problems = [
            {"message": p.message, "node_id": p.node_id, "field": p.field} for p in exc.problems
        ]


@contextlib.contextmanager
def redis_errors() -> Iterator[None]:
    """Redis going away is the server's trouble, not the client's: 503 naming it."""
    try:
        yield
    except ApiError:
        raise
    except (ConnectionError, OSError) as exc:
        raise ApiError(503, f"Redis is unavailable: {exc}") from None
    except Exception as exc:
        if type(exc).__module__.startswith("redis"):
            raise ApiError(503, f"Redis is unavailable: {type(exc).__name__}: {exc}") from None
        raise


@dataclass
class ServedFlow:
    flow: Flow
    state: FlowState
    engine: FlowEngine | None = None
    task: asyncio.Task[None] | None = None
    sessions: dict[str, DevSession] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def describe(self) -> dict[str, Any]:
        graph = self.flow.graph
        return {
            "name": self.flow.name,
            "status": self.state.status,
            "nodes": [
                {"id": node_id, "type": spec.type, "kind": graph.kind(node_id)}
                for node_id, spec in graph.nodes.items()
            ],
            "producers": graph.producers(),
        }

    def status(self) -> dict[str, Any]:
        loops: dict[str, Any] = {}
        if self.engine is not None:
            for producer, stats in self.engine.stats.items():
                loops[producer] = {
                    "iterations": stats.iterations,
                    "failed": stats.failed,
                    "dead_lettered": stats.dead_lettered,
                    "redis_outages": stats.redis_outages,
                }
        return {**self.state.snapshot(), "loops": loops}


class FlowHost:
    """The flows of one server, on one Redis (``services``) and one node ``registry``."""

    def __init__(
        self, services: FlowServices | None = None, registry: NodeRegistry | None = None
    ) -> None:
        self.services = services or FlowServices()
        self.registry = registry
        self.flows: dict[str, ServedFlow] = {}

    # -- loading -------------------------------------------------------------------------------

    def load(self, source: Any, *, name: str | None = None, fmt: str | None = None) -> Flow:
        """A checked flow from a path, text (``fmt`` json/yaml) or parsed data."""
        try:
            if fmt is not None:
                return load_flow(source, registry=self.registry, fmt=fmt, name=name)  # type: ignore[arg-type]
            return load_flow(source, registry=self.registry, name=name)
        except FlowValidationError as exc:
            raise FlowLoadError(exc) from None
        except FlowFormatError as exc:
            raise ApiError(400, f"flow document is not valid: {exc}") from None

    def add(self, source: Flow | Path | str | dict[str, Any], name: str | None = None) -> Flow:
        """Serve a flow (a ``Flow`` or anything ``load_flow`` reads); replaces an idle one."""
        if isinstance(source, Flow):
            flow = source
        else:  # from Python: the flows' own errors (FlowValidationError lists every problem)
            flow = load_flow(source, registry=self.registry, name=name)
        if name is not None and flow.name != name:
            flow.name = name
        if not flow.name or "/" in flow.name:
            raise ApiError(400, f"flow name must be a non-empty string without '/': {flow.name!r}")
        current = self.flows.get(flow.name)
        if current is not None and current.running:
            raise ApiError(409, f"flow {flow.name!r} is running; stop it before replacing it")
        state = FlowState(flow.name, len(flow.graph.nodes))
        if current is not None:
            state.subscribers = current.state.subscribers  # open sockets follow the new version
        self.flows[flow.name] = ServedFlow(flow, state)
        return flow

    def get(self, name: str) -> ServedFlow:
        served = self.flows.get(name)
        if served is None:
            known = ", ".join(sorted(self.flows)) or "none"
            raise ApiError(404, f"flow {name!r} not found (served flows: {known})")
        return served

    async def remove(self, name: str) -> None:
        served = self.get(name)
        if served.running:
            raise ApiError(409, f"flow {name!r} is running; stop it before removing it")
        await self._reset_sessions(served)
        del self.flows[name]

    # -- production ----------------------------------------------------------------------------

    def start(self, name: str, max_iterations: int | None = None) -> ServedFlow:
        served = self.get(name)
        if served.running:
            raise ApiError(409, f"flow {name!r} is already running")
        if not served.flow.graph.producers():
            raise ApiError(409, f"flow {name!r} has no producer node to run")
        engine = FlowEngine(served.flow, self.services)
        engine.subscribe(served.state.observe)
        served.engine = engine
        served.state.run_started()
        served.task = asyncio.get_running_loop().create_task(
            self._produce(served, engine, max_iterations), name=f"flow:{name}"
        )
        return served

    async def _produce(
        self, served: ServedFlow, engine: FlowEngine, max_iterations: int | None
    ) -> None:
        try:
            stats = await engine.run_production(max_iterations=max_iterations)
        except asyncio.CancelledError:
            served.state.run_ended("stopped")
            raise
        except Exception as exc:
            logger.exception("flow %s failed", served.flow.name)
            served.state.run_ended("failed", f"{type(exc).__name__}: {exc}")
            return
        served.state.run_ended(
            "stopped" if engine.stop_event.is_set() else "completed",
            iterations=sum(s.iterations for s in stats.values()),
            failed=sum(s.failed for s in stats.values()),
            dead_lettered=sum(s.dead_lettered for s in stats.values()),
        )

    async def stop(self, name: str, grace: float = STOP_GRACE_SECONDS) -> ServedFlow:
        """Ask the loops to end and wait up to ``grace`` seconds; then cancel them."""
        served = self.get(name)
        task, engine = served.task, served.engine
        if task is None or engine is None or task.done():
            return served
        served.state.status = "stopping"
        engine.stop()
        done, _ = await asyncio.wait({task}, timeout=grace)
        if not done:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return served

    # -- development mode ----------------------------------------------------------------------

    def session(self, served: ServedFlow, session: str) -> DevSession:
        found = served.sessions.get(session)
        if found is None:
            found = DevSession(served.flow, self.services, session=session)
            served.sessions[session] = found
        return found

    async def run_node(
        self,
        name: str,
        node_id: str,
        *,
        input: dict[str, Any] | None,
        session: str,
        timeout: float,
    ) -> dict[str, Any]:
        served = self.get(name)
        flow = served.flow
        if node_id not in flow.graph.nodes:
            raise ApiError(404, f"flow {name!r} has no node {node_id!r}")
        if "development" not in flow.node_class(node_id).modes:
            raise ApiError(409, f"node {node_id!r} runs in production mode only")
        node_type = flow.graph.nodes[node_id].type
        state = served.state
        state.observe("node_started", {"node_id": node_id, "node_type": node_type, "dev": True})
        try:
            with redis_errors():
                result = await self.session(served, session).run_node(
                    node_id, input=input, timeout=timeout
                )
        except UpstreamMissingError as exc:
            self._failed(state, node_id, node_type, exc)
            raise ApiError(409, str(exc)) from None
        except NodeConfigError as exc:
            self._failed(state, node_id, node_type, exc)
            raise ApiError(422, str(exc)) from None
        except FlowError as exc:
            self._failed(state, node_id, node_type, exc)
            if str(exc).startswith("Node execution timed out"):
                raise ApiError(408, str(exc)) from None
            raise ApiError(422, f"node {node_id!r} failed: {exc}") from None
        except ApiError as exc:
            self._failed(state, node_id, node_type, exc)
            raise
        except Exception as exc:
            self._failed(state, node_id, node_type, exc)
            raise ApiError(422, f"node {node_id!r} failed: {type(exc).__name__}: {exc}") from None
        state.observe(
            "node_completed",
            {"node_id": node_id, "node_type": node_type, "route": result.route, "dev": True},
        )
        return {**result.to_dict(), "session": session}

    @staticmethod
    def _failed(state: FlowState, node_id: str, node_type: str, exc: BaseException) -> None:
        error = exc.detail if isinstance(exc, ApiError) else str(exc)
        state.observe(
            "node_failed", {"node_id": node_id, "node_type": node_type, "error": error, "dev": True}
        )

    async def reset_session(self, name: str, session: str) -> int:
        served = self.get(name)
        with redis_errors():
            cleared = await self.session(served, session).reset()
        served.sessions.pop(session, None)
        return cleared

    async def _reset_sessions(self, served: ServedFlow) -> None:
        for dev in served.sessions.values():
            with contextlib.suppress(Exception):
                await dev.reset()
        served.sessions.clear()

    # -- the dead-letter queue -----------------------------------------------------------------

    def engine_for(self, served: ServedFlow) -> FlowEngine:
        """The running engine (its nodes are set up) or an idle one for DLQ work."""
        if served.engine is None:
            served.engine = FlowEngine(served.flow, self.services)
            served.engine.subscribe(served.state.observe)
        return served.engine

    async def replay(self, name: str, entry_id: str) -> dict[str, Any]:
        served = self.get(name)
        engine = self.engine_for(served)
        with redis_errors():
            await self.dlq_entry(name, entry_id)
            try:
                result: dict[str, Any] = await engine.replay(entry_id)
            except NodeFailure as exc:
                raise ApiError(
                    422, f"replay failed again at node {exc.node_id!r}: {exc.error}"
                ) from None
            except FlowError as exc:
                raise ApiError(409, str(exc)) from None
        return result

    async def dlq_entry(self, name: str, entry_id: str) -> dict[str, Any]:
        engine = self.engine_for(self.get(name))
        with redis_errors():
            try:
                return await engine.dlq.get(entry_id)
            except FlowError:
                raise ApiError(
                    404, f"flow {name!r} has no dead-letter entry {entry_id!r}"
                ) from None

    # -- life cycle ----------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop every running flow (each gets the grace period) and close Redis."""
        await asyncio.gather(*(self.stop(name) for name in list(self.flows)))
        await self.services.aclose()
