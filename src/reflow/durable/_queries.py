"""The journal's reading operations: run rows, event pages, and the scan for work to pick up."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field

from reflow.durable._encoding import loads
from reflow.durable._ops import FINISHED

_RUN_COLUMNS = (
    "run_id, workflow, status, owner, created_at, updated_at, finished_at, last_seq,"
    " last_event_seq, waiting_on, store, outcome, wake_at"
)
_FINISHED_SQL = ", ".join(f"'{status}'" for status in FINISHED)


@dataclass(slots=True)
class RunRow:
    run_id: str
    workflow: str
    status: str
    owner: str | None
    created_at: float
    updated_at: float
    finished_at: float | None
    last_seq: int
    last_event_seq: int
    waiting_on: list[str]
    store: str | None
    outcome: str | None
    wake_at: float | None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


def _row(values: Sequence[object]) -> RunRow:
    waiting = values[9]
    return RunRow(
        run_id=str(values[0]),
        workflow=str(values[1]),
        status=str(values[2]),
        owner=None if values[3] is None else str(values[3]),
        created_at=float(values[4]),  # type: ignore[arg-type]
        updated_at=float(values[5]),  # type: ignore[arg-type]
        finished_at=None if values[6] is None else float(values[6]),  # type: ignore[arg-type]
        last_seq=int(values[7]),  # type: ignore[call-overload]
        last_event_seq=int(values[8]),  # type: ignore[call-overload]
        waiting_on=[] if waiting is None else list(loads(str(waiting))),
        store=None if values[10] is None else str(values[10]),
        outcome=None if values[11] is None else str(values[11]),
        wake_at=None if values[12] is None else float(values[12]),  # type: ignore[arg-type]
    )


@dataclass(slots=True)
class Lookup:
    run_id: str

    def __call__(self, conn: sqlite3.Connection) -> RunRow | None:
        found = conn.execute(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", (self.run_id,)
        ).fetchone()
        return None if found is None else _row(found)


@dataclass(slots=True)
class ListRuns:
    """Run rows, newest first, filtered by status, workflow name and run id prefix."""

    statuses: tuple[str, ...] | None = None
    workflows: tuple[str, ...] | None = None
    limit: int | None = None
    offset: int = 0
    id_prefix: str | None = None

    def __call__(self, conn: sqlite3.Connection) -> list[RunRow]:
        where: list[str] = []
        params: list[object] = []
        if self.statuses is not None:
            where.append(f"status IN ({', '.join('?' * len(self.statuses))})")
            params.extend(self.statuses)
        if self.workflows is not None:
            where.append(f"workflow IN ({', '.join('?' * len(self.workflows))})")
            params.extend(self.workflows)
        if self.id_prefix:
            # substr, not LIKE: an id may hold '%' or '_', which LIKE would treat as wildcards.
            where.append("substr(run_id, 1, ?) = ?")
            params.extend((len(self.id_prefix), self.id_prefix))
        sql = f"SELECT {_RUN_COLUMNS} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC, run_id"
        if self.limit is not None or self.offset:
            sql += " LIMIT ? OFFSET ?"
            params.extend((-1 if self.limit is None else self.limit, self.offset))
        return [_row(values) for values in conn.execute(sql, params).fetchall()]


@dataclass(slots=True)
class EventsPage:
    """Published events of a run with ``seq > after``, oldest first, and the run's status."""

    run_id: str
    after: int
    limit: int = 1000

    def __call__(self, conn: sqlite3.Connection) -> tuple[list[tuple[int, str]], str | None]:
        status = conn.execute("SELECT status FROM runs WHERE run_id = ?", (self.run_id,)).fetchone()
        rows = conn.execute(
            "SELECT seq, body FROM events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (self.run_id, self.after, self.limit),
        ).fetchall()
        return [(int(seq), str(body)) for seq, body in rows], None if status is None else status[0]


@dataclass(slots=True)
class TicksPage:
    run_id: str
    after: int = 0
    limit: int = 1000

    def __call__(self, conn: sqlite3.Connection) -> list[tuple[int, float, str]]:
        rows = conn.execute(
            "SELECT seq, at, body FROM ticks WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (self.run_id, self.after, self.limit),
        ).fetchall()
        return [(int(seq), float(at), str(body)) for seq, at, body in rows]


@dataclass(slots=True)
class ScanResult:
    claimable: list[tuple[str, str]] = field(default_factory=list)  # (run_id, workflow)
    inbox: list[tuple[int, str, str]] = field(default_factory=list)  # (id, run_id, body)
    stale_inbox: list[tuple[int, str]] = field(default_factory=list)  # (id, why)
    watched: dict[str, tuple[str, int]] = field(default_factory=dict)  # status, last_event_seq


