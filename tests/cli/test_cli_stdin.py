"""The one reader of standard input: lines kept for later questions when piped, typed lines
that answered nothing dropped in a terminal, and no reader left behind by a withdrawn prompt."""

from __future__ import annotations

import asyncio
import io
import threading

import pytest

from reflow.cli._stdin import LineReader


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def _settle(reader: LineReader) -> None:
    reader._start()
    assert reader._thread is not None
    await asyncio.to_thread(reader._thread.join, 5)


async def test_piped_lines_wait_for_the_questions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("one\ntwo\n"))
    reader = LineReader()
    await _settle(reader)  # everything read before any question was asked
    assert [await reader.readline(), await reader.readline(), await reader.readline()] == [
        "one",
        "two",
        None,
    ]


async def test_lines_typed_while_no_question_is_open_are_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdin", _Terminal("typed too late\n"))
    reader = LineReader()
    assert reader.interactive
    await _settle(reader)
    assert await reader.readline() is None


class _Silent(io.StringIO):
    """Input nobody types into: ``readline`` blocks until the test lets it end."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def readline(self, size: int | None = -1) -> str:
        self.release.wait(5)
        return ""


async def test_a_withdrawn_read_leaves_the_next_line_to_the_next_question(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = _Silent()
    monkeypatch.setattr("sys.stdin", stream)
    reader = LineReader()
    waiting = asyncio.ensure_future(reader.readline())
    await asyncio.sleep(0)
    waiting.cancel()  # the question was answered elsewhere
    reader._deliver("for the next one")
    await asyncio.sleep(0)
    assert await reader.readline() == "for the next one"
    stream.release.set()
