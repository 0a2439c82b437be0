"""``queue-node-writer`` and ``queue-reader-dummy``: the Redis hop between two loops."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from reflow.flows._nodes import NonBlockingNode, Payload, ProducerNode
from reflow.flows._queues import SENTINEL_FLAG, RedisQueue

__all__ = ["QUEUE_NODES", "QueueReader", "QueueWriter"]

logger = logging.getLogger(__name__)


class WriterConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")
    batch_size: int = Field(default=1, ge=1, le=10_000, description="Items per LPUSH.")
    linger_ms: float = Field(default=20, ge=0, description="Longest wait before a flush.")


def queue_name_of(node: Any) -> str:
    name = node.context.flow_config.get("queue_name")
    if not name or name == "default":
        raise ValueError(f"node {node.node_id!r} has no queue name (data.config.queue_name)")
    return str(name)


class QueueWriter(NonBlockingNode[WriterConfig]):
    """Pushes ``{id, data, metadata}`` onto the queue; at the end, pushes the done sentinel.

    With ``batch_size`` > 1 items are buffered and sent together, at the latest after
    ``linger_ms`` or when the loop ends.
    """

    type_id = "queue-node-writer"
    config_model = WriterConfig
    modes = frozenset({"production"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._queue: RedisQueue | None = None
        self._buffer: list[dict[str, Any]] = []
        self._flush_task: asyncio.Task[None] | None = None

    def queue(self) -> RedisQueue:
        if self._queue is None:
            self._queue = RedisQueue(self.context.services, queue_name_of(self))
        return self._queue

    async def execute(self, payload: Payload, config: WriterConfig) -> Payload:
        item = payload.to_dict()
        if config.batch_size == 1:
            await self.queue().push(item)
            return payload
        self._buffer.append(item)
        if len(self._buffer) >= config.batch_size:
            await self.flush()
        elif self._flush_task is None:
            self._flush_task = asyncio.create_task(self._flush_later(config.linger_ms / 1000))
        return payload

    async def _flush_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._flush_task = None
        try:
            await self.flush()
        except Exception:  # reported; the items stay buffered for the next flush
            logger.exception("queue writer %s could not flush", self.node_id)

    async def flush(self) -> None:
        items, self._buffer = self._buffer, []
        try:
            await self.queue().push_many(items)
        except BaseException:
            self._buffer[:0] = items
            raise

    async def cleanup(self) -> None:
        if self._flush_task is not None:
            self._flush_task.cancel()
            self._flush_task = None
        await self.flush()
        await self.queue().push_sentinel()


class ReaderConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")
    batch_size: int = Field(default=1, ge=1, le=10_000, description="Items taken per round.")
    consumer: str = Field(default="", description="Processing-list name; default: node id.")


class QueueReader(ProducerNode[ReaderConfig]):
    """One iteration per queue item, FIFO; the sentinel ends the loop.

    An item is acknowledged after its iteration ended (succeeded, or failed and dead-lettered),
    in batches of ``batch_size``.  While Redis is unreachable the reader reports it and retries.
    """

    type_id = "queue-reader-dummy"
    config_model = ReaderConfig
    modes = frozenset({"production"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._queue: RedisQueue | None = None
        self._local: list[bytes] = []
        self._current: bytes | None = None
        self._settled: list[bytes] = []
        self._claimed: dict[int, bytes] = {}
        self.redeliveries = 0

    async def produce(self, payload: Payload, config: ReaderConfig) -> Payload | None:
        if self._queue is None:
            queue = RedisQueue(
                self.context.services, queue_name_of(self), config.consumer or self.node_id
            )
            self.redeliveries += await queue.recover()
            self._local = []
            self._queue = queue
        while not self._local:
            if self._settled:
                await self._ack_settled()
            if self.context.stop.is_set():
                return None
            try:
                self._local = await self._queue.take(config.batch_size, timeout=0.5)
            except Exception:
                # The connection broke: a reply may be lost with items already moved to the
                # processing list.  Start over from it once Redis answers again (the items in
                # flight then may be delivered twice, which at-least-once allows).
                self._queue = None
                raise
        raw = self._local.pop(0)
        try:
            item = json.loads(raw)
        except ValueError as exc:
            # Not ours to retry forever: acknowledge it and let the DLQ keep it.
            self._settled.append(raw)
            text = raw.decode("utf-8", "replace")
            raise ValueError(f"malformed queue item (not JSON): {text[:500]!r}") from exc
        if not isinstance(item, dict):
            item = {"data": {"value": item}}
        metadata = item.get("metadata")
        if isinstance(metadata, dict) and metadata.get(SENTINEL_FLAG):
            self._settled.append(raw)
            await self._ack_settled()
            return None
        self._current = raw
        incoming = Payload.from_dict(item)
        incoming.metadata = {**payload.metadata, **incoming.metadata}
        return incoming

    async def _ack_settled(self) -> None:
        # Taken out first: iterations still in flight may settle while the ack is awaited.
        settled, self._settled = self._settled, []
        assert self._queue is not None
        try:
            await self._queue.ack(settled)
        except BaseException:
            self._settled[:0] = settled
            raise

    def claim(self, token: int) -> None:
        if self._current is not None:
            self._claimed[token] = self._current
            self._current = None

    async def settle(self, token: int, succeeded: bool) -> None:
        raw = self._claimed.pop(token, None)
        if raw is not None:
            self._settled.append(raw)

    async def cleanup(self) -> None:
        if self._queue is not None and self._settled:
            await self._ack_settled()
        self._settled = []
        self._claimed = {}
        self._queue = None


QUEUE_NODES = (QueueWriter, QueueReader)
