"""The terminal views: the redrawn step table and the answer prompt."""

from __future__ import annotations

import asyncio
import io

import pytest
from rich.console import Console

from reflow.cli._live import LiveView, format_seconds, read_answer, render_board
from reflow.cli._steps import StepBoard
from reflow.events import Event, StepState, StepStateChanged


def render(renderable: object) -> str:
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(renderable)
    output = console.file
    assert isinstance(output, io.StringIO)
    return output.getvalue()


def step_event(name: str, state: StepState, output: str | None = None) -> StepStateChanged:
    return StepStateChanged(
        name=name,
        step_state=state,
        worker_id="0",
        input_event_name="Go",
        output_event_name=output,
    )


def test_format_seconds() -> None:
    assert format_seconds(None) == "-"
    assert format_seconds(0.123) == "0.12s"
    assert format_seconds(125.0) == "2m05s"


def test_the_board_table_shows_each_step_state() -> None:
    board = StepBoard(lambda: 10.0)
    board.apply(step_event("fetch", StepState.RUNNING))
    board.apply(step_event("plan", StepState.RUNNING))
    board.apply(step_event("plan", StepState.NOT_RUNNING, "<class 'm.Fetch'>"))
    board.apply(step_event("store", StepState.RUNNING))
    board.apply(step_event("store", StepState.NOT_RUNNING, None))
    board.mark_failed("store")
    text = render(render_board(board.snapshot(), 12.0))
    lines = [line.split() for line in text.splitlines()]
    assert lines[0] == ["step", "state", "runs", "last", "total"]
    assert lines[1][1:] == ["fetch", "running", "0", "2.00s", "2.00s"]
    assert lines[2][1:] == ["plan", "done", "1", "0.00s", "0.00s"]
    assert lines[3][1:] == ["store", "failed", "1", "0.00s", "0.00s"]


def test_an_empty_board_says_it_is_waiting() -> None:
    assert "waiting for the first step" in render(render_board([], 0.0))


async def test_live_view_prints_events_and_leaves_the_final_table() -> None:
    output = io.StringIO()
    console = Console(file=output, force_terminal=True, width=100, color_system=None)
    view = LiveView(console)
    view.start("run-1", "demo.Flow")
    view.step_changed(step_event("work", StepState.RUNNING))
    view.event(Event(note="hello"))
    view.step_changed(step_event("work", StepState.NOT_RUNNING, "<class 'm.Done'>"))
    await asyncio.sleep(0)
    view.finish()
    text = output.getvalue()
    assert "Running demo.Flow (run run-1)" in text
    assert "● Event note='hello'" in text
    final_table = text.rsplit("step", 1)[-1]
    assert "work" in final_table
    assert "done" in final_table


async def test_read_answer_returns_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("yes please\r\nignored\n"))
    output = io.StringIO()
    answer = await read_answer(Console(file=output), "Continue? ")
    assert answer == "yes please"
    assert output.getvalue() == "Continue? yes please\n"


class _TerminalInput(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_read_answer_leaves_the_echo_to_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", _TerminalInput("typed\n"))
    output = io.StringIO()
    console = Console(file=output, force_terminal=True, color_system=None)
    assert await read_answer(console, "Name? ") == "typed"
    assert output.getvalue() == "Name? "


async def test_read_answer_is_none_when_stdin_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert await read_answer(Console(file=io.StringIO()), "Continue? ") is None
