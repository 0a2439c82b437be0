"""The journal's writing operations, each a callable of the connection run on the journal thread.

Every write to a run is fenced by its lease: it names the process that holds the run
(``owner``) and does nothing but raise ``LeaseLost`` if another process has taken the run over.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from reflow.durable._errors import LeaseLost, RunExists, UnknownRun

FINISHED = ("completed", "failed", "cancelled", "timed_out")


@dataclass(slots=True)
class NewRun:
    """What the first batch of a run writes besides its ticks."""

    workflow: str
    created_at: float
    start_snapshot: str | None = None  # the state a run restored from a Context starts from
    catalogue: str | None = None  # the workflow's catalogue, the first time this process writes it


_UPDATE_COUNTERS = (
    "UPDATE runs SET updated_at = ?, last_seq = ?, last_event_seq = ?, waiting_on = ?,"
    " store = COALESCE(?, store) WHERE run_id = ? AND owner = ?"
)
_UPDATE_ROW = (
    "UPDATE runs SET updated_at = ?, last_seq = ?, last_event_seq = ?, waiting_on = ?,"
    " store = COALESCE(?, store), status = ?, owner = ?, finished_at = ?, outcome = ?"
    " WHERE run_id = ? AND owner = ?"
)


@dataclass(slots=True)
class Append:
    """One run's ticks and published events since its last batch, and the run row's new values.

    ``store`` None leaves the stored user state as it is.  ``consumed`` lists inbox rows whose
    events are among the ticks: they are deleted in the same transaction (exactly-once).
    ``same_status``: the row's status and lease are what the previous batch wrote, so they are
    not written again (which would rewrite the pages of the indexes on them, most batches).
    """

    run_id: str
    owner: str
    now: float
    status: str
    last_seq: int
    last_event_seq: int
    ticks: list[tuple[str, int, float, str]]
    events: list[tuple[str, int, int, str]]
    waiting_on: str | None = None
    store: str | None = None
    snapshot: tuple[int, str] | None = None
    outcome: str | None = None
    consumed: list[int] = field(default_factory=list)
    new_run: NewRun | None = None
    same_status: bool = False
    # Another zone's rows committed with the batch (``_seams.BatchWrites.write``).
    also: Callable[[Any], None] | None = None

    def __call__(self, conn: sqlite3.Connection) -> None:
        finished = self.status in FINISHED
        finished_at = self.now if finished else None
        owner = None if finished else self.owner
        if self.new_run is not None:
            new = self.new_run
            try:
                conn.execute(
                    "INSERT INTO runs (run_id, workflow, status, owner, created_at, updated_at,"
                    " finished_at, last_seq, last_event_seq, waiting_on, store, outcome)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        self.run_id,
                        new.workflow,
                        self.status,
                        owner,
                        new.created_at,
                        self.now,
                        finished_at,
                        self.last_seq,
                        self.last_event_seq,
                        self.waiting_on,
                        self.store,
                        self.outcome,
                    ),
                )
            except sqlite3.IntegrityError:
                raise RunExists(self.run_id) from None
            if new.catalogue is not None:
                conn.execute(
                    "INSERT OR REPLACE INTO workflows (name, catalogue, updated_at)"
                    " VALUES (?, ?, ?)",
                    (new.workflow, new.catalogue, self.now),
                )
            if new.start_snapshot is not None:
                conn.execute(
                    "INSERT INTO snapshots (run_id, seq, body) VALUES (?, 0, ?)",
                    (self.run_id, new.start_snapshot),
                )
        else:
            # Both forms set the counters, times, waiting types and store, fenced by the lease.
            common = (self.now, self.last_seq, self.last_event_seq, self.waiting_on, self.store)
            if self.same_status:
                sql = _UPDATE_COUNTERS
                params: tuple[object, ...] = (*common, self.run_id, self.owner)
            else:
                sql = _UPDATE_ROW
                params = (*common, self.status, owner, finished_at, self.outcome)
                params += (self.run_id, self.owner)
            if conn.execute(sql, params).rowcount == 0:
                raise LeaseLost(self.run_id)
        if self.ticks:
            conn.executemany(
                "INSERT INTO ticks (run_id, seq, at, body) VALUES (?, ?, ?, ?)", self.ticks
            )
        if self.events:
            conn.executemany(
                "INSERT INTO events (run_id, seq, tick_seq, body) VALUES (?, ?, ?, ?)",
                self.events,
            )
        if self.snapshot is not None:
            conn.execute(
                "INSERT OR REPLACE INTO snapshots (run_id, seq, body) VALUES (?, ?, ?)",
                (self.run_id, *self.snapshot),
            )
        if self.consumed:
            conn.executemany("DELETE FROM inbox WHERE id = ?", [(i,) for i in self.consumed])
        if self.also is not None:
            self.also(conn)


@dataclass(slots=True)
class Loaded:
    """A run this process just claimed, with what it takes to rebuild it."""

    run_id: str
    workflow: str
    last_seq: int
    last_event_seq: int
    store: str | None
    snapshot: tuple[int, str] | None
    ticks: list[tuple[int, str]]
    inbox: list[tuple[int, str]]


@dataclass(slots=True)
class Refused:
    """The run could not be claimed: it finished, or a live process holds it."""

    run_id: str
    workflow: str
    status: str
    owner: str | None


def _live_owner_sql() -> str:
    return "SELECT owner FROM processes WHERE heartbeat_at >= ?"


@dataclass(slots=True)
class Claim:
    """Take the lease of a run nobody live holds, and read its snapshot, ticks and inbox."""

    run_id: str
    owner: str
    now: float
    lease_seconds: float
    workflows: frozenset[str] | None = None  # claim only runs of these workflows

    def __call__(self, conn: sqlite3.Connection) -> Loaded | Refused:
        row = conn.execute(
            "SELECT workflow, status, owner, last_seq, last_event_seq, store FROM runs"
            " WHERE run_id = ?",
            (self.run_id,),
        ).fetchone()
        if row is None:
            raise UnknownRun(f"No run with id {self.run_id!r} in the journal")
        workflow, status, owner, last_seq, last_event_seq, store = row
        if status in FINISHED or (self.workflows is not None and workflow not in self.workflows):
            return Refused(self.run_id, workflow, status, owner)
        if owner is not None and owner != self.owner:
            alive = conn.execute(
                f"SELECT 1 FROM processes WHERE owner = ? AND owner IN ({_live_owner_sql()})",
                (owner, self.now - self.lease_seconds),
            ).fetchone()
            if alive is not None:
                return Refused(self.run_id, workflow, status, owner)
        conn.execute(
            "UPDATE runs SET owner = ?, wake_at = NULL, updated_at = ? WHERE run_id = ?",
            (self.owner, self.now, self.run_id),
        )
        snap = conn.execute(
            "SELECT seq, body FROM snapshots WHERE run_id = ?", (self.run_id,)
        ).fetchone()
        after = 0 if snap is None else int(snap[0])
        ticks = conn.execute(
            "SELECT seq, body FROM ticks WHERE run_id = ? AND seq > ? ORDER BY seq",
            (self.run_id, after),
        ).fetchall()
        inbox = conn.execute(
            "SELECT id, body FROM inbox WHERE run_id = ? ORDER BY id", (self.run_id,)
        ).fetchall()
        return Loaded(
            run_id=self.run_id,
            workflow=workflow,
            last_seq=int(last_seq),
            last_event_seq=int(last_event_seq),
            store=store,
            snapshot=None if snap is None else (int(snap[0]), str(snap[1])),
            ticks=[(int(seq), str(body)) for seq, body in ticks],
            inbox=[(int(i), str(body)) for i, body in inbox],
        )


@dataclass(slots=True)
class Release:
    """Give a run's lease back, leaving a snapshot so the next load replays nothing."""

    run_id: str
    owner: str
    now: float
    wake_at: float | None
    snapshot: tuple[int, str] | None
    store: str | None

    def __call__(self, conn: sqlite3.Connection) -> None:
        updated = conn.execute(
            "UPDATE runs SET owner = NULL, wake_at = ?, updated_at = ?, store = COALESCE(?, store)"
            " WHERE run_id = ? AND owner = ?",
            (self.wake_at, self.now, self.store, self.run_id, self.owner),
        )
        if updated.rowcount == 0:
            raise LeaseLost(self.run_id)
        if self.snapshot is not None:
            conn.execute(
                "INSERT OR REPLACE INTO snapshots (run_id, seq, body) VALUES (?, ?, ?)",
                (self.run_id, *self.snapshot),
            )


