"""The control loop: the imperative shell around the reducer.

``RunDriver`` stamps ticks with the adapter's clock, feeds them to ``reduce`` and executes the
commands it returns.  It touches the world only through the ``InternalRunAdapter`` and the
step functions it was given.  With an adapter that observes ticks (a journal), every tick is
handed to ``on_tick`` before any command it caused runs; without one, commands run in the same
call that reduced the tick, so an in-memory step costs one reducer call and one task.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Mapping
from typing import Any

from reflow.engine import (
    Command,
    RunState,
    TickAddEvent,
    TickStartRun,
    WorkflowTick,
    reduce,
)
from reflow.events import Event, StartEvent, StopEvent
from reflow.runtime import listeners as _listeners
from reflow.runtime._commands import CommandExecution
from reflow.runtime._step_services import StepServices
from reflow.runtime.types.plugin import InternalRunAdapter, WaitResultTick
from reflow.runtime.types.step_call import StepWorkerFunction

_closing: set[asyncio.Task[None]] = set()


class RunDriver(StepServices, CommandExecution):
    """Drives one run: owns its state, its step tasks and its timers.

    What a step may ask of its run is in ``StepServices`` (``_step_services.py``); how the
    reducer's commands are carried out is in ``CommandExecution`` (``_commands.py``).
    """

    # Slots: a run parked on wait_for_event should cost as little memory as possible.
    __slots__ = (
        "__weakref__",
        "_adapter",
        "_cancelled",
        "_context",
        "_done",
        "_flushing",
        "_journal",
        "_listener",
        "_loop",
        "_observes",
        "_outgoing",
        "_outgoing_scheduled",
        "_parked",
        "_puller",
        "_state",
        "_steps",
        "_tasks",
        "_thread",
        "_timers",
        "trace",
    )

    def __init__(
        self,
        state: RunState,
        adapter: InternalRunAdapter,
        steps: Mapping[str, StepWorkerFunction],
        *,
        workflow: Any = None,
    ) -> None:
        """``workflow`` (optional) is shown to run listeners, to name the run."""
        self._state = state
        self._adapter = adapter
        self._steps = steps
        self._loop = asyncio.get_running_loop()
        self._context = contextvars.copy_context()
        self._thread = threading.get_ident()
        self._tasks: dict[int, asyncio.Task[Event | list[Event] | None]] = {}
        # Made on first use (lists, not deques): a run parked on wait_for_event should be
        # small, and most runs never send an event, arm a timer, cancel or journal.
        self._outgoing: list[WorkflowTick] | None = None
        self._outgoing_scheduled = False
        self._cancelled: set[asyncio.Task[Any]] | None = None
        self._parked: dict[int, asyncio.Future[Event | None]] = {}
        self._timers: dict[int, asyncio.TimerHandle] | None = None
        self._done: asyncio.Future[StopEvent] = self._loop.create_future()
        self._journal: list[tuple[WorkflowTick, list[Command]]] | None = None
        self._flushing: asyncio.Task[None] | None = None
        self._puller: asyncio.Task[None] | None = None
        self._observes = adapter.observes_ticks
        # (event type, step, produced type, attempt) records for drawing the last execution.
        self.trace: list[tuple[type[Event], str | None, type[Event] | None, int | None]] = []
        # Observability (``runtime/listeners.py``): None, and free, unless a factory is registered.
        self._listener: _listeners.RunListener | None = None
        if _listeners.factories:
            self._listener = self._context.run(_listeners.listener_for, self, workflow)
            if self._listener is not None:
                self._done.add_done_callback(self._listener.on_done)

    # -- running ---------------------------------------------------------------------------

    async def run(self, start_event: StartEvent | None) -> StopEvent:
        """Start the run and wait for its end; re-raises the run's failure.

        Cancelled attempts get up to half a second to unwind before the adapter closes.
        """
        self._connect()
        try:
            self._start(start_event)
            return await self._done
        finally:
            if self._puller is not None:
                self._puller.cancel()
            pending = self._shutdown()
            if pending:
                await asyncio.wait(pending, timeout=0.5)
            await self._adapter.close()

    def start(self, start_event: StartEvent | None) -> asyncio.Future[StopEvent]:
        """Start the run without a task of its own and return its result future.

        The in-memory runtime uses this: the run lives in its step tasks and callbacks, and
        when the future resolves the remaining attempts and timers are cancelled.
        """
        self._connect()
        self._done.add_done_callback(self._after_done)
        self._start(start_event)
        return self._done

    def _connect(self) -> None:
        if not self._adapter.attach(self._deliver_external):
            self._puller = self._loop.create_task(self._pull())

    def _start(self, start_event: StartEvent | None) -> None:
        if start_event is not None:
            self._record((type(start_event), None, None, None))
        self.submit(TickStartRun(self.now(), start_event))

    def _after_done(self, _: asyncio.Future[StopEvent]) -> None:
        if self._puller is not None:
            self._puller.cancel()
        self._shutdown()
        if not self._done.cancelled():
            self._done.exception()  # the handler reports it; never "never retrieved"
        closing = self._loop.create_task(self._adapter.close())
        _closing.add(closing)
        closing.add_done_callback(_closing.discard)

    async def _pull(self) -> None:
        # Let already-started steps reach their first suspension (often a wait_for_event)
        # before an outside event is routed, so an answer sent right after run() finds its
        # waiter, as it does with the peer.
        await asyncio.sleep(0)
        while not self._done.done():
            received = await self._adapter.wait_receive()
            if isinstance(received, WaitResultTick):
                await asyncio.sleep(0)
                self._deliver_external(received.tick)

    def _deliver_external(self, tick: WorkflowTick) -> None:
        if isinstance(tick, TickAddEvent):
            self._record((type(tick.event), None, None, None))
        self.submit(tick)

    @property
    def has_pending_ticks(self) -> bool:
        """Whether ticks wait to be journaled, or sent events to be delivered."""
        return bool(self._journal) or self._flushing is not None or bool(self._outgoing)

    def abandon(self, reason: BaseException) -> None:
        """Stop driving the run in this process without a result; ``reason`` ends ``run()``.

        A durable runtime uses it when a run leaves the process (released while idle, or
        taken over by another process); the run continues wherever it is resumed.
        """
        if not self._done.done():
            self._done.set_exception(reason)

    def submit_threadsafe(self, tick: WorkflowTick) -> None:
        if threading.get_ident() == self._thread:
            self.submit(tick)
        else:
            self._loop.call_soon_threadsafe(self.submit, tick)

    async def _submit_async(self, tick: WorkflowTick) -> list[Command]:
        return self.submit(tick)

    def submit(self, tick: WorkflowTick) -> list[Command]:
        """Reduce ``tick`` now; run its commands now, or after ``on_tick`` when journaling."""
        if self._done.done():
            return []
        _, cmds = reduce(self._state, tick)
        if self._listener is not None:
            self._listener.on_tick(self._state, tick, cmds)
        if self._observes:
            if self._journal is None:
                self._journal = [(tick, cmds)]
            else:
                self._journal.append((tick, cmds))
            if self._flushing is None:
                # The run's own context, not the step's that submitted the tick: the timers
                # the flush arms must not keep a finished step's context alive.
                self._flushing = self._context.run(self._loop.create_task, self._flush())
        else:
            self._execute(cmds)
        return cmds

    async def _flush(self) -> None:
        try:
            while self._journal:
                batch, self._journal = self._journal, None
                if self._listener is None:
                    await self._adapter.on_tick_batch(batch)
                else:
                    started = time.perf_counter()
                    await self._adapter.on_tick_batch(batch)
                    self._listener.on_journal_write(len(batch), time.perf_counter() - started)
                for tick, cmds in batch:
                    self._execute(cmds)
                    await self._adapter.after_tick(tick)
        except BaseException as exc:  # a journal that cannot write must stop the run loudly
            if self._done.done() or not isinstance(exc, Exception):
                raise
            # The run's outcome carries it to whoever awaits the run; raised again here, it
            # would only reach asyncio's "Task exception was never retrieved".
            self._done.set_exception(exc)
        finally:
            self._flushing = None
