"""Standard input as lines the event loop can wait for, and stop waiting for.

One daemon thread reads stdin for the whole process, so a question that is withdrawn (answered
from another shell, or the run ended) leaves no reader behind that would swallow the next
answer. What is typed in a terminal while no question is open is dropped (it answered a
question that is gone); lines piped in are kept for the questions to come.

The thread reads the file descriptor directly when there is one: a thread blocked inside
``sys.stdin.readline`` holds the buffer's lock, which the interpreter needs at exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
from collections import deque
from typing import TextIO


class LineReader:
    """Lines of stdin; ``None`` once it is closed (end of file)."""

    def __init__(self) -> None:
        self._stream = sys.stdin
        self._lock = threading.Lock()
        self._lines: deque[str | None] = deque()
        self._waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[str | None]] | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        try:
            self.interactive = sys.stdin.isatty()
        except (AttributeError, ValueError):
            self.interactive = False

    async def readline(self) -> str | None:
        """The next line without its newline, or None at end of file."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._lines:
                return self._lines.popleft()
            if self._closed:
                return None
            future: asyncio.Future[str | None] = loop.create_future()
            self._waiter = (loop, future)
            self._start()
        try:
            return await future
        finally:
            with self._lock:
                if self._waiter is not None and self._waiter[1] is future:
                    self._waiter = None

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._read, name="reflow-stdin", daemon=True)
            self._thread.start()

    def _read(self) -> None:
        for line in _lines(self._stream):
            self._deliver(line)
            if line is None:
                return

    def _deliver(self, line: str | None) -> None:
        with self._lock:
            if line is None:
                self._closed = True
            waiter, self._waiter = self._waiter, None
            if waiter is None:
                if line is None or not self.interactive:
                    self._lines.append(line)
                return  # typed while no question was open: it answered nothing
        loop, future = waiter

        def settle() -> None:
            if future.done():
                if line is not None and not self.interactive:
                    self._lines.appendleft(line)
            else:
                future.set_result(line)

        with contextlib.suppress(RuntimeError):  # the loop may be closed already
            loop.call_soon_threadsafe(settle)


def _lines(stream: TextIO) -> _FdLines:
    try:
        fd = stream.fileno()
    except (AttributeError, ValueError, OSError):
        fd = -1
    if fd < 0 or stream is not sys.__stdin__:
        return _TextLines(stream)  # a replaced stdin (tests) has no descriptor of its own
    return _FdLines(fd)


class _FdLines:
    def __init__(self, fd: int) -> None:
        self.fd = fd

        self.buffer = b""
        self.eof = False
        self.done = False

    def __iter__(self) -> _FdLines:
        return self

    def __next__(self) -> str | None:
        if self.done:
            raise StopIteration
        while b"\n" not in self.buffer:
            if self.eof:
                self.done = True
                return None
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                self.eof = True
                if self.buffer:  # a last line without its newline
                    rest, self.buffer = self.buffer, b""
                    return rest.decode(errors="replace").rstrip("\r")
                continue
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode(errors="replace").rstrip("\r")


class _TextLines(_FdLines):
    def __init__(self, stream: TextIO) -> None:
        super().__init__(-1)
        self.stream = stream

    def __next__(self) -> str | None:
        if self.done:
            raise StopIteration
        try:
            line = self.stream.readline()
        except (OSError, ValueError):
            line = ""
        if line == "":
            self.done = True
            return None
        return line.rstrip("\r\n")


_reader: tuple[object, LineReader] | None = None


def stdin_lines() -> LineReader:
    """The process's one reader of standard input (a new one if ``sys.stdin`` was replaced)."""
    global _reader
    if _reader is None or _reader[0] is not sys.stdin:
        _reader = (sys.stdin, LineReader())
    return _reader[1]
