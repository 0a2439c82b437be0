"""The runtime plugin interface: ``Runtime`` and its two adapters.

Each run has two adapters sharing a ``run_id``.  The control loop talks to the world only
through the ``InternalRunAdapter``; handlers, contexts and servers talk to the run only through
the ``ExternalRunAdapter``.  Runtimes compose by decoration (``runtime_decorators``).
"""

from __future__ import annotations

import asyncio
import contextvars
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reflow.engine import Command, RunState, StepNotice, TickCancelRun, WorkflowTick, notice_event
from reflow.events import Event, StopEvent
from reflow.runtime.types.step_call import StepWorkerFunction

if TYPE_CHECKING:
    from reflow.context.serializers import BaseSerializer
    from reflow.runtime.types._plugin_extras import (
        ControlLoopFunction,
        NamedTask,
        PendingStart,
        PullTask,
        SnapshottableAdapter,
        V2RuntimeCompatibilityShim,
        WaitForNextTaskResult,
        WorkerTask,
        WorkflowRunFunction,
        WorkflowSet,
        as_v2_runtime_compatibility_shim,
    )
    from reflow.runtime.types.step_call import RunnableWorkflow


@dataclass(frozen=True, slots=True)
class WaitResultTick:
    tick: WorkflowTick


@dataclass(frozen=True, slots=True)
class WaitResultTimeout:
    pass


@dataclass(slots=True)
class RegisteredWorkflow:
    workflow: Any
    steps: Mapping[str, StepWorkerFunction] = field(default_factory=dict)


class InternalRunAdapter(ABC):
    """The loop's side of a run."""

    @property
    @abstractmethod
    def run_id(self) -> str: ...

    @abstractmethod
    async def write_to_event_stream(self, event: Event) -> None:
        """Publish ``event`` to observers of the run."""

    @abstractmethod
    async def get_now(self) -> float:
        """The current time in epoch seconds."""

    @abstractmethod
    async def send_event(self, tick: WorkflowTick) -> None:
        """Put a tick into the run's own mailbox."""

    @abstractmethod
    async def wait_receive(
        self, timeout_seconds: float | None = None
    ) -> WaitResultTick | WaitResultTimeout:
        """Wait for the next tick sent from outside the loop."""

    async def close(self) -> None:
        """Wake blocked receivers when the run ends."""

    def get_state_store(self) -> Any:
        return None

    async def finalize_step(self) -> None:
        """Hook called after a step attempt and its background work finish."""

    def is_replaying(self) -> bool:
        return False

    async def on_tick(self, tick: WorkflowTick) -> None:
        """Called for every tick before its commands run (only if ``observes_ticks``)."""

    async def on_tick_batch(self, batch: Sequence[tuple[WorkflowTick, list[Command]]]) -> None:
        """The ticks reduced since the last call, with their commands, before any of those
        commands runs (only if ``observes_ticks``).

        A journal writes the whole batch in one transaction.  It may empty a tick's command
        list to keep its commands from running (the run is leaving this process).  The default
        calls ``on_tick`` for each tick.
        """
        for tick, _ in batch:
            await self.on_tick(tick)

    async def after_tick(self, tick: WorkflowTick) -> None:
        """Called after the commands of a non-terminal tick ran (only if ``observes_ticks``)."""

    # reflow additions -------------------------------------------------------------------

    @property
    def observes_ticks(self) -> bool:
        """Whether ``on_tick`` must be awaited before a tick's commands run (journaling).

        When False the loop executes commands in the same call that reduced the tick, which
        is the fast path of the in-memory runtime.
        """
        return False

    def attach(self, deliver: Callable[[WorkflowTick], None]) -> bool:
        """Push ticks sent from outside to ``deliver`` instead of being polled.

        Return True if this adapter pushes; the default (False) makes the loop poll
        ``wait_receive`` from a task of its own.
        """
        return False

    def clock(self) -> float:
        """Synchronous clock used to stamp ticks (epoch seconds)."""
        return time.time()

    def publish_notice_nowait(self, notice: StepNotice) -> None:
        """Publish a ``StepStateChanged`` notice given as data (``reflow.engine.StepNotice``).

        The default builds the event and calls ``publish_nowait``; an adapter that keeps its
        stream in memory may store the notice as it is and build the event when it is read.
        """
        self.publish_nowait(notice_event(notice))

    def publish_nowait(self, event: Event) -> None:
        """Publish without awaiting, in order.

        The default hands events to ``write_to_event_stream`` from one writer task that
        exists only while events are pending; adapters that can publish synchronously
        override this.
        """
        pending = _pending_writes.get(self)
        if pending is not None:
            pending.append(event)
            return
        _pending_writes[self] = [event]
        writer = asyncio.get_running_loop().create_task(_drain_writes(self))
        _writers.add(writer)
        writer.add_done_callback(_writers.discard)


_pending_writes: weakref.WeakKeyDictionary[InternalRunAdapter, list[Event]] = (
    weakref.WeakKeyDictionary()
)
_writers: set[asyncio.Task[None]] = set()


async def _drain_writes(adapter: InternalRunAdapter) -> None:
    try:
        while True:
            pending = _pending_writes[adapter]
            if not pending:
                return
            await adapter.write_to_event_stream(pending.pop(0))
    finally:
        _pending_writes.pop(adapter, None)


