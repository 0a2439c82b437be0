"""A Redis list used as a reliable FIFO between loops: at-least-once across a reader crash.

Writers ``LPUSH`` JSON items onto ``datastore:queue:<name>`` (the seed's key).  A reader moves
items atomically into its own processing list (``<queue>:processing:<consumer>``) and removes
them there only after their iteration ended (``ack``).  A reader that crashes leaves its
unfinished items in the processing list; when a reader with the same consumer name starts, it
puts them back at the head of the queue (``recover``).  So nothing is lost, and an item is
delivered twice only when the reader died after finishing it but before acknowledging it: at
most ``batch`` duplicates per crash.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from reflow.flows._services import FlowServices

__all__ = ["SENTINEL_FLAG", "RedisQueue"]

SENTINEL_FLAG = "__execution_completed__"

# Moves up to ARGV[1] items from the queue's consumer end into the processing list, in order.
_TAKE_SCRIPT = """
local taken = {}
for i = 1, tonumber(ARGV[1]) do
  local item = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT')
  if not item then break end
  taken[#taken + 1] = item
end
return taken
"""
# Puts every item of the processing list back at the queue's consumer end, oldest last moved.
_RECOVER_SCRIPT = """
local n = 0
while redis.call('LMOVE', KEYS[2], KEYS[1], 'LEFT', 'RIGHT') do n = n + 1 end
return n
"""


class RedisQueue:
    """One named queue, seen by one consumer (the reader node's id by default)."""

    def __init__(self, services: FlowServices, name: str, consumer: str = "0") -> None:
        self.services = services
        self.name = name
        self.key = services.queue_key(name)
        self.processing_key = f"{self.key}:processing:{consumer}"

    async def push(self, item: dict[str, Any]) -> None:
        await self.services.redis().lpush(self.key, json.dumps(item, default=str))

    async def push_many(self, items: Sequence[dict[str, Any]]) -> None:
        if items:
            await self.services.redis().lpush(
                self.key, *[json.dumps(item, default=str) for item in items]
            )

    async def push_sentinel(self) -> None:
        await self.push({"id": "", "data": {}, "metadata": {SENTINEL_FLAG: True}})

    async def take(self, batch: int, timeout: float) -> list[bytes]:
        """Up to ``batch`` items; waits up to ``timeout`` seconds for the first one."""
        redis = self.services.redis()
        taken: list[Any] = await redis.eval(_TAKE_SCRIPT, 2, self.key, self.processing_key, batch)
        if taken:
            return list(taken)
        item: Any = await redis.blmove(
            self.key,
            self.processing_key,
            timeout,  # type: ignore[arg-type]  # Redis takes fractional seconds
            "RIGHT",
            "LEFT",
        )
        return [] if item is None else [item]

    async def ack(self, items: Sequence[bytes]) -> None:
        if not items:
            return
        async with self.services.redis().pipeline(transaction=False) as pipe:
            for item in items:
                pipe.lrem(self.processing_key, 1, item)  # type: ignore[arg-type]
            await pipe.execute()

    async def recover(self) -> int:
        """Put unacknowledged items of a previous reader back; how many there were."""
        moved: Any = await self.services.redis().eval(
            _RECOVER_SCRIPT, 2, self.key, self.processing_key
        )
        return int(moved)

    async def length(self) -> int:
        return int(await self.services.redis().llen(self.key))

    async def pending(self) -> int:
        return int(await self.services.redis().llen(self.processing_key))
