"""``BasicRuntime``: the default in-memory asyncio runtime."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncGenerator, Callable
from typing import TYPE_CHECKING, Any

from reflow.engine import RunState, StepNotice, WorkflowTick
from reflow.errors import WorkflowRuntimeError
from reflow.events import Event, StartEvent, StopEvent
from reflow.runtime._event_buffer import EventBuffer
from reflow.runtime.control_loop import RunDriver
from reflow.runtime.types.plugin import (
    ExternalRunAdapter,
    InternalRunAdapter,
    RegisteredWorkflow,
    Runtime,
    WaitResultTick,
    WaitResultTimeout,
)

if TYPE_CHECKING:
    from reflow.context.serializers import BaseSerializer
    from reflow.runtime.types.step_call import RunnableWorkflow


class _Run:
    """The in-memory channels of one run, shared by its two adapters."""

    __slots__ = (
        "__weakref__",
        "deliver",
        "driver",
        "inbox",
        "inbox_waiter",
        "run_id",
        "state_store",
        "stream",
        "task",
    )

    def __init__(self, run_id: str, state_store: Any) -> None:
        self.run_id = run_id
        self.state_store = state_store
        # Ticks sent before the loop attached, or for a loop that polls instead (made on
        # first use: the in-memory loop attaches at once, and waiting runs should be small).
        self.inbox: list[WorkflowTick] | None = None
        self.inbox_waiter: asyncio.Future[None] | None = None
        self.deliver: Callable[[WorkflowTick], None] | None = None
        self.stream = EventBuffer()
        # The run's result: the driver's own future, or a task when a semaphore gates it.
        self.task: asyncio.Future[StopEvent] | None = None
        self.driver: RunDriver | None = None

    def push(self, tick: WorkflowTick) -> None:
        deliver = self.deliver
        if deliver is None:
            if self.inbox is None:
                self.inbox = []
            self.inbox.append(tick)
            waiter = self.inbox_waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            return
        # Two loop iterations, as when polled: steps that just started reach their first
        # suspension (often a wait_for_event) before an outside event is routed.
        loop = asyncio.get_running_loop()
        loop.call_soon(loop.call_soon, deliver, tick)


class BasicInternalAdapter(InternalRunAdapter):
    def __init__(self, run: _Run) -> None:
        self._run = run

    @property
    def run_id(self) -> str:
        return self._run.run_id

    async def write_to_event_stream(self, event: Event) -> None:
        self._run.stream.put_nowait(event)

    def publish_nowait(self, event: Event) -> None:
        self._run.stream.put_nowait(event)

    def publish_notice_nowait(self, notice: StepNotice) -> None:
        self._run.stream.put_nowait(notice)

    async def get_now(self) -> float:
        return self.clock()

    async def send_event(self, tick: WorkflowTick) -> None:
        self._run.push(tick)

    def attach(self, deliver: Callable[[WorkflowTick], None]) -> bool:
        run = self._run
        run.deliver = deliver
        pending, run.inbox = run.inbox or (), None
        for tick in pending:
            run.push(tick)
        return True

    async def wait_receive(
        self, timeout_seconds: float | None = None
    ) -> WaitResultTick | WaitResultTimeout:
        """The loop uses ``attach`` instead; this serves callers of the ABC that poll."""
        run = self._run
        if not run.inbox:
            run.inbox_waiter = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait_for(run.inbox_waiter, timeout_seconds)
            except asyncio.TimeoutError:
                return WaitResultTimeout()
            finally:
                run.inbox_waiter = None
        assert run.inbox is not None
        return WaitResultTick(run.inbox.pop(0))

    def get_state_store(self) -> Any:
        return self._run.state_store


class BasicExternalAdapter(ExternalRunAdapter):
    def __init__(self, run: _Run) -> None:
        self._run = run

    @property
    def run_id(self) -> str:
        return self._run.run_id

    async def send_event(self, tick: WorkflowTick) -> None:
        self._run.push(tick)

    def send_event_nowait(self, tick: WorkflowTick) -> None:
        self._run.push(tick)

    async def stream_published_events(self) -> AsyncGenerator[Event, None]:
        stream = self._run.stream
        while True:
            if stream.empty():
                if self._run.task is not None and self._run.task.done():
                    return
                event = await stream.get()
            else:
                event = stream.get_nowait()
            yield event
            if isinstance(event, StopEvent):
                return

    async def get_result(self) -> StopEvent:
        assert self._run.task is not None
        return await asyncio.shield(self._run.task)

    def get_state_store(self) -> Any:
        return self._run.state_store

    def result_future(self) -> asyncio.Future[StopEvent] | None:
        return self._run.task

    def snapshot(self) -> RunState | None:
        driver = self._run.driver
        return None if driver is None else driver.state

    def is_done(self) -> bool:
        return self._run.task is not None and self._run.task.done()

    def execution_trace(self) -> list[tuple[Any, ...]]:
        driver = self._run.driver
        return [] if driver is None else list(driver.trace)

    @property
    def driver(self) -> RunDriver | None:
        return self._run.driver

    @property
    def is_running(self) -> bool:
        return not self.is_done()

    def get_result_or_none(self) -> StopEvent | None:
        task = self._run.task
        if task is None or not task.done() or task.cancelled() or task.exception():
            return None
        return task.result()

    def abort(self) -> None:
        if self._run.task is not None:
            self._run.task.cancel()


class BasicRuntime(Runtime):
    """In-memory asyncio runtime: nothing to launch, nothing survives the process."""

    def __init__(self) -> None:
        super().__init__()
        self._runs: weakref.WeakValueDictionary[str, _Run] = weakref.WeakValueDictionary()
        self._semaphores: weakref.WeakKeyDictionary[Any, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )
        self._launched = True

    @property
    def is_launched(self) -> bool:
        return True

    def register(self, workflow: RunnableWorkflow) -> RegisteredWorkflow:
        return RegisteredWorkflow(workflow=workflow, steps=workflow._step_workers())

    def run_workflow(
        self,
        run_id: str,
        workflow: RunnableWorkflow,
        init_state: RunState,
        start_event: Event | None = None,
        serialized_state: dict[str, Any] | None = None,
        serializer: BaseSerializer | None = None,
        *,
        state_store: Any = None,
        registered: RegisteredWorkflow | None = None,
    ) -> ExternalRunAdapter:
        existing = self._runs.get(run_id)
        if existing is not None and existing.task is not None and not existing.task.done():
            raise RuntimeError(f"Workflow run with run_id {run_id!r} already exists.")
        if start_event is not None and not isinstance(start_event, StartEvent):
            raise WorkflowRuntimeError(f"Expected a StartEvent, got {type(start_event).__name__}")
        registered = registered or self.get_or_register(workflow)
        run = _Run(run_id, state_store)
        limit = getattr(workflow, "_num_concurrent_runs", None)
        semaphore = None
        if limit is not None:
            semaphore = self._semaphores.get(workflow)
            if semaphore is None:
                semaphore = self._semaphores[workflow] = asyncio.Semaphore(limit)
        adapter = BasicInternalAdapter(run)
        start = start_event if isinstance(start_event, StartEvent) else None
        if semaphore is None:
            run.driver = RunDriver(init_state, adapter, registered.steps, workflow=workflow)
            run.task = run.driver.start(start)
        else:
            run.task = asyncio.get_running_loop().create_task(
                _drive(run, adapter, registered, init_state, start, semaphore, workflow)
            )
        self._runs[run_id] = run
        return BasicExternalAdapter(run)

    def get_internal_adapter(self, workflow: Any) -> InternalRunAdapter:
        raise WorkflowRuntimeError(
            "BasicRuntime hands the internal adapter to the control loop directly"
        )

    def get_external_adapter(self, run_id: str) -> ExternalRunAdapter:
        run = self._runs.get(run_id)
        if run is None:
            raise WorkflowRuntimeError(f"No run with id {run_id!r} in this runtime")
        return BasicExternalAdapter(run)


async def _drive(
    run: _Run,
    adapter: InternalRunAdapter,
    registered: RegisteredWorkflow,
    state: RunState,
    start: StartEvent | None,
    semaphore: asyncio.Semaphore,
    workflow: Any,
) -> StopEvent:
    async with semaphore:
        run.driver = RunDriver(state, adapter, registered.steps, workflow=workflow)
        return await run.driver.run(start)


basic_runtime = BasicRuntime()
