"""What each step is doing, rebuilt from the ``StepStateChanged`` events of a run.

A step attempt that ends without an output type (``output_event_name is None``) either raised or
paused in ``ctx.wait_for_event``; the event alone cannot tell which, so such a step is shown as
``stopped`` until the run reports it ``failed`` (``WorkflowFailedEvent``) or it runs again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from reflow.cli._format import is_no_output, short_type_name
from reflow.events import StepState, StepStateChanged


class RowState(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass
class StepRow:
    """One step's activity so far."""

    name: str
    active: dict[str, float] = field(default_factory=dict)  # worker id -> start time
    queued: int = 0
    finished: int = 0
    stopped: int = 0
    total_seconds: float = 0.0
    last_seconds: float | None = None
    last_output: str | None = None
    last_ended_stopped: bool = False
    failed: bool = False

    @property
    def state(self) -> RowState:
        if self.active:
            return RowState.RUNNING
        if self.queued:
            return RowState.QUEUED
        if self.failed:
            return RowState.FAILED
        if self.last_ended_stopped:
            return RowState.STOPPED
        return RowState.DONE

    def current(self, now: float) -> float | None:
        """How long the longest-running active attempt has run, else the last attempt's time."""
        starts = list(self.active.values())
        return now - min(starts) if starts else self.last_seconds

    def elapsed(self, now: float) -> float:
        """Busy time so far, summed over workers: finished attempts plus the running ones."""
        return self.total_seconds + sum(now - started for started in list(self.active.values()))


@dataclass(frozen=True)
class StepChange:
    """What one ``StepStateChanged`` meant, for views that print a line per change."""

    row: StepRow
    state: StepState
    worker_id: str
    input_name: str | None
    output_name: str | None
    seconds: float | None
    stopped: bool


class StepBoard:
    """Rows of step activity in first-seen order."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.rows: dict[str, StepRow] = {}

    def row(self, name: str) -> StepRow:
        if name not in self.rows:
            self.rows[name] = StepRow(name=name)
        return self.rows[name]

    def apply(self, event: StepStateChanged) -> StepChange:
        now = self._clock()
        row = self.row(event.name)
        seconds: float | None = None
        stopped = False
        output = None
        if event.step_state == StepState.PREPARING:
            row.queued += 1
        elif event.step_state == StepState.RUNNING:
            # A queued event is the next to get a free worker, so a start drains the queue first.
            if row.queued:
                row.queued -= 1
            row.active[event.worker_id] = now
            row.failed = False
        else:
            started = row.active.pop(event.worker_id, None)
            if started is not None:
                seconds = now - started
                row.total_seconds += seconds
                row.last_seconds = seconds
            stopped = event.output_event_name is None
            row.finished += 1
            row.last_ended_stopped = stopped
            if stopped:
                row.stopped += 1
            elif not is_no_output(event.output_event_name):
                output = short_type_name(event.output_event_name)
                row.last_output = output
        return StepChange(
            row=row,
            state=event.step_state,
            worker_id=event.worker_id,
            input_name=short_type_name(event.input_event_name),
            output_name=output,
            seconds=seconds,
            stopped=stopped,
        )

    def mark_failed(self, name: str) -> StepRow:
        row = self.row(name)
        row.failed = True
        return row

    def snapshot(self) -> list[StepRow]:
        return list(self.rows.values())
