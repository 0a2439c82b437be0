"""Reading a pipe line by line as output arrives, with a bounded capture of what was read."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

CHUNK = 1 << 16


class Capture:
    """The last ``limit`` bytes of a stream (``truncated`` once anything was dropped)."""

    __slots__ = ("_buffer", "limit", "truncated")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._buffer = bytearray()
        self.truncated = False

    def add(self, data: bytes) -> None:
        if self.limit <= 0:
            self.truncated = self.truncated or bool(data)
            return
        self._buffer += data
        # Trim in batches so a long stream costs O(n), not O(n * limit).
        if len(self._buffer) > 2 * self.limit:
            del self._buffer[: len(self._buffer) - self.limit]
            self.truncated = True

    def value(self) -> bytes:
        if len(self._buffer) > self.limit:
            self.truncated = True
            return bytes(self._buffer[-self.limit :]) if self.limit else b""
        return bytes(self._buffer)


async def pump_lines(
    reader: asyncio.StreamReader,
    capture: Capture,
    on_line: Callable[[bytes], None],
    max_line: int,
) -> None:
    """Feed every line of ``reader`` (without its newline) to ``on_line`` until EOF.

    A line longer than ``max_line`` bytes is delivered in pieces of that size, so a stream
    with no newline at all never accumulates in memory.
    """
    pending = b""
    while True:
        chunk = await reader.read(CHUNK)
        if not chunk:
            break
        capture.add(chunk)
        data = pending + chunk if pending else chunk
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                break
            line = data[start:end]
            while len(line) > max_line:
                on_line(line[:max_line])
                line = line[max_line:]
            on_line(line)
            start = end + 1
        pending = data[start:]
        while len(pending) > max_line:
            on_line(pending[:max_line])
            pending = pending[max_line:]
    if pending:
        on_line(pending)
