"""The dead-letter queue: failed iterations kept in Redis for inspection and replay.

One Redis list per flow (``dlq:<flow name>``), newest first.  An entry records the failed node,
the payload it was given, the error's type, message and traceback, and the time (UTC).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

from reflow.flows._errors import FlowError
from reflow.flows._nodes import Payload
from reflow.flows._services import FlowServices

__all__ = ["DeadLetterQueue"]


class DeadLetterQueue:
    def __init__(self, services: FlowServices, flow_name: str) -> None:
        self.services = services
        self.key = services.dlq_key(flow_name)

    async def add(
        self,
        *,
        node_id: str,
        node_type: str,
        payload: Payload,
        error: BaseException,
        trace: str,
        loop: str | None = None,
    ) -> str:
        entry_id = uuid.uuid4().hex
        entry = {
            "entry_id": entry_id,
            "node_id": node_id,
            "node_type": node_type,
            "loop": loop,
            "input": {"id": payload.id, "data": payload.data, "metadata": payload.metadata},
            "error_type": type(error).__name__,
            "error_message": str(error),
            "traceback": trace,
            "timestamp": datetime.now(timezone.utc).isoformat(),
        }
        await self.services.redis().lpush(self.key, json.dumps(entry, default=str))
        return entry_id

    async def list(self, start: int = 0, count: int = 100) -> list[dict[str, Any]]:
        raw = await self.services.redis().lrange(self.key, start, start + count - 1)
        return [json.loads(item) for item in raw]

    async def count(self) -> int:
        return int(await self.services.redis().llen(self.key))

    async def _find(self, entry_id: str) -> tuple[Any, dict[str, Any]]:
        for raw in await self.services.redis().lrange(self.key, 0, -1):
            entry = json.loads(raw)
            if entry.get("entry_id") == entry_id:
                return raw, entry
        raise FlowError(f"no dead-letter entry {entry_id!r}")

    async def get(self, entry_id: str) -> dict[str, Any]:
        return (await self._find(entry_id))[1]

    async def remove(self, entry_id: str) -> None:
        raw, _ = await self._find(entry_id)
        await self.services.redis().lrem(self.key, 1, raw)

    async def purge(self) -> int:
        count = await self.count()
        await self.services.redis().delete(self.key)
        return count
