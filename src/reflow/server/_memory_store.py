"""``MemoryWorkflowStore``: handlers and events in dicts, for a server that need not survive."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any

from reflow.client.protocol import EventEnvelopeWithMetadata, is_status_completed
from reflow.server._store import (
    AbstractWorkflowStore,
    HandlerQuery,
    PersistentHandler,
    StoredEvent,
    StoredTick,
    utc_now,
)


class MemoryWorkflowStore(AbstractWorkflowStore):
    """Keeps everything in memory; beyond ``max_completed`` finished handlers the oldest go."""

    def __init__(self, max_completed: int | None = 1000) -> None:
        if max_completed is not None and (not isinstance(max_completed, int) or max_completed < 0):
            raise ValueError(f"max_completed must be an integer >= 0 or None, got {max_completed}")
        self.max_completed = max_completed
        self.handlers: dict[str, PersistentHandler] = {}
        self.events: dict[str, list[StoredEvent]] = {}
        self.ticks: dict[str, list[StoredTick]] = {}
        self._completed: OrderedDict[str, None] = OrderedDict()
        self._changed: asyncio.Condition | None = None

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    async def _notify(self) -> None:
        condition = self._condition()
        async with condition:
            condition.notify_all()

    async def query(self, query: HandlerQuery) -> list[PersistentHandler]:
        return [h for h in self.handlers.values() if query.matches(h)]

    async def update(self, handler: PersistentHandler) -> None:
        self.handlers[handler.handler_id] = handler
        if is_status_completed(handler.status):
            self._completed[handler.handler_id] = None
            self._completed.move_to_end(handler.handler_id)
            self._evict()
        else:
            self._completed.pop(handler.handler_id, None)
        await self._notify()

    def _evict(self) -> None:
        if self.max_completed is None:
            return
        while len(self._completed) > self.max_completed:
            handler_id, _ = self._completed.popitem(last=False)
            self._drop(handler_id)

    def _drop(self, handler_id: str) -> None:
        handler = self.handlers.pop(handler_id, None)
        self._completed.pop(handler_id, None)
        if handler is not None and handler.run_id is not None:
            self.events.pop(handler.run_id, None)
            self.ticks.pop(handler.run_id, None)

    async def delete(self, query: HandlerQuery) -> int:
        doomed = [h.handler_id for h in await self.query(query)]
        for handler_id in doomed:
            self._drop(handler_id)
        return len(doomed)

    async def append_event(self, run_id: str, envelope: EventEnvelopeWithMetadata) -> None:
        events = self.events.setdefault(run_id, [])
        events.append(StoredEvent(run_id, len(events), utc_now(), envelope))
        await self._notify()

    async def query_events(
        self, run_id: str, after_sequence: int | None = None, limit: int | None = None
    ) -> list[StoredEvent]:
        events = self.events.get(run_id, [])
        start = 0 if after_sequence is None else max(after_sequence + 1, 0)
        selected = events[start:]
        return selected if limit is None else selected[:limit]

    async def append_tick(self, run_id: str, tick_data: dict[str, Any]) -> None:
        ticks = self.ticks.setdefault(run_id, [])
        ticks.append(StoredTick(run_id, len(ticks), utc_now(), tick_data))

    async def get_ticks(self, run_id: str) -> list[StoredTick]:
        return list(self.ticks.get(run_id, []))

    async def wait_for_events(self, run_id: str, after_sequence: int) -> None:
        condition = self._condition()
        async with condition:
            if len(self.events.get(run_id, [])) > after_sequence + 1:
                return
            await condition.wait()
