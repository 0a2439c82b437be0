"""Executing the reducer's commands: step attempts, publishing, timers and the run's end.

The ``CommandExecution`` half of ``RunDriver``.  An attempt runs in a task of its own and
reports its outcome from inside that task, so the next step starts in the same loop iteration.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from reflow.engine import (
    Command,
    CommandCancelStep,
    CommandCancelTimer,
    CommandCompleteRun,
    CommandFailRun,
    CommandHaltRun,
    CommandIdleCheck,
    CommandPublish,
    CommandRunStep,
    CommandSchedule,
    TickIdleCheck,
    TickStepFailed,
    TickStepReturned,
    TickTimerFired,
    WorkflowTick,
)
from reflow.events import Event, StopEvent
from reflow.runtime import listeners as _listeners
from reflow.runtime.types.plugin import InternalRunAdapter
from reflow.runtime.types.step_call import (
    NO_OUTCOMES,
    RunServices,
    StepCall,
    StepWorkerFunction,
)

TRACE_LIMIT = 10_000


def _cancelled() -> BaseException:
    return asyncio.CancelledError("The step was cancelled from outside the run")


class CommandExecution:
    """Mixed into ``RunDriver``, whose slots hold the attributes declared here."""

    if not TYPE_CHECKING:
        __slots__ = ()
    else:
        _adapter: InternalRunAdapter
        _steps: Mapping[str, StepWorkerFunction]
        _loop: asyncio.AbstractEventLoop
        _context: contextvars.Context
        _tasks: dict[int, asyncio.Task[Event | list[Event] | None]]
        _cancelled: set[asyncio.Task[Any]] | None
        _parked: dict[int, asyncio.Future[Event | None]]
        _timers: dict[int, asyncio.TimerHandle] | None
        _outgoing: list[WorkflowTick] | None
        _outgoing_scheduled: bool
        _done: asyncio.Future[StopEvent]
        _listener: _listeners.RunListener | None
        trace: list[tuple[type[Event], str | None, type[Event] | None, int | None]]

        submit: Callable[[WorkflowTick], list[Command]]
        now: Callable[[], float]
        _flush_outgoing: Callable[[], None]

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
        # Positional arguments (every step builds one): run, step_name, worker_id,
        # attempt_id, event, retry, recovery_counts, resolved (shared while empty:
        # ``wait_for_event`` replaces it rather than writing to it), join.
        call = StepCall(
            cast(RunServices, self),
            cmd.step_name,
            cmd.worker_id,
            cmd.attempt_id,
            cmd.event,
            cmd.retry,
            cmd.recovery_counts,
            dict(cmd.resolved) if cmd.resolved else NO_OUTCOMES,
            cmd.join,
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
        if self._outgoing or self._outgoing_scheduled:  # else flushing would do nothing
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
        if not isinstance(result, list):
            kind = None if result is None else type(result)
            self._record((consumed, step_name, kind, attempt_id))
            return
        for event in result:
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