@dataclass(slots=True)
class PostToInbox:
    """Store an event (or a cancellation) for a run; returns the row id, or None if it ended."""

    run_id: str
    at: float
    body: str

    def __call__(self, conn: sqlite3.Connection) -> int | None:
        row = conn.execute("SELECT status FROM runs WHERE run_id = ?", (self.run_id,)).fetchone()
        if row is None:
            raise UnknownRun(f"No run with id {self.run_id!r} in the journal")
        if row[0] in FINISHED:
            return None
        cursor = conn.execute(
            "INSERT INTO inbox (run_id, at, body) VALUES (?, ?, ?)",
            (self.run_id, self.at, self.body),
        )
        return cursor.lastrowid


@dataclass(slots=True)
class MoveAside:
    """Move inbox rows that cannot be delivered to ``undelivered``, each with its reason.

    A row is never simply dropped: ``reflow runs show`` lists what was not delivered and why.
    """

    rows: Sequence[tuple[int, str]]  # (inbox id, reason)
    now: float

    def __call__(self, conn: sqlite3.Connection) -> int:
        moved = 0
        for row_id, reason in self.rows:
            found = conn.execute(
                "SELECT run_id, at, body FROM inbox WHERE id = ?", (row_id,)
            ).fetchone()
            if found is None:
                continue  # delivered (or moved) meanwhile
            conn.execute(
                "INSERT INTO undelivered (run_id, at, body, reason, moved_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (found[0], found[1], found[2], reason, self.now),
            )
            conn.execute("DELETE FROM inbox WHERE id = ?", (row_id,))
            moved += 1
        return moved


@dataclass(slots=True)
class Prune:
    """Delete finished runs that ended before ``before`` (at most ``limit`` per transaction)."""

    before: float
    limit: int = 500

    def __call__(self, conn: sqlite3.Connection) -> int:
        ids = [
            (row[0],)
            for row in conn.execute(
                "SELECT run_id FROM runs WHERE finished_at IS NOT NULL AND finished_at < ? LIMIT ?",
                (self.before, self.limit),
            )
        ]
        for table in ("ticks", "events", "snapshots", "inbox", "undelivered", "runs"):
            conn.executemany(f"DELETE FROM {table} WHERE run_id = ?", ids)
        return len(ids)