@dataclass(slots=True)
class Scan:
    """What this process should do: runs to claim, inbox rows for its runs, watched runs' state.

    Claimable runs: held by a process that is not alive, or released with a timer now due, or
    released with events waiting in the inbox.
    """

    owner: str
    now: float
    lease_seconds: float
    watched: tuple[str, ...] = ()
    limit: int = 200

    def __call__(self, conn: sqlite3.Connection) -> ScanResult:
        result = ScanResult()
        live = "SELECT owner FROM processes WHERE heartbeat_at >= ?"
        fresh = self.now - self.lease_seconds
        seen: set[str] = set()
        for sql, params in (
            (
                "SELECT run_id, workflow FROM runs WHERE owner IS NOT NULL"
                f" AND status NOT IN ({_FINISHED_SQL}) AND owner NOT IN ({live}) LIMIT ?",
                (fresh, self.limit),
            ),
            (
                "SELECT run_id, workflow FROM runs WHERE owner IS NULL AND wake_at IS NOT NULL"
                " AND wake_at <= ? LIMIT ?",
                (self.now, self.limit),
            ),
            (
                "SELECT DISTINCT r.run_id, r.workflow FROM inbox i JOIN runs r"
                f" ON r.run_id = i.run_id WHERE r.status NOT IN ({_FINISHED_SQL})"
                f" AND (r.owner IS NULL OR r.owner NOT IN ({live})) LIMIT ?",
                (fresh, self.limit),
            ),
        ):
            for run_id, workflow in conn.execute(sql, params).fetchall():
                if run_id not in seen:
                    seen.add(run_id)
                    result.claimable.append((str(run_id), str(workflow)))
        result.inbox = [
            (int(i), str(run_id), str(body))
            for i, run_id, body in conn.execute(
                "SELECT i.id, i.run_id, i.body FROM inbox i JOIN runs r ON r.run_id = i.run_id"
                " WHERE r.owner = ? ORDER BY i.id",
                (self.owner,),
            ).fetchall()
        ]
        result.stale_inbox = [
            (
                int(row_id),
                "the run no longer exists"
                if status is None
                else f"the run had ended ({status}) before it was delivered",
            )
            for row_id, status in conn.execute(
                "SELECT i.id, r.status FROM inbox i LEFT JOIN runs r ON r.run_id = i.run_id"
                f" WHERE r.run_id IS NULL OR r.status IN ({_FINISHED_SQL})"
            ).fetchall()
        ]
        for start in range(0, len(self.watched), 500):
            chunk = self.watched[start : start + 500]
            for run_id, status, last_event_seq in conn.execute(
                "SELECT run_id, status, last_event_seq FROM runs"
                f" WHERE run_id IN ({', '.join('?' * len(chunk))})",
                chunk,
            ).fetchall():
                result.watched[str(run_id)] = (str(status), int(last_event_seq))
        return result


@dataclass(slots=True)
class Undelivered:
    """Inbox rows of a run that were moved aside: (id, at, body, reason), oldest first."""

    run_id: str

    def __call__(self, conn: sqlite3.Connection) -> list[tuple[int, float, str, str]]:
        rows = conn.execute(
            "SELECT id, at, body, reason FROM undelivered WHERE run_id = ? ORDER BY id",
            (self.run_id,),
        ).fetchall()
        return [(int(i), float(at), str(body), str(reason)) for i, at, body, reason in rows]


@dataclass(slots=True)
class CatalogueOf:
    """The stored catalogue of a workflow (JSON text), or None."""

    workflow: str

    def __call__(self, conn: sqlite3.Connection) -> str | None:
        row = conn.execute(
            "SELECT catalogue FROM workflows WHERE name = ?", (self.workflow,)
        ).fetchone()
        return None if row is None else str(row[0])


@dataclass(slots=True)
class Holder:
    """Who holds a run: (pid, host, heartbeat_at) of its owner's process row, or None."""

    owner: str

    def __call__(self, conn: sqlite3.Connection) -> tuple[int, str, float] | None:
        row = conn.execute(
            "SELECT pid, host, heartbeat_at FROM processes WHERE owner = ?", (self.owner,)
        ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]), float(row[2]))


_QUESTION = '%"qualified_name":"reflow.events.InputRequiredEvent"%'
_ANSWER = '{"type":"add_event"%"qualified_name":"reflow.events.HumanResponseEvent"%'


@dataclass(slots=True)
class OpenQuestions:
    """The event seqs of a run's ``InputRequiredEvent`` questions that no answer has met yet.

    Answers are ``HumanResponseEvent`` ticks (journaled, or waiting in the inbox); each answers
    the oldest open question published before it, as the command line pairs them.  Matching on
    the stored type names is enough for that: subclasses are not counted.
    """

    run_id: str

    def __call__(self, conn: sqlite3.Connection) -> list[int]:
        questions = conn.execute(
            "SELECT seq, tick_seq FROM events WHERE run_id = ? AND body LIKE ? ORDER BY seq",
            (self.run_id, _QUESTION),
        ).fetchall()
        if not questions:
            return []
        answers = [
            int(row[0])
            for row in conn.execute(
                "SELECT seq FROM ticks WHERE run_id = ? AND body LIKE ? ORDER BY seq",
                (self.run_id, _ANSWER),
            ).fetchall()
        ]
        queued = conn.execute(
            "SELECT COUNT(*) FROM inbox WHERE run_id = ? AND body LIKE ?", (self.run_id, _ANSWER)
        ).fetchone()[0]
        open_questions: list[int] = []
        pending = [(int(seq), int(tick)) for seq, tick in questions]
        for answer_tick in answers:
            while pending and pending[0][1] < answer_tick:
                open_questions.append(pending.pop(0)[0])
            if open_questions:
                open_questions.pop(0)
        open_questions.extend(seq for seq, _ in pending)
        return open_questions[int(queued) :]
