"""Development mode: run one node on the outputs its parents produced last.

Every execution's output is cached in Redis (``flows:<flow>:dev:<session>:<node>``, with a
TTL), so a node's children can be run next, one at a time.  A parent without a cached output
is an error naming the node to run first.  The output is written with one ``SET`` after the
node returned, so a failing or timed-out node never leaves a half-saved output.  A session
keeps its node instances (a counter advances between calls) until ``reset``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from reflow.flows._compile import compile_loop, run_loop_node
from reflow.flows._engine import FlowEngine
from reflow.flows._errors import FlowError, UpstreamMissingError
from reflow.flows._loader import Flow
from reflow.flows._nodes import Payload, merge_payloads
from reflow.flows._services import FlowServices

__all__ = ["DevResult", "DevSession"]

DEFAULT_TTL = 3600


@dataclass
class DevResult:
    node_id: str
    node_type: str
    input: dict[str, Any]
    output: dict[str, Any] | None
    route: str | None = None
    done: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "node_type": self.node_type,
            "input": self.input,
            "output": self.output,
            "route": self.route,
            "done": self.done,
        }


class DevSession:
    def __init__(
        self,
        flow: Flow,
        services: FlowServices | None = None,
        *,
        session: str = "default",
        ttl: int = DEFAULT_TTL,
    ) -> None:
        self.flow = flow
        self.services = services or FlowServices()
        self.session = session
        self.ttl = ttl
        self._engine = FlowEngine(flow, self.services, dead_letters=False)
        self._ready: set[str] = set()

    def output_key(self, node_id: str) -> str:
        return self.services.key("flows", self.flow.name, "dev", self.session, node_id)

    async def output(self, node_id: str) -> dict[str, Any] | None:
        raw = await self.services.redis().get(self.output_key(node_id))
        return None if raw is None else dict(json.loads(raw))

    async def _input_for(self, node_id: str) -> Payload:
        graph = self.flow.graph
        parents = graph.parents(node_id)
        if graph.kind(node_id) == "loop":
            # A body leading back to its for-each node is not one of its inputs.
            body = set(graph.body_of(node_id))
            parents = [p for p in parents if p not in body]
        if not parents:
            return Payload()
        keys = [self.output_key(p) for p in parents]
        values = await self.services.redis().mget(keys)
        missing = [p for p, v in zip(parents, values, strict=True) if v is None]
        if missing:
            raise UpstreamMissingError(node_id, missing)
        return merge_payloads([Payload.from_dict(json.loads(v)) for v in values if v is not None])

    async def run_node(
        self, node_id: str, *, input: dict[str, Any] | None = None, timeout: float = 300
    ) -> DevResult:
        """Run ``node_id`` once; ``input`` (``{data, metadata}``) bypasses the cache."""
        graph = self.flow.graph
        if node_id not in graph.nodes:
            raise FlowError(f"flow {self.flow.name!r} has no node {node_id!r}")
        bound = self._engine.nodes[node_id]
        if "development" not in bound.cls.modes:
            raise FlowError(f"node {node_id!r} ({bound.type_id}) runs in production mode only")
        payload = Payload.from_dict(input) if input is not None else await self._input_for(node_id)
        seen = payload.to_dict()
        if node_id not in self._ready:
            await bound.instance.setup()
            self._ready.add(node_id)
        try:
            out = await asyncio.wait_for(self._execute(node_id, payload), timeout)
        except asyncio.TimeoutError:
            await self._forget(node_id)
            raise FlowError(f"Node execution timed out after {timeout:g} seconds") from None
        if out is None:
            return DevResult(node_id, bound.type_id, seen, None, done=True)
        route, out.route = out.route, None
        await self.services.redis().set(
            self.output_key(node_id), json.dumps(out.to_dict(), default=str), ex=self.ttl
        )
        return DevResult(node_id, bound.type_id, seen, out.to_dict(), route)

    async def _execute(self, node_id: str, payload: Payload) -> Payload | None:
        bound = self._engine.nodes[node_id]
        kind = bound.cls.kind
        if kind == "producer":
            return await bound.produce(payload)
        if kind == "loop":
            body = compile_loop(self.flow.graph, self._engine.nodes, body_of=node_id)
            return await run_loop_node(bound, body, payload)
        return await bound.run(payload)

    async def _forget(self, node_id: str) -> None:
        """Drop a node's instance (after a timeout its state is unknown)."""
        self._ready.discard(node_id)
        fresh = FlowEngine(self.flow, self.services, dead_letters=False)
        self._engine.nodes[node_id] = fresh.nodes[node_id]

    async def reset(self) -> int:
        """Forget every node instance and cached output of this session."""
        for node_id in list(self._ready):
            await self._engine.nodes[node_id].instance.cleanup()
        self._ready.clear()
        self._engine = FlowEngine(self.flow, self.services, dead_letters=False)
        redis = self.services.redis()
        keys = [self.output_key(n) for n in self.flow.graph.nodes]
        return int(await redis.delete(*keys)) if keys else 0
