"""Production mode: one loop per producer, each iteration one run of the loop's workflow.

A loop runs until its producer is done or the engine is stopped.  Then every node of the loop
is cleaned up (a queue writer pushes the done sentinel, so the loop it feeds ends too).  An
iteration that fails goes to the dead-letter queue and the loop goes on with the next one
(fail-fast per iteration; retries only where a node asks for them).  When Redis is unreachable
the loop reports it and waits until it answers again.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from dataclasses import dataclass, field
from typing import Any

from reflow.flows._compile import CompiledLoop, compile_loop
from reflow.flows._dlq import DeadLetterQueue
from reflow.flows._errors import FlowError
from reflow.flows._events import FlowStart, Observer, notify
from reflow.flows._execution import BoundNode, NodeFailure
from reflow.flows._loader import Flow
from reflow.flows._nodes import Node, NodeContext, Payload, ProducerNode
from reflow.flows._services import FlowServices
from reflow.runtime.types.plugin import Runtime
from reflow.workflow import Workflow

__all__ = ["FlowEngine", "LoopStats"]

logger = logging.getLogger(__name__)


def _is_connection_error(exc: BaseException) -> bool:
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # pragma: no cover - redis is part of the flows extra
        return False
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (RedisConnectionError, RedisTimeoutError, ConnectionError)):
            return True
        seen = seen.__cause__
    return False


def _unattributed(exc: Exception) -> NodeFailure:
    """A failure the engine raised itself (a step timeout, the iteration timeout)."""
    failure = NodeFailure("", type(exc).__name__, Payload(), exc)
    failure.__cause__ = exc
    return failure


@dataclass
class LoopStats:
    iterations: int = 0
    failed: int = 0
    dead_lettered: int = 0
    redis_outages: int = 0
    outputs: list[dict[str, Any]] = field(default_factory=list)


class FlowEngine:
    """Node instances of one flow and the workflows of its loops.

    ``runtime`` is the reflow runtime the loops' workflows run on (default: in memory; a
    ``DurableRuntime`` journals every iteration).  ``keep_outputs`` keeps each iteration's sink
    outputs in ``stats[producer].outputs`` (for tests and the CLI; off by default so a
    long-running loop does not grow).
    """

    def __init__(
        self,
        flow: Flow,
        services: FlowServices | None = None,
        *,
        keep_outputs: bool = False,
        dead_letters: bool = True,
        runtime: Runtime | None = None,
    ) -> None:
        self.flow = flow
        self.services = services or FlowServices()
        self.keep_outputs = keep_outputs
        self.workflow_runtime = runtime
        self.dead_letters = dead_letters
        self.runtime: dict[str, Any] = {}
        self.stop_event = asyncio.Event()
        self.observers: list[Observer] = []
        self.stats: dict[str, LoopStats] = {}
        self.dlq = DeadLetterQueue(self.services, flow.name)
        self.nodes: dict[str, BoundNode] = {}
        settings = flow.spec.settings
        for node_id, spec in flow.graph.nodes.items():
            cls = flow.graph.classes[node_id]
            flow_config = dict(spec.data.config)
            if settings.files_dir:
                flow_config.setdefault("files_dir", settings.files_dir)
            context = NodeContext(
                node_id, flow.spec.env, self.runtime, self.services, flow_config, self.stop_event
            )
            instance: Node[Any] = cls(context)
            self.nodes[node_id] = BoundNode(spec, instance)
        self._loops: dict[str, CompiledLoop] = {}
        self._set_up: set[str] = set()
        self._users: dict[str, int] = {}

    def loop(self, producer: str | None = None) -> CompiledLoop:
        """The compiled loop of ``producer`` (default: the first producer of the flow)."""
        producers = self.flow.graph.producers()
        if producer is None:
            if not producers:
                raise FlowError(f"flow {self.flow.name!r} has no producer node")
            producer = producers[0]
        if producer not in producers:
            raise FlowError(f"node {producer!r} is not a producer of flow {self.flow.name!r}")
        if producer not in self._loops:
            self._loops[producer] = compile_loop(
                self.flow.graph,
                self.nodes,
                producer=producer,
                observers=self.observers,
                name=self.flow.name,
                fork_pool=self.flow.spec.settings.fork_execution_pool,
            )
        return self._loops[producer]

    def workflow(self, producer: str | None = None) -> Workflow:
        """A ``Workflow`` running one iteration of that loop per run (draw it, serve it)."""
        return self._instantiate(self.loop(producer))

    def _instantiate(self, compiled: CompiledLoop) -> Workflow:
        return compiled.workflow(self.flow.spec.settings.iteration_timeout, self.workflow_runtime)

    def subscribe(self, observer: Observer) -> None:
        """``observer(kind, fields)`` for node_started / node_completed / node_failed and
        loop events (iteration_failed, redis_unavailable, loop_completed)."""
        self.observers.append(observer)

    def _emit(self, kind: str, fields: dict[str, Any]) -> None:
        notify(self.observers, kind, fields)

    async def _setup(self, members: list[str]) -> None:
        for node_id in members:
            if node_id not in self._set_up:
                await self.nodes[node_id].instance.setup()
                self._set_up.add(node_id)

    async def _enter(self, members: list[str]) -> None:
        for node_id in members:
            self._users[node_id] = self._users.get(node_id, 0) + 1
        await self._setup(members)

    async def _leave(self, members: list[str]) -> None:
        """Clean up the nodes no running loop uses any more (a writer fed by two loops sends
        its done signal once both have ended)."""
        unused = []
        for node_id in members:
            self._users[node_id] -= 1
            if not self._users[node_id]:
                unused.append(node_id)
        await self._cleanup(unused)

    async def _cleanup(self, members: list[str]) -> None:
        for node_id in members:
            try:
                await self.nodes[node_id].instance.cleanup()
            except Exception as exc:
                self._emit("node_cleanup_failed", {"node_id": node_id, "error": str(exc)})
                logger.exception("cleanup of node %s failed", node_id)
            self._set_up.discard(node_id)

    async def _wait_for_redis(self, stats: LoopStats, producer: str, exc: BaseException) -> None:
        stats.redis_outages += 1
        self._emit("redis_unavailable", {"loop": producer, "error": str(exc)})
        logger.warning("loop %s: Redis unavailable (%s); retrying", producer, exc)
        delay = 0.05
        while not self.stop_event.is_set():
            try:
                await self.services.redis().ping()
                self._emit("redis_available", {"loop": producer})
                return
            except Exception:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    async def _dead_letter(self, failure: NodeFailure, producer: str, stats: LoopStats) -> None:
        cause = failure.error
        while True:
            try:
                await self.dlq.add(
                    node_id=failure.node_id,
                    node_type=failure.node_type,
                    payload=failure.payload,
                    error=cause,
                    trace="".join(
                        traceback.format_exception(type(cause), cause, cause.__traceback__)
                    ),
                    loop=producer,
                )
                stats.dead_lettered += 1
                return
            except Exception as exc:
                if not _is_connection_error(exc) or self.stop_event.is_set():
                    logger.exception("could not dead-letter a failed iteration")
                    return
                await self._wait_for_redis(stats, producer, exc)

    async def _iterate(
        self, workflow: Workflow, producer: str, stats: LoopStats, token: int
    ) -> bool:
        """Run one iteration (one workflow run); ``True`` when the producer said it is done."""
        succeeded = True
        try:
            result = await workflow.run(start_event=FlowStart(token=token))
        except Exception as exc:
            failure = exc if isinstance(exc, NodeFailure) else _unattributed(exc)
            if _is_connection_error(failure.error) and failure.node_id == producer:
                await self._wait_for_redis(stats, producer, failure.error)
                return False
            succeeded = False
            stats.failed += 1
            stats.iterations += 1
            self._emit(
                "iteration_failed",
                {"loop": producer, "node_id": failure.node_id, "error": str(failure)},
            )
            if self.dead_letters:
                await self._dead_letter(failure, producer, stats)
        else:
            if result["done"]:
                return True
            stats.iterations += 1
            if self.keep_outputs:
                stats.outputs.append(result["outputs"])
        producer_node = self.nodes[producer].instance
        if isinstance(producer_node, ProducerNode):
            await producer_node.settle(token, succeeded)
        return False

    async def run_loop(self, producer: str, *, max_iterations: int | None = None) -> LoopStats:
        """Run one loop until its producer is done, the engine stops or ``max_iterations``.

        With ``settings.concurrency`` > 1 that many iterations are in flight at once (the
        producer is still called one call at a time, in order); they may end out of order.
        """
        compiled = self.loop(producer)
        workflow = self._instantiate(compiled)
        stats = self.stats.setdefault(producer, LoopStats())
        width = self.flow.spec.settings.concurrency
        self.nodes[producer].exhausted = False
        await self._enter(compiled.members)
        started = 0
        running: set[asyncio.Task[bool]] = set()
        done = False
        try:
            while not done:
                if width == 1:
                    # One at a time; an attempt lost to a Redis outage is not an iteration.
                    if max_iterations is not None and stats.iterations >= max_iterations:
                        break
                    started += 1
                    done = await self._iterate(workflow, producer, stats, started)
                    continue
                if max_iterations is not None and started >= max_iterations:
                    break
                started += 1
                running.add(asyncio.create_task(self._iterate(workflow, producer, stats, started)))
                if len(running) >= width:
                    finished, running = await asyncio.wait(
                        running, return_when=asyncio.FIRST_COMPLETED
                    )
                    done = any(task.result() for task in finished)
            if running:
                await asyncio.gather(*running)
        finally:
            for task in running:
                task.cancel()
            await self._leave(compiled.members)
            self._emit("loop_completed", {"loop": producer, "iterations": stats.iterations})
        return stats

    async def run_production(self, *, max_iterations: int | None = None) -> dict[str, LoopStats]:
        """Run every loop at once until all have ended."""
        producers = self.flow.graph.producers()
        if not producers:
            raise FlowError(f"flow {self.flow.name!r} has no producer node")
        await asyncio.gather(*(self.run_loop(p, max_iterations=max_iterations) for p in producers))
        return self.stats

    def stop(self) -> None:
        """Ask every loop to end: waiting producers return "done" and each loop cleans up."""
        self.stop_event.set()

    async def replay(self, entry_id: str) -> dict[str, Any]:
        """Run a dead-lettered iteration again from its failed node; removes it on success."""
        entry = await self.dlq.get(entry_id)
        if not entry.get("node_id"):
            raise FlowError(
                f"dead-letter entry {entry_id!r} failed outside any node "
                f"({entry.get('error_type')}); there is no node to replay it from"
            )
        loop = self.loop(entry["loop"]) if entry.get("loop") else self.loop()
        workflow = self._instantiate(loop)
        await self._setup(loop.members)
        payload = Payload.from_dict(entry["input"]).to_dict()
        result: dict[str, Any] = await workflow.run(
            start_event=FlowStart(entry=entry["node_id"], payload=payload)
        )
        await self.dlq.remove(entry_id)
        return result

    async def aclose(self) -> None:
        await self.services.aclose()
