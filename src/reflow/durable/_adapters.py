"""The durable runtime's two adapters.

The internal adapter connects a ``LiveRun``'s driver to the journal (``on_tick_batch``).  The
external adapter is a handle on a run *id*, not on a run object: the run may be driven by this
process, released from memory while it waits, or driven by another process, and the handle
works the same in each case (results and events come from memory or from the journal).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import TYPE_CHECKING, Any

from reflow.engine import Command, RunState, TickCancelRun, WorkflowTick
from reflow.events import Event, StopEvent
from reflow.runtime.types.plugin import (
    ExternalRunAdapter,
    InternalRunAdapter,
    WaitResultTick,
    WaitResultTimeout,
)

if TYPE_CHECKING:
    from reflow.durable._encoding import JournalCodec
    from reflow.durable._seams import LiveRunView, RuntimeView


class DurableInternalAdapter(InternalRunAdapter):
    """The driver's side: ticks go to the journal before their commands run."""

    def __init__(self, live: LiveRunView) -> None:
        self._live = live

    @property
    def run_id(self) -> str:
        return self._live.run_id

    @property
    def observes_ticks(self) -> bool:
        return True

    async def on_tick_batch(self, batch: Sequence[tuple[WorkflowTick, list[Command]]]) -> None:
        await self._live.journal_batch(batch)

    async def write_to_event_stream(self, event: Event) -> None:
        """Events reach readers when the tick that published them is committed."""

    def publish_nowait(self, event: Event) -> None:
        """See ``write_to_event_stream``."""

    async def get_now(self) -> float:
        return time.time()

    async def send_event(self, tick: WorkflowTick) -> None:
        self._live.push(tick)

    def attach(self, deliver: Callable[[WorkflowTick], None]) -> bool:
        self._live.deliver = deliver
        self._live.schedule_pending()
        return True

    async def after_tick(self, tick: WorkflowTick) -> None:
        live = self._live
        if live.pending:
            # Runs while the batch's flush still counts as pending: schedule past it.
            loop = asyncio.get_running_loop()
            loop.call_soon(live.schedule_pending, True)

    async def wait_receive(
        self, timeout_seconds: float | None = None
    ) -> WaitResultTick | WaitResultTimeout:
        """Not used: ticks are pushed through ``attach``."""
        await asyncio.sleep(timeout_seconds or 0)
        return WaitResultTimeout()

    def get_state_store(self) -> Any:
        return self._live.step_store


class DurableExternalAdapter(ExternalRunAdapter):
    """A handle on one run id, wherever the run currently lives."""

    def __init__(self, runtime: RuntimeView, run_id: str, workflow: Any) -> None:
        self._runtime = runtime
        self._run_id = run_id
        self.workflow = workflow
        self.codec: JournalCodec = runtime._codec(workflow)
        self._outcome = runtime._outcome_future(run_id)
        self._cursor = 0
        # Where a run that ends in this process leaves its final state (for ``to_dict``).
        self._ending = runtime._manager.ending(run_id)

    @property
    def run_id(self) -> str:
        return self._run_id

    def _live(self) -> LiveRunView | None:
        return self._runtime._live.get(self._run_id)

    async def send_event(self, tick: WorkflowTick) -> None:
        await self._runtime._deliver(self._run_id, tick, self.codec)

    def send_event_nowait(self, tick: WorkflowTick) -> None:
        self._runtime._deliver_nowait(self._run_id, tick, self.codec)

    async def cancel(self) -> None:
        await self.send_event(TickCancelRun(at=time.time()))

    async def stream_published_events(self) -> AsyncGenerator[Event, None]:
        """The run's published events from this handle's position on, each exactly once.

        Ends after the first StopEvent (every run that ends publishes one), or once the run
        has ended and every stored event was read.
        """
        runtime = self._runtime
        while True:
            items, complete = await runtime._read_events(self._run_id, self._cursor, self.codec)
            for seq, event in items:
                self._cursor = seq
                yield event
                if isinstance(event, StopEvent):
                    return
            if complete or (not items and self._outcome.done() and self._live() is None):
                if not items:
                    return
                continue
            if not items:
                await runtime._wait_for_change(self._run_id)

    async def get_result(self) -> StopEvent:
        return await asyncio.shield(self._outcome)

    def get_state_store(self) -> Any:
        live = self._live()
        return None if live is None else live.store

    def snapshot(self) -> RunState | None:
        """The run's state while this process drives it, or its final state if it ended here."""
        live = self._live()
        return self._ending.state if live is None else live.driver.state

    def is_done(self) -> bool:
        return self._outcome.done()

    @property
    def is_running(self) -> bool:
        return not self.is_done()

    def get_result_or_none(self) -> StopEvent | None:
        future = self._outcome
        if not future.done() or future.cancelled() or future.exception() is not None:
            return None
        return future.result()

    def execution_trace(self) -> list[tuple[Any, ...]]:
        live = self._live()
        return [] if live is None else list(live.driver.trace)
