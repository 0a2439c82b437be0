"""Running one node: render its templates, validate its config, call it in its pool."""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import importlib
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from reflow.flows._errors import FlowError, NodeConfigError, Problem
from reflow.flows._format import NodeSpec
from reflow.flows._nodes import LoopNode, Node, NodeContext, Payload, Pool, ProducerNode
from reflow.flows._services import FlowServices
from reflow.flows._templates import TemplateRenderError, is_template, render_form

__all__ = ["BoundNode", "NodeFailure"]


class NodeFailure(FlowError):
    """A node raised: which node, on what input, and the original error (``__cause__``)."""

    def __init__(self, node_id: str, node_type: str, payload: Payload, error: BaseException):
        self.node_id = node_id
        self.node_type = node_type
        self.payload = payload
        self.error = error
        super().__init__(f"node {node_id!r} ({node_type}) failed: {type(error).__name__}: {error}")


def _in_new_loop(factory: Callable[[], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        return await factory()

    return asyncio.run(main())


def _execute_in_process(
    class_path: str,
    node_id: str,
    env: dict[str, Any],
    flow_config: dict[str, Any],
    services: dict[str, Any],
    payload: dict[str, Any],
    config: dict[str, Any],
) -> dict[str, Any]:
    """Child-process side of the ``process`` pool: a fresh instance per call (no state kept)."""
    module_name, _, qualname = class_path.partition(":")
    cls: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        cls = getattr(cls, part)

    async def run() -> dict[str, Any]:
        context = NodeContext(node_id, env, {}, FlowServices(**services), flow_config)
        node = cls(context)
        await node.setup()
        try:
            out = await node.execute(Payload.from_dict(payload), cls.config_model(**config))
            return {**out.to_dict(), "route": out.route}
        finally:
            await node.cleanup()
            await context.services.aclose()

    result: dict[str, Any] = asyncio.run(run())
    return result


_PROCESS_POOL: concurrent.futures.ProcessPoolExecutor | None = None


def _process_pool() -> concurrent.futures.ProcessPoolExecutor:
    global _PROCESS_POOL
    if _PROCESS_POOL is None:
        _PROCESS_POOL = concurrent.futures.ProcessPoolExecutor(max_workers=4)
        # Shut down before interpreter teardown, when the pool's own cleanup would fail.
        atexit.register(_PROCESS_POOL.shutdown, wait=True, cancel_futures=True)
    return _PROCESS_POOL


class BoundNode:
    """A node instance with its form; a form without templates is validated once."""

    def __init__(self, spec: NodeSpec, instance: Node[Any], pool: Pool | None = None) -> None:
        self.spec = spec
        self.node_id = spec.id
        self.instance = instance
        self.cls = type(instance)
        self.pool: Pool = pool or self.cls.pool
        self.form = dict(spec.data.form)
        self.exhausted = False
        """A producer said it is done: the loop's later iterations do not call it again."""
        self._produce_lock: asyncio.Lock | None = None
        self._static: BaseModel | None = None
        if not any(is_template(v) for v in self.form.values()):
            self._static = self._validate(self.form)

    @property
    def type_id(self) -> str:
        return self.cls.type_id

    def _validate(self, values: dict[str, Any]) -> BaseModel:
        try:
            return self.cls.config_model.model_validate(values)
        except ValidationError as exc:
            problems = [
                Problem(
                    str(e["msg"]),
                    self.node_id,
                    ".".join(str(p) for p in e["loc"]) or None,
                )
                for e in exc.errors()
            ]
            raise NodeConfigError(self.node_id, problems) from exc

    def config_for(self, data: dict[str, Any]) -> BaseModel:
        """The node's config for this input: templates rendered, then validated."""
        if self._static is not None:
            return self._static
        context = self.instance.context
        try:
            rendered = render_form(self.form, data, context.env, context.runtime)
        except TemplateRenderError as exc:
            problem = Problem(str(exc), self.node_id, exc.field)
            raise NodeConfigError(self.node_id, [problem]) from exc
        return self._validate(rendered)

    async def run(self, payload: Payload, pool: Pool | None = None) -> Payload:
        """Execute once; ``pool`` overrides the node's own (a flow's fork pool)."""
        config = self.config_for(payload.data)
        node = self.instance
        chosen = pool or self.pool
        if chosen == "async":
            out = await node.execute(payload, config)
        elif chosen == "thread":
            out = await asyncio.to_thread(_in_new_loop, lambda: node.execute(payload, config))
        else:
            out = await self._run_in_process(payload, config)
        if not isinstance(out, Payload):
            raise self._not_a_payload(out)
        if out.metadata is not payload.metadata:
            out.metadata = {**payload.metadata, **out.metadata}
        return out

    def _not_a_payload(self, value: object) -> TypeError:
        return TypeError(
            f"node {self.node_id!r} ({self.type_id}) returned {type(value).__name__}, not a Payload"
        )

    async def _run_in_process(self, payload: Payload, config: BaseModel) -> Payload:
        context = self.instance.context
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(
            _process_pool(),
            _execute_in_process,
            f"{self.cls.__module__}:{self.cls.__qualname__}",
            self.node_id,
            context.env,
            context.flow_config,
            context.services.describe(),
            payload.to_dict(),
            config.model_dump(),
        )
        out = Payload.from_dict(result)
        out.route = result.get("route")
        return out

    async def produce(self, payload: Payload, token: int = 0) -> Payload | None:
        """One call of the producer at a time, in order, even with iterations in flight."""
        node = self.instance
        assert isinstance(node, ProducerNode)
        if self._produce_lock is None:
            self._produce_lock = asyncio.Lock()
        async with self._produce_lock:
            if self.exhausted:
                return None
            out = await node.produce(payload, self.config_for(payload.data))
            if out is not None and not isinstance(out, Payload):
                raise self._not_a_payload(out)
            if out is None:
                self.exhausted = True
            else:
                node.claim(token)
            return out

    async def items(self, payload: Payload) -> list[Any]:
        node = self.instance
        assert isinstance(node, LoopNode)
        return await node.items(payload, self.config_for(payload.data))
