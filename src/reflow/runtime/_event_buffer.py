"""An unbounded single-consumer FIFO of published events.

``asyncio.Queue`` does more bookkeeping than a run's stream needs (two notices per step go
through it); this is a deque plus one waiter future.
"""

from __future__ import annotations

import asyncio
from collections import deque

from reflow.events import Event


class EventBuffer:
    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[Event] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, event: Event) -> None:
        self._items.append(event)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def empty(self) -> bool:
        return not self._items

    def get_nowait(self) -> Event:
        return self._items.popleft()

    async def get(self) -> Event:
        while not self._items:
            if self._waiter is None or self._waiter.done():
                self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        return self._items.popleft()
