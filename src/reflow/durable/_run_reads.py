"""Reads of one run by id, for the server and other callers that hold a run id.

A mixin of :class:`~reflow.durable.DurableRuntime`: each method launches the runtime, then asks
the journal; a run id the journal does not hold raises ``UnknownRun``.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from reflow.durable._encoding import JournalCodec
from reflow.durable._errors import UnknownRun
from reflow.durable._info import STATUSES, RunInfo
from reflow.durable._inspect import EventTimes, StateAndStart, start_event_json
from reflow.durable._queries import Lookup
from reflow.durable._single import DeleteFinishedRun, row_outcome
from reflow.events import StartEvent, StopEvent

if TYPE_CHECKING:
    from reflow.durable._journal import Journal
    from reflow.durable._manager import RunManager
    from reflow.durable._queries import RunRow


class SingleRunReads:
    """``get_run``, ``wait_for_run``, ``run_outcome``, ``delete_run``, ``run_state``,
    ``run_start_event`` and ``event_times`` (see docs/serving.md)."""

    journal: Journal
    poll_interval: float
    _workflows: dict[str, Any]
    _manager: RunManager

    if TYPE_CHECKING:

        async def launch(self) -> None: ...

        def _codec(self, workflow: Any) -> JournalCodec: ...

    async def _row(self, run_id: str) -> RunRow:
        await self.launch()
        row = await self.journal.call(Lookup(run_id), write=False)
        if row is None:
            raise UnknownRun(f"No run with id {run_id!r} in {self.journal.path}")
        return row

    def _codec_named(self, workflow_name: str | None) -> JournalCodec:
        """The codec of the registered workflow of that name (a plain one when there is none)."""
        workflow = None if workflow_name is None else self._workflows.get(workflow_name)
        return self._codec(workflow) if workflow is not None else JournalCodec()

    async def get_run(self, run_id: str) -> RunInfo:
        """One run as ``list_runs`` reports it; ``UnknownRun`` if the journal has no such run."""
        return RunInfo.from_row(await self._row(run_id))

    async def wait_for_run(self, run_id: str, timeout: float) -> RunInfo:
        """``get_run`` once the run's first batch is in the journal (a run just started here).

        ``UnknownRun`` if it is not there within ``timeout`` seconds.
        """
        await self.launch()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            row = await self.journal.call(Lookup(run_id), write=False)
            if row is not None:
                return RunInfo.from_row(row)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise UnknownRun(f"Run {run_id!r} did not reach {self.journal.path} in {timeout}s")
            await self._manager.wait_for_change(run_id, min(remaining, self.poll_interval))

    async def run_outcome(self, run_id: str) -> StopEvent | BaseException | None:
        """A finished run's StopEvent, or the exception it ended with; None while it runs."""
        row = await self._row(run_id)
        return row_outcome(row, self._codec_named(row.workflow))

    async def delete_run(self, run_id: str) -> None:
        """Delete a finished run from the journal; ``ValueError`` for a run still going."""
        await self.launch()
        status = await self.journal.call(DeleteFinishedRun(run_id))
        if status is None:
            raise UnknownRun(f"No run with id {run_id!r} in {self.journal.path}")
        if status not in STATUSES[1:]:
            raise ValueError(f"Run {run_id!r} is {status}; cancel it before deleting it")

    async def _state_and_start(self, run_id: str) -> tuple[str | None, str | None]:
        await self.launch()
        found = await self.journal.call(StateAndStart(run_id), write=False)
        if found is None:
            raise UnknownRun(f"No run with id {run_id!r} in {self.journal.path}")
        return found

    async def run_state(self, run_id: str) -> dict[str, Any] | None:
        """The run's state store as last journaled (its ``to_dict`` form); None before a step
        first touched it."""
        store, _ = await self._state_and_start(run_id)
        value = None if store is None else json.loads(store)
        return value if isinstance(value, dict) else None

    async def run_start_event(self, run_id: str) -> StartEvent | None:
        """The event the run started with (for a run restored from a Context, the one its
        ``run`` call carried); None when its first tick holds none."""
        _, tick = await self._state_and_start(run_id)
        encoded = start_event_json(tick)
        if encoded is None:
            return None
        row = await self.journal.call(Lookup(run_id), write=False)
        codec = self._codec_named(None if row is None else row.workflow)
        event = codec.event_from_json(encoded)
        return event if isinstance(event, StartEvent) else None

    async def event_times(
        self, run_id: str, after: int = 0, limit: int = 1000
    ) -> list[tuple[int, float]]:
        """``(seq, unix time)`` of the run's events with ``seq > after``, oldest first."""
        await self.launch()
        return await self.journal.call(EventTimes(run_id, after, limit), write=False)
