"""What a process knows about runs beyond the ones it drives: results awaited, readers waiting.

Every handle on a run id shares one outcome future per process; it is settled by the run ending
here, or, for a run driven elsewhere or released, by the scan seeing it ended in the journal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Coroutine, Mapping
from typing import TYPE_CHECKING, Any

from reflow.durable._encoding import JournalCodec, loads, outcome_from_json
from reflow.durable._errors import JournalError, UnknownRun
from reflow.durable._journal import Journal
from reflow.durable._ops import FINISHED
from reflow.durable._queries import EventsPage, RunRow
from reflow.engine import RunState
from reflow.errors import WorkflowRuntimeError
from reflow.events import Event, StopEvent

if TYPE_CHECKING:
    from reflow.durable._seams import LiveRunView

logger = logging.getLogger("reflow.durable")


def retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


class Ending:
    """Holds the final state of a run that ended in this process, for its handles."""

    __slots__ = ("__weakref__", "state")

    def __init__(self) -> None:
        self.state: RunState | None = None


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class RunBook:
    """Outcome futures, watched runs, reader wake-ups, stores and background tasks."""

    journal: Journal
    live: Mapping[str, LiveRunView]

    def __init__(self) -> None:
        self.outcomes: dict[str, asyncio.Future[StopEvent]] = {}
        self.watched: dict[str, Any] = {}  # run id -> workflow, for outcomes settled elsewhere
        self.wanted: set[str] = set()  # runs this process asked for (claimed without auto-resume)
        self._signals: dict[str, list[asyncio.Future[None]]] = {}
        self._stores: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
        self._endings: weakref.WeakValueDictionary[str, Ending] = weakref.WeakValueDictionary()
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    async def cancel_tasks(self) -> None:
        """Stop the background work (loads, deliveries, releases) before the journal closes."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("reflow.durable background task failed", exc_info=task.exception())

    def ending(self, run_id: str) -> Ending:
        found = self._endings.get(run_id)
        if found is None:
            found = self._endings[run_id] = Ending()
        return found

    def outcome_future(self, run_id: str) -> asyncio.Future[StopEvent]:
        future = self.outcomes.get(run_id)
        if future is None:
            future = self.outcomes[run_id] = asyncio.get_running_loop().create_future()
            future.add_done_callback(retrieve)
        return future

    def settle(
        self, run_id: str, result: StopEvent | None = None, error: BaseException | None = None
    ) -> None:
        future = self.outcomes.pop(run_id, None)
        self.watched.pop(run_id, None)
        self.wanted.discard(run_id)
        if future is not None and not future.done():
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)  # type: ignore[arg-type]
        self.fire(run_id)

    def settle_from_row(self, row: RunRow, codec: JournalCodec) -> None:
        if row.outcome is None:
            self.settle(row.run_id, error=WorkflowRuntimeError(f"Run {row.run_id} has no result"))
            return
        try:
            outcome = outcome_from_json(codec, row.outcome)
        except Exception as exc:
            outcome = JournalError(f"Cannot read the result of run {row.run_id}: {exc}")
        if isinstance(outcome, StopEvent):
            self.settle(row.run_id, result=outcome)
        else:
            self.settle(row.run_id, error=outcome)

    def watch(self, run_id: str, workflow: Any) -> None:
        if run_id in self.outcomes:
            self.watched[run_id] = workflow

    def fire(self, run_id: str) -> None:
        for waiter in self._signals.pop(run_id, ()):
            if not waiter.done():
                waiter.set_result(None)

    def fire_all(self) -> None:
        """Wake every reader: after a gap in notifications, each reads once to catch up."""
        for run_id in list(self._signals):
            self.fire(run_id)

    async def wait_for_change(self, run_id: str, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._signals.setdefault(run_id, []).append(waiter)
        handle = loop.call_later(timeout, _wake, waiter)
        try:
            await waiter
        finally:
            handle.cancel()

    def remember_store(self, run_id: str, store: Any) -> None:
        if store is not None:
            # A store that cannot be weakly referenced is simply not reused.
            with contextlib.suppress(TypeError):
                self._stores[run_id] = store

    async def read_events(
        self, run_id: str, after: int, codec: JournalCodec
    ) -> tuple[list[tuple[int, Event]], bool]:
        """Events with ``seq > after`` available now, and whether the stream is complete."""
        live = self.live.get(run_id)
        if live is not None and after + 1 >= live.events_base:
            start = after + 1 - live.events_base
            return [(after + 1 + i, e) for i, e in enumerate(live.events[start:])], False
        rows, status = await self.journal.call(EventsPage(run_id, after), write=False)
        if status is None:
            raise UnknownRun(f"No run with id {run_id!r} in the journal")
        items = [(seq, codec.event_from_json(loads(body))) for seq, body in rows]
        return items, not rows and status in FINISHED