class ExternalRunAdapter(ABC):
    """The handler's side of a run."""

    @property
    @abstractmethod
    def run_id(self) -> str: ...

    @abstractmethod
    async def send_event(self, tick: WorkflowTick) -> None: ...

    @abstractmethod
    def stream_published_events(self) -> AsyncGenerator[Event, None]: ...

    @abstractmethod
    async def get_result(self) -> StopEvent:
        """The final StopEvent; raises the run's exception if it failed or was cancelled."""

    async def cancel(self) -> None:
        await self.send_event(TickCancelRun(at=time.time()))

    async def close(self) -> None:
        """Release resources held for this handle."""

    def get_state_store(self) -> Any:
        return None

    # reflow additions -------------------------------------------------------------------

    def send_event_nowait(self, tick: WorkflowTick) -> None:
        """Fire-and-forget ``send_event``; the task is kept referenced until it finishes."""
        task = asyncio.get_running_loop().create_task(self.send_event(tick))
        _sending.add(task)
        task.add_done_callback(_sending.discard)

    def result_future(self) -> asyncio.Future[StopEvent] | None:
        """The run's own result future, if it lives in this process (saves a task per run)."""
        return None

    def snapshot(self) -> RunState | None:
        """A copy of the run's current state, if this runtime can provide one."""
        return None

    def is_done(self) -> bool:
        return False

    def execution_trace(self) -> list[tuple[Any, ...]]:
        """(event, step, produced, attempt) records of the run, oldest first, if kept."""
        return []


_sending: set[asyncio.Task[None]] = set()

_current_runtime: contextvars.ContextVar[Runtime | None] = contextvars.ContextVar(
    "reflow_current_runtime", default=None
)


class Runtime(ABC):
    """Runs workflows.  ``BasicRuntime`` (in-memory asyncio) is the default."""

    # True for a runtime that serializes the run's state store as the run goes (a durable
    # one): a stored value it cannot serialize is refused when written, not kept by reference.
    persists_state: bool = False

    def __init__(self) -> None:
        self._tracked: weakref.WeakSet[Any] = weakref.WeakSet()
        self._launched = False

    @abstractmethod
    def register(self, workflow: RunnableWorkflow) -> RegisteredWorkflow: ...

    @abstractmethod
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
        """Start a run and return its external adapter at once.

        reflow passes the run's ``state_store`` (built by the workflow) and, from a runtime
        decorator, the decorator's own ``registered`` step functions.
        """

    @abstractmethod
    def get_internal_adapter(self, workflow: Any) -> InternalRunAdapter: ...

    @abstractmethod
    def get_external_adapter(self, run_id: str) -> ExternalRunAdapter: ...

    def get_registered(self, workflow: Any) -> RegisteredWorkflow | None:
        return _registrations(workflow).get(self)

    def get_or_register(self, workflow: RunnableWorkflow) -> RegisteredWorkflow:
        registrations = _registrations(workflow)
        found = registrations.get(self)
        if found is None:
            found = registrations[self] = self.register(workflow)
        return found

    def track_workflow(self, workflow: Any) -> None:
        self._tracked.add(workflow)

    def untrack_workflow(self, workflow: Any) -> None:
        self._tracked.discard(workflow)

    @property
    def is_launched(self) -> bool:
        return self._launched

    async def launch(self) -> None:
        """Register every tracked workflow and lock its runtime."""
        for workflow in list(self._tracked):
            self.get_or_register(workflow)
            lock = getattr(workflow, "_lock_runtime", None)
            if callable(lock):
                lock()
        self._launched = True

    async def destroy(self) -> None:
        self._launched = False

    def launch_sync(self) -> None:
        asyncio.run(self.launch())

    def destroy_sync(self) -> None:
        asyncio.run(self.destroy())

    @contextmanager
    def registering(self) -> Iterator[Runtime]:
        """Workflows constructed inside the block adopt this runtime."""
        token = _current_runtime.set(self)
        try:
            yield self
        finally:
            _current_runtime.reset(token)


def _registrations(workflow: Any) -> weakref.WeakKeyDictionary[Runtime, RegisteredWorkflow]:
    """Registrations live on the workflow, so they never keep a finished workflow alive."""
    found: weakref.WeakKeyDictionary[Runtime, RegisteredWorkflow] | None = getattr(
        workflow, "_reflow_registrations", None
    )
    if found is None:
        found = weakref.WeakKeyDictionary()
        workflow._reflow_registrations = found
    return found


def current_runtime() -> Runtime | None:
    return _current_runtime.get()


def as_snapshottable_adapter(adapter: ExternalRunAdapter) -> ExternalRunAdapter | None:
    return adapter if adapter.snapshot() is not None else None


WaitResult = WaitResultTick | WaitResultTimeout

__all__ = [
    "ControlLoopFunction",
    "ExternalRunAdapter",
    "InternalRunAdapter",
    "NamedTask",
    "PendingStart",
    "PullTask",
    "RegisteredWorkflow",
    "Runtime",
    "SnapshottableAdapter",
    "V2RuntimeCompatibilityShim",
    "WaitForNextTaskResult",
    "WaitResult",
    "WaitResultTick",
    "WaitResultTimeout",
    "WorkerTask",
    "WorkflowRunFunction",
    "WorkflowSet",
    "as_snapshottable_adapter",
    "as_v2_runtime_compatibility_shim",
    "current_runtime",
]

# The peer's names for custom runtimes, loaded on first use: ``import reflow`` never needs them.
_EXTRAS = frozenset(
    {
        "ControlLoopFunction",
        "NamedTask",
        "PendingStart",
        "PullTask",
        "SnapshottableAdapter",
        "V2RuntimeCompatibilityShim",
        "WaitForNextTaskResult",
        "WorkerTask",
        "WorkflowRunFunction",
        "WorkflowSet",
        "as_v2_runtime_compatibility_shim",
    }
)


def __getattr__(name: str) -> Any:
    if name in _EXTRAS:
        from reflow.runtime.types import _plugin_extras

        value = getattr(_plugin_extras, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
