"""Forwarding bases for decorating a runtime and its adapters.

A subclass overrides only what it changes; everything else reaches the wrapped object.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from reflow.engine import Command, RunState, WorkflowTick
from reflow.events import Event, StopEvent
from reflow.runtime.types.plugin import (
    ExternalRunAdapter,
    InternalRunAdapter,
    RegisteredWorkflow,
    Runtime,
    WaitResultTick,
    WaitResultTimeout,
)


class BaseRuntimeDecorator(Runtime):
    def __init__(self, decorated: Runtime) -> None:
        super().__init__()
        self._decorated = decorated
        # Whether values must be serializable when stored follows the runtime that runs.
        self.persists_state = decorated.persists_state

    @property
    def decorated(self) -> Runtime:
        return self._decorated

    def register(self, workflow: Any) -> RegisteredWorkflow:
        return self._decorated.register(workflow)

    def run_workflow(self, *args: Any, **kwargs: Any) -> ExternalRunAdapter:
        # The decorator's own registration (its ``register`` may wrap the steps) is what runs.
        workflow: Any = kwargs.get("workflow", args[1] if len(args) > 1 else None)
        kwargs.setdefault("registered", self.get_or_register(workflow))
        return self._decorated.run_workflow(*args, **kwargs)

    def get_internal_adapter(self, workflow: Any) -> InternalRunAdapter:
        return self._decorated.get_internal_adapter(workflow)

    def get_external_adapter(self, run_id: str) -> ExternalRunAdapter:
        return self._decorated.get_external_adapter(run_id)

    def track_workflow(self, workflow: Any) -> None:
        self._decorated.track_workflow(workflow)

    def untrack_workflow(self, workflow: Any) -> None:
        self._decorated.untrack_workflow(workflow)

    @property
    def is_launched(self) -> bool:
        return self._decorated.is_launched

    async def launch(self) -> None:
        await self._decorated.launch()

    async def destroy(self) -> None:
        await self._decorated.destroy()

    @contextmanager
    def registering(self) -> Iterator[Runtime]:
        with self._decorated.registering(), super().registering():
            yield self


class BaseInternalRunAdapterDecorator(InternalRunAdapter):
    def __init__(self, decorated: InternalRunAdapter) -> None:
        self._decorated = decorated

    @property
    def run_id(self) -> str:
        return self._decorated.run_id

    async def write_to_event_stream(self, event: Event) -> None:
        await self._decorated.write_to_event_stream(event)

    def publish_nowait(self, event: Event) -> None:
        self._decorated.publish_nowait(event)

    async def get_now(self) -> float:
        return await self._decorated.get_now()

    def clock(self) -> float:
        return self._decorated.clock()

    async def send_event(self, tick: WorkflowTick) -> None:
        await self._decorated.send_event(tick)

    async def wait_receive(
        self, timeout_seconds: float | None = None
    ) -> WaitResultTick | WaitResultTimeout:
        return await self._decorated.wait_receive(timeout_seconds)

    async def close(self) -> None:
        await self._decorated.close()

    def get_state_store(self) -> Any:
        return self._decorated.get_state_store()

    async def finalize_step(self) -> None:
        await self._decorated.finalize_step()

    def is_replaying(self) -> bool:
        return self._decorated.is_replaying()

    async def on_tick(self, tick: WorkflowTick) -> None:
        await self._decorated.on_tick(tick)

    async def on_tick_batch(self, batch: Sequence[tuple[WorkflowTick, list[Command]]]) -> None:
        await self._decorated.on_tick_batch(batch)

    async def after_tick(self, tick: WorkflowTick) -> None:
        await self._decorated.after_tick(tick)

    @property
    def observes_ticks(self) -> bool:
        return self._decorated.observes_ticks


class BaseExternalRunAdapterDecorator(ExternalRunAdapter):
    def __init__(self, decorated: ExternalRunAdapter) -> None:
        self._decorated = decorated

    @property
    def run_id(self) -> str:
        return self._decorated.run_id

    async def send_event(self, tick: WorkflowTick) -> None:
        await self._decorated.send_event(tick)

    def send_event_nowait(self, tick: WorkflowTick) -> None:
        self._decorated.send_event_nowait(tick)

    def stream_published_events(self) -> AsyncGenerator[Event, None]:
        return self._decorated.stream_published_events()

    async def get_result(self) -> StopEvent:
        return await self._decorated.get_result()

    async def cancel(self) -> None:
        await self._decorated.cancel()

    async def close(self) -> None:
        await self._decorated.close()

    def get_state_store(self) -> Any:
        return self._decorated.get_state_store()

    def snapshot(self) -> RunState | None:
        return self._decorated.snapshot()

    def result_future(self) -> asyncio.Future[StopEvent] | None:
        return self._decorated.result_future()

    def is_done(self) -> bool:
        return self._decorated.is_done()

    def execution_trace(self) -> list[tuple[Any, ...]]:
        return self._decorated.execution_trace()

    def __getattr__(self, name: str) -> Any:
        # Optional capabilities (get_result_or_none, abort, ...) pass through untouched.
        return getattr(self._decorated, name)
