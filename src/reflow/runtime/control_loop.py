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
from collections.abc import Mapping, Sequence
from typing import Any

from reflow.engine import (
    Command,
    CommandCancelStep,
    CommandCancelTimer,
    CommandCompleteRun,
    CommandFailRun,
    CommandHaltRun,
    CommandIdleCheck,
    CommandPublish,
    CommandReply,
    CommandRunStep,
    CommandSchedule,
    RunState,
    TickAddEvent,
    TickCollect,
    TickIdleCheck,
    TickPublishEvent,
    TickStartRun,
    TickStepFailed,
    TickStepReturned,
    TickStepWaiting,
    TickTimerFired,
    WorkflowTick,
    reduce,
)
from reflow.events import Event, StartEvent, StopEvent
from reflow.runtime import listeners as _listeners
from reflow.runtime.types.plugin import InternalRunAdapter, WaitResultTick
from reflow.runtime.types.step_call import StepCall, StepWorkerFunction

_closing: set[asyncio.Task[None]] = set()
TRACE_LIMIT = 10_000


def _cancelled() -> BaseException:
    return asyncio.CancelledError("The step was cancelled from outside the run")


class RunDriver:
    """Drives one run: owns its state, its step tasks and its timers."""

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

    # -- RunServices ---------------------------------------------------------------------

    @property
    def run_id(self) -> str:
        return self._adapter.run_id

    @property
    def state(self) -> RunState:
        return self._state

    def now(self) -> float:
        return self._adapter.clock()

    def get_state_store(self) -> Any:
        return self._adapter.get_state_store()

    def is_replaying(self) -> bool:
        return self._adapter.is_replaying()

    def send_event(
        self,
        event: Event,
        step: str | None = None,
        *,
        delay: float | None = None,
        recovery_counts: Mapping[str, int] | None = None,
    ) -> None:
        tick = TickAddEvent(
            at=self.now(),
            event=event,
            step_name=step,
            delay=delay,
            recovery_counts=dict(recovery_counts or {}),
        )
        if threading.get_ident() == self._thread:
            self._defer(tick)
        else:
            self._loop.call_soon_threadsafe(self._defer, tick)

    def _defer(self, tick: WorkflowTick) -> None:
        """Events a step sends reach the run after its result, or soon if it keeps running.

        A step that returns delivers its sends right after its result tick (``_report``),
        the order the peer produces (the step's NOT_RUNNING notice before the sent event's
        effects); for a step that keeps running, two ``call_soon`` hops deliver them within
        two loop iterations.
        """
        if self._outgoing is None:
            self._outgoing = [tick]
        else:
            self._outgoing.append(tick)
        if not self._outgoing_scheduled:
            self._outgoing_scheduled = True
            self._loop.call_soon(
                self._loop.call_soon, self._flush_outgoing, context=self._context.copy()
            )

    def _flush_outgoing(self) -> None:
        self._outgoing_scheduled = False
        while self._outgoing:
            batch, self._outgoing = self._outgoing, None
            for tick in batch:
                self.submit(tick)

    def publish(self, event: Event) -> None:
        if not self._observes and threading.get_ident() == self._thread and not self._done.done():
            # Nobody journals ticks and publishing changes no state: skip the reducer.
            self._adapter.publish_nowait(event)
            return
        self.submit_threadsafe(TickPublishEvent(at=self.now(), event=event))

    def collect(
        self, step_name: str, buffer_id: str, event: Event, expected: Sequence[type[Event]]
    ) -> list[Event] | None:
        tick = TickCollect(self.now(), step_name, buffer_id, event, expected)
        if threading.get_ident() == self._thread:
            cmds = self.submit(tick)
        else:
            cmds = asyncio.run_coroutine_threadsafe(self._submit_async(tick), self._loop).result()
        reply: list[Event] | None = self._reply(cmds)
        return reply

    def wait_for(
        self,
        call: StepCall,
        *,
        waiter_id: str,
        slot: str,
        event_type: type[Event],
        requirements: dict[str, Any],
        waiter_event: Event | None,
        timeout: float | None,
    ) -> asyncio.Future[Event | None]:
        # A plain method returning the future, not a coroutine: a parked step then holds one
        # frame less (see ``RunServices.wait_for``).
        future: asyncio.Future[Event | None] = self._loop.create_future()
        if slot in call.resolved:
            future.set_result(call.resolved[slot])
            return future
        self._parked[call.attempt_id] = future
        self.submit(
            TickStepWaiting(
                self.now(),
                call.step_name,
                call.attempt_id,
                waiter_id,
                slot,
                event_type,
                requirements,
                waiter_event,
                timeout,
            )
        )
        return future

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
            if not self._done.done():
                self._done.set_exception(exc)
            raise
        finally:
            self._flushing = None

    @staticmethod
    def _reply(cmds: list[Command]) -> Any:
        for cmd in cmds:
            if isinstance(cmd, CommandReply):
                return cmd.value
        return None

    # -- commands ----------------------------------------------------------------------------

    def _execute(self, cmds: list[Command]) -> None:
        for cmd in cmds:
            kind = type(cmd)
            if kind is CommandPublish:
                assert isinstance(cmd, CommandPublish)
                notice = cmd.unbuilt_notice()
                if notice is None:
                    self._adapter.publish_nowait(cmd.event)
                else:
                    self._adapter.publish_notice_nowait(notice)
            elif kind is CommandRunStep:
                assert isinstance(cmd, CommandRunStep)
                self._run_step(cmd)
            elif kind is CommandSchedule:
                assert isinstance(cmd, CommandSchedule)
                self._arm(cmd.timer_id, cmd.due)
            elif kind is CommandCancelTimer:
                assert isinstance(cmd, CommandCancelTimer)
                handle = None if self._timers is None else self._timers.pop(cmd.timer_id, None)
                if handle is not None:
                    handle.cancel()
            elif kind is CommandCancelStep:
                assert isinstance(cmd, CommandCancelStep)
                self._cancel_attempt(cmd.attempt_id)
            elif kind is CommandIdleCheck:
                self._loop.call_soon(self._idle_check, context=self._context.copy())
            elif kind is CommandCompleteRun:
                assert isinstance(cmd, CommandCompleteRun)
                self._finish(cmd.result, None)
            elif isinstance(cmd, (CommandFailRun, CommandHaltRun)):
                self._finish(None, cmd.exception)

    def _run_step(self, cmd: CommandRunStep) -> None:
        parked = self._parked.pop(cmd.attempt_id, None)
        if parked is not None and cmd.resume_waiter is not None:
            if not parked.done():
                parked.set_result(cmd.resolved[cmd.resume_waiter])
            return
        call = StepCall(
            run=self,
            step_name=cmd.step_name,
            worker_id=cmd.worker_id,
            attempt_id=cmd.attempt_id,
            event=cmd.event,
            retry=cmd.retry,
            recovery_counts=cmd.recovery_counts,
            resolved=dict(cmd.resolved) if cmd.resolved else {},
            join=cmd.join,
        )
        # Every attempt starts from the run's own context, so context variables a step sets
        # never leak into the steps it triggers.
        if self._listener is None:
            task = self._context.run(self._loop.create_task, self._attempt(call))
        else:
            context = self._context.copy()
            context.run(self._listener.on_attempt, call)
            task = context.run(self._loop.create_task, self._attempt(call))
        self._tasks[cmd.attempt_id] = task

    async def _attempt(self, call: StepCall) -> None:
        """Run one attempt and report its outcome from inside its own task.

        Reporting here, not from a done callback, lets the next step start in the same loop
        iteration.  An attempt the reducer cancelled reports nothing.
        """
        step_name, attempt_id = call.step_name, call.attempt_id
        try:
            result = await self._steps[step_name](call)
        except asyncio.CancelledError:
            if self._tasks.pop(attempt_id, None) is not None:  # not cancelled by us
                self._report(TickStepFailed(self.now(), step_name, attempt_id, _cancelled()))
            raise
        except BaseException as error:
            if self._tasks.pop(attempt_id, None) is not None:
                self._report(TickStepFailed(self.now(), step_name, attempt_id, error))
            if not isinstance(error, Exception):
                raise
            return
        if self._tasks.pop(attempt_id, None) is not None:
            self._trace_result(step_name, attempt_id, type(call.event), result)
            self._report(TickStepReturned(self.now(), step_name, attempt_id, result))

    def _report(self, tick: WorkflowTick) -> None:
        self.submit(tick)
        self._flush_outgoing()

    def _record(
        self, record: tuple[type[Event], str | None, type[Event] | None, int | None]
    ) -> None:
        """Keep the last ``TRACE_LIMIT`` records for drawing the most recent execution."""
        trace = self.trace
        trace.append(record)
        if len(trace) > 2 * TRACE_LIMIT:
            del trace[:TRACE_LIMIT]

    def _trace_result(
        self, step_name: str, attempt_id: int, consumed: type[Event], result: Any
    ) -> None:
        produced = result if isinstance(result, list) else [result]
        for event in produced:
            kind = None if event is None else type(event)
            self._record((consumed, step_name, kind, attempt_id))

    def _cancel_attempt(self, attempt_id: int) -> None:
        self._parked.pop(attempt_id, None)
        task = self._tasks.pop(attempt_id, None)
        if task is not None:
            task.cancel()
            if self._cancelled is None:
                self._cancelled = set()
            self._cancelled.add(task)
            task.add_done_callback(self._cancelled.discard)

    def _arm(self, timer_id: int, due: float) -> None:
        delay = max(0.0, due - self.now())
        # In a copy of the run's own context, like the attempts and the journal flush: a timer
        # must not keep the context of the step whose tick armed it alive (a copy, because
        # the callback may itself enter the run's context to start an attempt).
        if self._timers is None:
            self._timers = {}
        self._timers[timer_id] = self._loop.call_later(
            delay, self._fire, timer_id, context=self._context.copy()
        )

    def _fire(self, timer_id: int) -> None:
        if self._timers is not None:
            self._timers.pop(timer_id, None)
        self.submit(TickTimerFired(self.now(), timer_id))

    def _idle_check(self) -> None:
        self.submit(TickIdleCheck(self.now()))

    def _finish(self, result: StopEvent | None, error: BaseException | None) -> None:
        if self._done.done():
            return
        if error is not None:
            self._done.set_exception(error)
        else:
            assert result is not None
            self._done.set_result(result)

    def _shutdown(self) -> list[asyncio.Task[Any]]:
        if self._timers is not None:
            for handle in self._timers.values():
                handle.cancel()
            self._timers = None
        pending: list[asyncio.Task[Any]] = list(self._tasks.values())
        if self._cancelled is not None:
            pending.extend(self._cancelled)
            self._cancelled = None
        for task in pending:
            task.cancel()
        self._tasks.clear()
        for future in self._parked.values():
            future.cancel()
        self._parked.clear()
        return [task for task in pending if not task.done()]
