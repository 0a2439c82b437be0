"""What a running step may ask of its run: the ``RunServices`` half of ``RunDriver``.

``ctx.send_event``, ``write_event_to_stream``, ``collect_events`` and ``wait_for_event`` reach
the run through these methods; each turns into a tick for the driver's ``submit``.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from reflow.engine import (
    Command,
    CommandReply,
    RunState,
    TickAddEvent,
    TickCollect,
    TickPublishEvent,
    TickStepWaiting,
    WorkflowTick,
)
from reflow.events import Event, StopEvent
from reflow.runtime.types.plugin import InternalRunAdapter
from reflow.runtime.types.step_call import StepCall


class StepServices:
    """Mixed into ``RunDriver``, whose slots hold the attributes declared here."""

    if not TYPE_CHECKING:
        __slots__ = ()
    else:
        _adapter: InternalRunAdapter
        _state: RunState
        _loop: asyncio.AbstractEventLoop
        _context: contextvars.Context
        _thread: int
        _outgoing: list[WorkflowTick] | None
        _outgoing_scheduled: bool
        _observes: bool
        _done: asyncio.Future[StopEvent]
        _parked: dict[int, asyncio.Future[Event | None]]

        submit: Callable[[WorkflowTick], list[Command]]
        submit_threadsafe: Callable[[WorkflowTick], None]

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

    async def _submit_async(self, tick: WorkflowTick) -> list[Command]:
        return self.submit(tick)

    @staticmethod
    def _reply(cmds: list[Command]) -> Any:
        for cmd in cmds:
            if isinstance(cmd, CommandReply):
                return cmd.value
        return None
