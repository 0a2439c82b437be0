"""Reading and deleting one run by id: the seams a server builds its handler views on."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from reflow.durable._encoding import JournalCodec, outcome_from_json
from reflow.durable._errors import JournalError
from reflow.durable._ops import FINISHED
from reflow.durable._queries import RunRow
from reflow.events import StopEvent


@dataclass(slots=True)
class DeleteFinishedRun:
    """Delete one finished run with its ticks, events, snapshot and inbox rows."""

    run_id: str

    def __call__(self, conn: sqlite3.Connection) -> str | None:
        """The run's status before deletion (None: no such run); unfinished runs stay."""
        found = conn.execute("SELECT status FROM runs WHERE run_id = ?", (self.run_id,)).fetchone()
        if found is None or found[0] not in FINISHED:
            return None if found is None else str(found[0])
        for table in ("ticks", "events", "snapshots", "inbox", "runs"):
            conn.execute(f"DELETE FROM {table} WHERE run_id = ?", (self.run_id,))
        return str(found[0])


def row_outcome(row: RunRow, codec: JournalCodec) -> StopEvent | BaseException | None:
    """A finished run's StopEvent or the exception it ended with; None while it runs."""
    if not row.finished:
        return None
    if row.outcome is None:
        return JournalError(f"Run {row.run_id} finished without a stored result")
    try:
        return outcome_from_json(codec, row.outcome)
    except Exception as exc:
        return JournalError(f"Cannot read the result of run {row.run_id}: {exc}")
