"""``SqliteWorkflowStore``: the durable journal seen through the peer's store interface.

It is the file a ``DurableRuntime`` opens (``reflow runs list --db PATH`` shows the server's
runs).  The runtime writes runs, ticks and events itself, inside its own transactions; this
store reads them and can delete finished handlers, and refuses the peer's row-level writes,
which would put a second writer beside the journal.
"""

from __future__ import annotations

import os
from typing import Any

from reflow.client.protocol import EventEnvelopeWithMetadata
from reflow.durable import DurableRuntime, UnknownRun
from reflow.events import StopEvent
from reflow.server._store import (
    AbstractWorkflowStore,
    HandlerQuery,
    PersistentHandler,
    StoredEvent,
    StoredTick,
)

_JOURNAL_WRITES = (
    "SqliteWorkflowStore is reflow's durable journal: its DurableRuntime writes runs, ticks and "
    "events; {what} is not available"
)


class SqliteWorkflowStore(AbstractWorkflowStore):
    """Handlers and events from the durable journal at ``db_path`` (created if missing).

    ``poll_interval`` paces how often the runtime looks for work from other processes sharing
    the file (events sent from the CLI, runs whose process died); streams of runs driven here
    wake on each commit.  ``auto_migrate`` and ``single_connection`` are accepted for
    compatibility: the journal always migrates and keeps one connection on its own thread.
    Extra keyword arguments go to ``DurableRuntime``.
    """

    def __init__(
        self,
        db_path: str | os.PathLike[str],
        poll_interval: float = 0.1,
        auto_migrate: bool = True,
        single_connection: bool = False,
        **runtime_options: Any,
    ) -> None:
        self.db_path = os.fspath(db_path)
        self.poll_interval = poll_interval
        self.runtime = DurableRuntime(db_path, poll_interval=poll_interval, **runtime_options)

    async def query(self, query: HandlerQuery) -> list[PersistentHandler]:
        from reflow.server._journal_runs import JournalRuns

        runs = JournalRuns(self.runtime)
        if query.handler_id_in is not None or query.run_id_in is not None:
            ids = set(query.handler_id_in or []) | set(query.run_id_in or [])
            found = []
            for run_id in sorted(ids):
                try:
                    found.append(await runs.get(run_id))
                except LookupError:
                    continue
        else:
            found = await runs.list(query.status_in, query.workflow_name_in)
        handlers = []
        for data in found:
            handler = PersistentHandler(
                handler_id=data.handler_id,
                workflow_name=data.workflow_name,
                status=data.status,
                run_id=data.run_id,
                error=data.error,
                result=None if data.result is None else _stop_event(data.result),
                started_at=data.started_at,
                updated_at=data.updated_at,
                completed_at=data.completed_at,
            )
            if query.matches(handler):
                handlers.append(handler)
        return handlers

    async def update(self, handler: PersistentHandler) -> None:
        raise NotImplementedError(_JOURNAL_WRITES.format(what="update()"))

    async def delete(self, query: HandlerQuery) -> int:
        count = 0
        for handler in await self.query(query):
            try:
                await self.runtime.delete_run(handler.handler_id)
            except (UnknownRun, ValueError):
                continue
            count += 1
        return count

    async def append_event(self, run_id: str, envelope: EventEnvelopeWithMetadata) -> None:
        raise NotImplementedError(_JOURNAL_WRITES.format(what="append_event()"))

    async def query_events(
        self, run_id: str, after_sequence: int | None = None, limit: int | None = None
    ) -> list[StoredEvent]:
        after = -1 if after_sequence is None else after_sequence
        info = await self.runtime.get_run(run_id)
        found: list[StoredEvent] = []
        async for stored in self.runtime.stream_events(run_id, after=after + 1, follow=False):
            envelope = EventEnvelopeWithMetadata.from_event(stored.event)
            found.append(StoredEvent(run_id, stored.seq - 1, info.updated_at, envelope))
            if limit is not None and len(found) >= limit:
                break
        return found

    async def append_tick(self, run_id: str, tick_data: dict[str, Any]) -> None:
        raise NotImplementedError(_JOURNAL_WRITES.format(what="append_tick()"))

    async def get_ticks(self, run_id: str) -> list[StoredTick]:
        raise NotImplementedError(_JOURNAL_WRITES.format(what="get_ticks()"))


def _stop_event(envelope: EventEnvelopeWithMetadata) -> StopEvent:
    try:
        event = envelope.load_event([StopEvent])
    except ValueError:
        return StopEvent(result=envelope.value)
    return event if isinstance(event, StopEvent) else StopEvent(result=envelope.value)
