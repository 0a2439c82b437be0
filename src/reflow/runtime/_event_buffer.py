"""An unbounded single-consumer FIFO of published events.

``asyncio.Queue`` does more bookkeeping than a run's stream needs (two notices per step go
through it), and an idle deque alone costs 760 bytes per run.  This is a list read from a
moving head, compacted as it drains, plus one waiter future.  The engine's step notices are
kept as the plain tuples the reducer made (``reflow.engine.StepNotice``) and built as events
when they are read, so a stream nobody reads costs little memory and no garbage-collector work.
"""

from __future__ import annotations

import asyncio

from reflow.engine import StepNotice, notice_event
from reflow.events import Event


class EventBuffer:
    __slots__ = ("_head", "_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[Event | StepNotice | None] = []
        self._head = 0
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, event: Event | StepNotice) -> None:
        self._items.append(event)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def empty(self) -> bool:
        return self._head >= len(self._items)

    def get_nowait(self) -> Event:
        items, head = self._items, self._head
        item = items[head]
        assert item is not None
        items[head] = None
        head += 1
        if head >= 64 and head * 2 >= len(items):
            del items[:head]
            head = 0
        self._head = head
        return notice_event(item) if type(item) is tuple else item  # type: ignore[return-value]

    async def get(self) -> Event:
        while self.empty():
            if self._waiter is None or self._waiter.done():
                self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        return self.get_nowait()
