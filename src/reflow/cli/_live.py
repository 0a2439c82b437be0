"""How a run looks in the terminal.

``LiveView`` redraws a table of steps in place (running / done / failed, with durations) and
prints streamed events above it; ``LineView`` prints one line per change, for logs and pipes;
``QuietView`` prints nothing, for ``--output json``.  All three ask for human input the same way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from reflow.cli._format import describe_event
from reflow.cli._stdin import stdin_lines
from reflow.cli._steps import RowState, StepBoard, StepChange, StepRow
from reflow.events import Event, StepAttemptFailed, StepState, StepStateChanged, UnhandledEvent

_STATE_STYLES = {
    RowState.QUEUED: "yellow",
    RowState.RUNNING: "cyan",
    RowState.DONE: "green",
    RowState.STOPPED: "yellow",
    RowState.FAILED: "bold red",
}
_STATE_ICONS = {
    RowState.QUEUED: "…",
    RowState.DONE: "✓",
    RowState.STOPPED: "○",
    RowState.FAILED: "✗",
}
_TICK_SECONDS = 0.1


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"


async def read_answer(console: Console, prompt: str) -> str | None:
    """Show ``prompt`` and wait for one line of stdin; None if stdin is closed.

    Cancelling the wait (the question was withdrawn) leaves no reader behind: see ``_stdin``.
    """
    console.print(Text(prompt), end="")
    console.file.flush()
    reader = stdin_lines()
    line = await reader.readline()
    if line is None:
        console.print()
        return None
    if not reader.interactive:
        # A terminal echoes what was typed; a log or a pipe would lose the answer without this.
        console.print(Text(line))
    return line


class RunView:
    """Tracks step activity; subclasses decide how much of it to show."""

    def __init__(
        self,
        console: Console,
        prompt_console: Console | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.console = console
        self.prompt_console = prompt_console or console
        self.clock = clock
        self.board = StepBoard(clock)
        self.replaying = False
        self.run_id: str | None = None

    def start(self, run_id: str, workflow_name: str) -> None:
        """The run has been scheduled."""
        self.run_id = run_id

    def step_changed(self, event: StepStateChanged) -> StepChange:
        return self.board.apply(event)

    def step_failed(self, name: str, error: str) -> None:
        self.board.mark_failed(name)

    def event(self, event: Event) -> None:
        """A user event was streamed."""

    def attempt_failed(self, event: StepAttemptFailed, max_attempts: int | None) -> None:
        """An attempt of a step raised (retried or not)."""

    def unhandled(self, event: UnhandledEvent) -> None:
        """An event reached no step."""

    async def ask(self, prompt: str) -> str | None:
        """The answer to ``prompt``; None if stdin is closed."""
        return await read_answer(self.prompt_console, prompt)

    def withdraw(self, prompt: str, reason: str) -> None:
        """The open question ``prompt`` no longer needs an answer."""
        self.prompt_console.print()
        self.prompt_console.print(
            Text(f"(question {prompt.strip()!r} withdrawn: {reason})", style="yellow")
        )

    def history(self, replaying: bool, label: str = "resumed: live from here") -> None:
        """Events from here on were stored before this process attached (or, with ``label``
        saying so, are live again)."""
        self.replaying = replaying

    def finish(self) -> None:
        """The run is over; leave the terminal tidy."""


class QuietView(RunView):
    """Shows nothing; prompts still go to ``prompt_console`` (stderr for ``--output json``)."""


class LineView(RunView):
    """One line per step change and per streamed event."""

    def start(self, run_id: str, workflow_name: str) -> None:
        super().start(run_id, workflow_name)
        self._print_line(Text.assemble(("Running ", "bold"), workflow_name, f" (run {run_id})"))

    def step_changed(self, event: StepStateChanged) -> StepChange:
        change = super().step_changed(event)
        self._print_line(self._mark(_change_line(change, self.replaying)))
        return change

    def _print_line(self, line: Text) -> None:
        self.console.print(line)

    def _mark(self, line: Text) -> Text:
        return Text.assemble(("  history │ ", "dim"), line) if self.replaying else line

    def history(self, replaying: bool, label: str = "resumed: live from here") -> None:
        if replaying and not self.replaying:
            self._print_line(Text("── history of the run, as stored ──", style="dim"))
        elif not replaying and self.replaying:
            self._print_line(Text(f"── {label} ──", style="bold"))
        super().history(replaying, label)

    def step_failed(self, name: str, error: str) -> None:
        super().step_failed(name, error)
        line = Text.assemble(("✗ ", "bold red"), (name, "bold"), f" failed: {error}")
        self._print_line(self._mark(line))

    def event(self, event: Event) -> None:
        self._print_line(self._mark(Text.assemble(("● ", "magenta"), describe_event(event))))

    def attempt_failed(self, event: StepAttemptFailed, max_attempts: int | None) -> None:
        self._print_line(self._mark(attempt_line(event, max_attempts)))

    def unhandled(self, event: UnhandledEvent) -> None:
        line = Text(f"! no step accepts {event.event_type}", style="yellow")
        self._print_line(self._mark(line))


def attempt_line(event: StepAttemptFailed, max_attempts: int | None) -> Text:
    """``✗ fetch attempt 2/3 raised ValueError: boom; retrying in 0.50s``."""
    of = f"/{max_attempts}" if max_attempts else ""
    message = event.exception_message.strip().splitlines()
    what = f"{event.exception_type}: {message[0]}" if message else event.exception_type
    if event.retry_in is not None:
        after = f"; retrying in {format_seconds(event.retry_in)}"
    else:
        after = "; no retry left" if event.attempt > 1 or max_attempts != 1 else ""
    return Text.assemble(
        ("✗ ", "red"),
        (event.step_name, "bold"),
        f" attempt {event.attempt}{of} raised {what}{after}",
    )


def _change_line(change: StepChange, replaying: bool = False) -> Text:
    name = (change.row.name, "bold")
    if change.state == StepState.PREPARING:
        return Text.assemble(("… ", "yellow"), name, f" queued ← {change.input_name}")
    if change.state == StepState.RUNNING:
        return Text.assemble(
            ("▶ ", "cyan"), name, f" started ← {change.input_name} (worker {change.worker_id})"
        )
    # A replayed change happened at an unknown time: no duration is better than a wrong one.
    took = "" if replaying else f" in {format_seconds(change.seconds)}"
    if change.stopped:
        after = "" if replaying else f" after {format_seconds(change.seconds)}"
        return Text.assemble(("○ ", "yellow"), name, f" ended{after} without an output event")
    output = f" → {change.output_name}" if change.output_name else ""
    return Text.assemble(("✓ ", "green"), name, f" done{took}{output}")


class LiveView(LineView):
    """A table of steps redrawn in place, with streamed events printed above it."""

    def __init__(
        self,
        console: Console,
        prompt_console: Console | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(console, prompt_console, clock)
        self._live = Live(console=console, auto_refresh=False, transient=True)
        self._ticker: asyncio.Task[None] | None = None
        # Lines for above the table, printed by the ticker in one go: printing while the table
        # is shown redraws it, once per line.
        self._lines: list[Text] = []

    def start(self, run_id: str, workflow_name: str) -> None:
        super().start(run_id, workflow_name)
        self._live.update(self.render(), refresh=False)
        self._live.start()
        self._ticker = asyncio.get_running_loop().create_task(self._tick())

    async def _tick(self) -> None:
        # Redraw on a timer so the running steps' durations keep counting.
        while True:
            self._redraw()
            await asyncio.sleep(_TICK_SECONDS)

    def _redraw(self) -> None:
        self._flush_lines()
        if self._live.is_started:
            self._live.update(self.render(), refresh=True)

    def _flush_lines(self) -> None:
        if self._lines:
            lines, self._lines = self._lines, []
            self.console.print(Text("\n").join(lines))

    def _print_line(self, line: Text) -> None:
        if self._live.is_started:
            self._lines.append(line)
        else:
            self.console.print(line)

    def step_changed(self, event: StepStateChanged) -> StepChange:
        if self.replaying:
            return super().step_changed(event)  # history is printed line by line
        # The table is redrawn by the ticker only: a redraw per change would put rendering
        # on the run's hot path (hundreds of changes a second in a fan-out).
        return self.board.apply(event)

    async def ask(self, prompt: str) -> str | None:
        self._flush_lines()
        self._live.stop()
        try:
            return await super().ask(prompt)
        finally:
            self._live.start()

    def finish(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        self._flush_lines()
        if self._live.is_started:
            self._live.stop()
        self.console.print(self.render())

    def render(self) -> RenderableType:
        return render_board(self.board.snapshot(), self.clock())


def render_board(rows: list[StepRow], now: float) -> RenderableType:
    """The step table: one row per step, in the order the steps first ran."""
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold dim")
    table.add_column("", width=1)
    table.add_column("step")
    table.add_column("state")
    table.add_column("runs", justify="right")
    table.add_column("last", justify="right")
    table.add_column("total", justify="right")
    for row in rows:
        state = row.state
        style = _STATE_STYLES[state]
        icon: RenderableType = (
            Spinner("dots", style=style)
            if state == RowState.RUNNING
            else Text(_STATE_ICONS[state], style=style)
        )
        label = state.value
        if state == RowState.RUNNING and len(row.active) > 1:
            label = f"running ({len(row.active)})"
        if row.queued:
            label += f", {row.queued} queued" if state == RowState.RUNNING else f" ({row.queued})"
        table.add_row(
            icon,
            Text(row.name, style="bold"),
            Text(label, style=style),
            str(row.finished),
            format_seconds(row.current(now)),
            format_seconds(row.elapsed(now)),
        )
    if not rows:
        return Group(Text("waiting for the first step…", style="dim"))
    return table
