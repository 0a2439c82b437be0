"""The journal's schema and its versioned migrations.

A journal is a SQLite file marked with ``PRAGMA application_id`` (so a foreign database is never
mistaken for one) whose ``PRAGMA user_version`` is the number of the last migration applied.
``prepare`` checks both and applies the missing migrations, each in its own transaction; two
processes opening a fresh file at once serialize on the write lock and the second finds the
work done.

History:

1. runs, ticks (the journal proper), published events with a per-run sequence, snapshots.
2. sharing one file between processes: run leases (``owner``), a ``processes`` table with
   heartbeats, an ``inbox`` for events sent to runs driven elsewhere, and ``wake_at`` for runs
   released from memory while a timer is pending.
3. what the command line needs without importing workflow code: ``workflows`` (each workflow's
   catalogue: its steps, the event types they accept, how to import it again) and
   ``undelivered`` (inbox rows that could not be delivered, kept with the reason).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from reflow.durable._errors import JournalError

APPLICATION_ID = 0x52464C57  # "RFLW"


@dataclass(frozen=True)
class Migration:
    version: int
    summary: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "runs, ticks, events, snapshots",
        (
            """CREATE TABLE runs (
                run_id TEXT PRIMARY KEY,
                workflow TEXT NOT NULL,
                status TEXT NOT NULL,
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL,
                finished_at REAL,
                last_seq INTEGER NOT NULL DEFAULT 0,
                last_event_seq INTEGER NOT NULL DEFAULT 0,
                waiting_on TEXT,
                store TEXT,
                outcome TEXT
            )""",
            "CREATE INDEX runs_by_status ON runs (status, workflow)",
            "CREATE INDEX runs_by_finish ON runs (finished_at) WHERE finished_at IS NOT NULL",
            """CREATE TABLE ticks (
                run_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                at REAL NOT NULL,
                body TEXT NOT NULL,
                PRIMARY KEY (run_id, seq)
            ) WITHOUT ROWID""",
            """CREATE TABLE events (
                run_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                tick_seq INTEGER NOT NULL,
                body TEXT NOT NULL,
                PRIMARY KEY (run_id, seq)
            ) WITHOUT ROWID""",
            """CREATE TABLE snapshots (
                run_id TEXT PRIMARY KEY,
                seq INTEGER NOT NULL,
                body TEXT NOT NULL
            )""",
        ),
    ),
    Migration(
        2,
        "leases, processes, inbox, wake-ups",
        (
            "ALTER TABLE runs ADD COLUMN owner TEXT",
            "ALTER TABLE runs ADD COLUMN wake_at REAL",
            "CREATE INDEX runs_by_owner ON runs (owner) WHERE owner IS NOT NULL",
            "CREATE INDEX runs_by_wake ON runs (wake_at)"
            " WHERE owner IS NULL AND wake_at IS NOT NULL",
            """CREATE TABLE processes (
                owner TEXT PRIMARY KEY,
                pid INTEGER NOT NULL,
                host TEXT NOT NULL,
                started_at REAL NOT NULL,
                heartbeat_at REAL NOT NULL
            )""",
            """CREATE TABLE inbox (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                run_id TEXT NOT NULL,
                at REAL NOT NULL,
                body TEXT NOT NULL
            )""",
            "CREATE INDEX inbox_by_run ON inbox (run_id, id)",
        ),
    ),
    Migration(
        3,
        "workflow catalogues, undelivered inbox rows",
        (
            """CREATE TABLE workflows (
                name TEXT PRIMARY KEY,
                catalogue TEXT NOT NULL,
                updated_at REAL NOT NULL
            )""",
            """CREATE TABLE undelivered (
                id INTEGER PRIMARY KEY,
                run_id TEXT NOT NULL,
                at REAL NOT NULL,
                body TEXT NOT NULL,
                reason TEXT NOT NULL,
                moved_at REAL NOT NULL
            )""",
            "CREATE INDEX undelivered_by_run ON undelivered (run_id, id)",
        ),
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version


def _tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    return sorted(str(row[0]) for row in rows)


def _identity(conn: sqlite3.Connection, path: str) -> int:
    """The schema version of the file; raises if it is not a reflow journal this code can use."""
    app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if app_id == 0 and version == 0:
        tables = _tables(conn)
        if tables:
            shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
            raise JournalError(
                f"{path} is a SQLite database but not a reflow journal (it has the tables "
                f"{shown}); give DurableRuntime a new file"
            )
        return 0
    if app_id != APPLICATION_ID:
        raise JournalError(
            f"{path} is a SQLite database of another application "
            f"(application_id {app_id:#x}), not a reflow journal"
        )
    if version > LATEST_VERSION:
        raise JournalError(
            f"{path} has journal schema version {version}, newer than this reflow understands "
            f"(up to {LATEST_VERSION}); upgrade reflow to open it"
        )
    return version


def prepare(
    conn: sqlite3.Connection,
    path: str,
    *,
    target: int = LATEST_VERSION,
    begin: Callable[[sqlite3.Connection], None] | None = None,
) -> int:
    """Check the file and migrate it to ``target``; returns the version it is at afterwards.

    ``conn`` must be in autocommit mode.  ``begin`` starts a write transaction (the journal's
    retrying ``BEGIN IMMEDIATE``); by default a plain ``BEGIN IMMEDIATE``.
    """
    if not 0 <= target <= LATEST_VERSION:
        raise ValueError(f"target schema version must be within 0..{LATEST_VERSION}, got {target}")
    current = _identity(conn, path)
    if current >= target:
        return current
    (begin or _begin_immediate)(conn)
    try:
        version = _identity(conn, path)  # another process may have migrated meanwhile
        for migration in MIGRATIONS:
            if version < migration.version <= target:
                for statement in migration.statements:
                    conn.execute(statement)
                version = migration.version
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {version}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return version


def _begin_immediate(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")
