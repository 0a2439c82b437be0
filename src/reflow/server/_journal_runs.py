"""Runs on a ``DurableRuntime``: the journal is the only record (handlers, events, results).

A handler id is the run id.  Journal sequences start at 1, the wire's at 0: wire = journal - 1.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from reflow.client.protocol import EventEnvelopeWithMetadata, HandlerData, Status
from reflow.durable import DurableRuntime, RunInfo, UnknownRun
from reflow.events import Event, StartEvent, StopEvent
from reflow.server._runs import (
    HandlerConflict,
    HandlerNotFound,
    NotKept,
    Runs,
    iso,
    iso_from_unix,
)

_STATUS: dict[str, Status] = {
    "running": "running",
    "completed": "completed",
    "failed": "failed",
    "timed_out": "failed",
    "cancelled": "cancelled",
}
_OUTCOME_CACHE = 4096
_ENVELOPE_CACHE = 4096
_START_WAIT = 10.0  # seconds a new run may take to reach the journal before start() gives up


def handler_data(info: RunInfo, outcome: StopEvent | BaseException | None) -> HandlerData:
    status = _STATUS.get(info.status, "failed")
    result = error = None
    if isinstance(outcome, StopEvent):
        result = EventEnvelopeWithMetadata.from_event(outcome)
    elif outcome is not None and status == "failed":
        error = str(outcome) or type(outcome).__name__
    return HandlerData(
        handler_id=info.run_id,
        workflow_name=info.workflow,
        run_id=info.run_id,
        status=status,
        started_at=info.created_at.isoformat(),
        updated_at=iso(info.updated_at),
        completed_at=iso(info.finished_at),
        error=error,
        result=result,
    )


class JournalRuns(Runs):
    def __init__(self, runtime: DurableRuntime) -> None:
        self.runtime = runtime
        # A finished run's outcome never changes: decode it once (the newest few thousand).
        self._outcomes: OrderedDict[str, StopEvent | BaseException] = OrderedDict()
        self._envelopes: OrderedDict[tuple[str, int], EventEnvelopeWithMetadata] = OrderedDict()

    async def _outcome(self, info: RunInfo) -> StopEvent | BaseException | None:
        if info.finished_at is None:
            return None
        outcome = self._outcomes.get(info.run_id)
        if outcome is None:
            outcome = await self.runtime.run_outcome(info.run_id)
            if outcome is None:
                return None
            self._outcomes[info.run_id] = outcome
            if len(self._outcomes) > _OUTCOME_CACHE:
                self._outcomes.popitem(last=False)
        return outcome

    async def open(self) -> None:
        await self.runtime.launch()

    async def close(self) -> None:
        await self.runtime.destroy()

    def adopt(self, workflow: Any) -> None:
        if workflow.runtime is not self.runtime:
            workflow._switch_runtime(self.runtime)

    def _envelope(self, run_id: str, seq: int, event: Event) -> EventEnvelopeWithMetadata:
        """One envelope object per stored event while it is recent, shared by every reader."""
        key = (run_id, seq)
        envelope = self._envelopes.get(key)
        if envelope is None:
            envelope = self._envelopes[key] = EventEnvelopeWithMetadata.from_event(event)
            if len(self._envelopes) > _ENVELOPE_CACHE:
                self._envelopes.popitem(last=False)
        return envelope

    async def _info(self, handler_id: str) -> RunInfo:
        try:
            return await self.runtime.get_run(handler_id)
        except UnknownRun:
            raise HandlerNotFound(handler_id) from None

    async def start(
        self,
        name: str,
        workflow: Any,
        start_event: StartEvent,
        handler_id: str | None,
        ctx: Any = None,
    ) -> HandlerData:
        run_id = await self.fresh_id(handler_id)
        workflow.run(ctx=ctx, start_event=start_event, run_id=run_id)
        info = await self.runtime.wait_for_run(run_id, _START_WAIT)
        # As the peer: the answer describes the run as it started, even a quick one.
        return handler_data(replace(info, status="running", finished_at=None), None)

    async def wait(self, handler_id: str) -> HandlerData:
        await self._info(handler_id)
        with contextlib.suppress(Exception):  # the outcome is read back from the journal below
            await self.runtime.get_handler(handler_id)
        data = await self.get(handler_id)
        for _ in range(200):  # the outcome may settle a moment before the row says so
            if data.status != "running":
                break
            await asyncio.sleep(0.01)
            data = await self.get(handler_id)
        return data

    async def get(self, handler_id: str) -> HandlerData:
        info = await self._info(handler_id)
        return handler_data(info, await self._outcome(info))

    async def list(
        self,
        statuses: list[Status] | None,
        workflow_names: list[str] | None,
        limit: int | None = None,
        offset: int = 0,
        id_prefix: str | None = None,
    ) -> list[HandlerData]:
        journal_statuses = None
        if statuses is not None:
            journal_statuses = [s for s, wire in _STATUS.items() if wire in statuses]
            if not journal_statuses:
                return []
        if workflow_names is not None and not workflow_names:
            return []
        found = await self.runtime.list_runs(
            journal_statuses, workflow_names, limit=limit, offset=offset, id_prefix=id_prefix
        )
        return [handler_data(info, await self._outcome(info)) for info in found]

    async def last_sequence(self, handler_id: str) -> int:
        return (await self._info(handler_id)).events - 1

    async def events(
        self, handler_id: str, after: int
    ) -> AsyncIterator[tuple[int, EventEnvelopeWithMetadata]]:
        try:
            async for stored in self.runtime.stream_events(handler_id, after=after + 1):
                yield stored.seq - 1, self._envelope(handler_id, stored.seq, stored.event)
        except UnknownRun:
            raise HandlerNotFound(handler_id) from None

    async def _running(self, handler_id: str) -> None:
        info = await self._info(handler_id)
        if info.status != "running":
            raise HandlerConflict(f"handler {handler_id!r} has already finished ({info.status})")

    async def send(self, handler_id: str, event: Event, step: str | None) -> None:
        await self._running(handler_id)
        await self.runtime.send_event(handler_id, event, step)

    async def cancel(self, handler_id: str) -> None:
        await self._running(handler_id)
        await self.runtime.cancel_run(handler_id)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.wait(handler_id), _START_WAIT)

    async def purge(self, handler_id: str) -> None:
        info = await self._info(handler_id)
        if info.status == "running":
            await self.cancel(handler_id)
        await self.runtime.delete_run(handler_id)
        self._outcomes.pop(handler_id, None)

    def _look(self, method: str, what: str) -> Any:
        """A read-only look of the runtime; a runtime without it (DBOSRuntime) keeps no such
        record for the server."""
        look = getattr(self.runtime, method, None)
        if look is None:
            kind = type(self.runtime).__name__
            raise NotKept(f"the {what} of a run is not kept by {kind}")
        return look

    async def state(self, handler_id: str) -> dict[str, Any]:
        await self._info(handler_id)
        try:
            state: dict[str, Any] | None = await self._look("run_state", "state")(handler_id)
        except UnknownRun:
            raise HandlerNotFound(handler_id) from None
        if state is None:
            raise NotKept(f"handler {handler_id!r} has no stored state yet (no step used it)")
        return state

    async def start_event(self, handler_id: str) -> StartEvent:
        await self._info(handler_id)
        try:
            event: StartEvent | None = await self._look("run_start_event", "start event")(
                handler_id
            )
        except UnknownRun:
            raise HandlerNotFound(handler_id) from None
        if event is None:
            raise NotKept(f"the journal holds no start event for handler {handler_id!r}")
        return event

    async def event_times(self, handler_id: str, after: int, limit: int) -> dict[int, str]:
        # Wire sequences are journal sequences minus one.
        event_times = getattr(self.runtime, "event_times", None)
        if event_times is None:
            return {}
        found = await event_times(handler_id, after + 1, limit)
        return {seq - 1: iso_from_unix(at) for seq, at in found}
