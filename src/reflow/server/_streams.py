"""Following a handler's stored events for SSE, NDJSON and WebSocket readers.

A reader task copies events into a queue so that the writer can wait with a timeout (for the
SSE heartbeat) without cancelling the store's iterator halfway through a read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from reflow.client.protocol import EventEnvelopeWithMetadata
from reflow.server._runs import Runs

_QUEUE_SIZE = 256


@dataclass(frozen=True, slots=True)
class Frame:
    """One event to send, or (``sequence`` None) a heartbeat."""

    sequence: int | None
    envelope: dict[str, Any] | None = None


HEARTBEAT = Frame(None)
_END = object()


def shown(envelope: EventEnvelopeWithMetadata, include_qualified_name: bool) -> dict[str, Any]:
    data = envelope.model_dump(mode="json")
    if not include_qualified_name:
        data["qualified_name"] = None
    return data


async def follow(
    runs: Runs,
    handler_id: str,
    after: int,
    *,
    include_internal: bool,
    include_qualified_name: bool,
    heartbeat: float | None,
) -> AsyncIterator[Frame]:
    """Frames after ``after`` until (and including) the terminal event."""
    queue: asyncio.Queue[Any] = asyncio.Queue(_QUEUE_SIZE)

    async def read() -> None:
        try:
            async for item in runs.events(handler_id, after):
                await queue.put(item)
        except Exception as exc:
            await queue.put(exc)
        finally:
            await queue.put(_END)

    reader = asyncio.get_running_loop().create_task(read())
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), heartbeat)
            except asyncio.TimeoutError:
                yield HEARTBEAT
                continue
            if item is _END:
                return
            if isinstance(item, Exception):
                raise item
            sequence, envelope = item
            if envelope.is_terminal() or include_internal or not _internal(envelope):
                yield Frame(sequence, shown(envelope, include_qualified_name))
            if envelope.is_terminal():
                return
    finally:
        await cancel_and_wait(reader)


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel a helper task and let it unwind; whatever it raised is no longer of interest."""
    task.cancel()
    with contextlib.suppress(BaseException):
        await task


def _internal(envelope: EventEnvelopeWithMetadata) -> bool:
    return "InternalDispatchEvent" in (envelope.types or ())


def sse_frame(frame: Frame) -> str:
    if frame.sequence is None:
        return ": heartbeat\n\n"
    return f"id: {frame.sequence}\ndata: {json.dumps(frame.envelope)}\n\n"


def ndjson_line(frame: Frame) -> str:
    return json.dumps(frame.envelope) + "\n"
