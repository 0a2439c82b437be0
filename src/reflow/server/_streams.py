"""Following a handler's stored events for SSE, NDJSON and WebSocket readers.

A reader task copies events into a queue so that the writer can wait with a timeout (for the
SSE heartbeat) without cancelling the store's iterator halfway through a read.  An envelope's
JSON text is rendered once however many readers follow the run (1,000 subscribers of one run
would otherwise serialise each event 1,000 times).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from reflow.client.protocol import EventEnvelopeWithMetadata
from reflow.server._runs import Runs

_QUEUE_SIZE = 256


_RENDERED_CACHE = 4096


@dataclass(frozen=True, slots=True)
class Frame:
    """One event to send (``text``: its envelope as JSON), or (``sequence`` None) a heartbeat."""

    sequence: int | None
    text: str = ""


HEARTBEAT = Frame(None)
_END = object()
# id(envelope), include_qualified_name -> (envelope, its JSON); the envelope is kept so that
# its id is not reused while the entry lives.
_rendered: OrderedDict[tuple[int, bool], tuple[EventEnvelopeWithMetadata, str]] = OrderedDict()


def rendered(envelope: EventEnvelopeWithMetadata, include_qualified_name: bool) -> str:
    key = (id(envelope), include_qualified_name)
    found = _rendered.get(key)
    if found is not None and found[0] is envelope:
        return found[1]
    data = envelope.model_dump(mode="json")
    if not include_qualified_name:
        data["qualified_name"] = None
    text = json.dumps(data)
    _rendered[key] = (envelope, text)
    if len(_rendered) > _RENDERED_CACHE:
        _rendered.popitem(last=False)
    return text


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
                yield Frame(sequence, rendered(envelope, include_qualified_name))
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
    return f"id: {frame.sequence}\ndata: {frame.text}\n\n"


def ndjson_line(frame: Frame) -> str:
    return frame.text + "\n"
