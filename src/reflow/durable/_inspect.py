"""Read-only looks into a run's journal rows: its stored state, its start event, event times.

The server's run page shows these; nothing here writes.  Each is one read transaction.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from json import loads


@dataclass(slots=True)
class StateAndStart:
    """The run's stored state store (``to_dict`` JSON) and its first tick (the start), or
    None for an unknown run."""

    run_id: str

    def __call__(self, conn: sqlite3.Connection) -> tuple[str | None, str | None] | None:
        row = conn.execute("SELECT store FROM runs WHERE run_id = ?", (self.run_id,)).fetchone()
        if row is None:
            return None
        tick = conn.execute(
            "SELECT body FROM ticks WHERE run_id = ? ORDER BY seq LIMIT 1", (self.run_id,)
        ).fetchone()
        return (
            None if row[0] is None else str(row[0]),
            None if tick is None else str(tick[0]),
        )


@dataclass(slots=True)
class EventTimes:
    """When each event with ``seq > after`` was published: the time of the tick that
    published it (events and their tick are written in one transaction)."""

    run_id: str
    after: int
    limit: int = 1000

    def __call__(self, conn: sqlite3.Connection) -> list[tuple[int, float]]:
        rows = conn.execute(
            "SELECT e.seq, t.at FROM events e JOIN ticks t"
            " ON t.run_id = e.run_id AND t.seq = e.tick_seq"
            " WHERE e.run_id = ? AND e.seq > ? ORDER BY e.seq LIMIT ?",
            (self.run_id, self.after, self.limit),
        ).fetchall()
        return [(int(seq), float(at)) for seq, at in rows]


def start_event_json(tick_body: str | None) -> object | None:
    """The encoded start event of a run's first tick; None when that tick is not a start."""
    if tick_body is None:
        return None
    tick = loads(tick_body)
    if not isinstance(tick, dict) or tick.get("type") != "start_run":
        return None
    return tick.get("start_event")
