"""How a run looks when the output is not a terminal: what matters, then a summary.

A log or a pipe gets the lines a reader needs (streamed events, failed attempts, questions,
the history marker of a resumed run) and, at the end, one line per step with its runs and
time.  A line per step change (``--verbose``) costs more than the run itself in a fan-out.
"""

from __future__ import annotations

from rich.text import Text

from reflow.cli._live import LineView, format_seconds
from reflow.cli._steps import StepChange
from reflow.events import StepStateChanged


class SummaryView(LineView):
    """Events and failures as they happen; the steps summed up once the run is over."""

    def step_changed(self, event: StepStateChanged) -> StepChange:
        return self.board.apply(event)

    def finish(self) -> None:
        rows = self.board.snapshot()
        if not rows:
            return
        width = max(len(row.name) for row in rows)
        self.console.print(Text("steps:", style="bold"))
        for row in rows:
            runs = f"{row.finished} run{'s' if row.finished != 1 else ''}"
            failed = ", failed" if row.failed else ""
            self.console.print(
                Text(
                    f"  {row.name:<{width}}  {runs:>9}  {format_seconds(row.total_seconds)}{failed}"
                )
            )
