"""``PgJournal``: the durable journal in a PostgreSQL schema, shared by every process of a cluster.

The journal's tables are those of the SQLite journal (``reflow.durable._schema``, its three
migrations in one), with PostgreSQL types.  Writing transactions take the advisory locks of
the runs they write (``_locks``), which gives every operation on a run the serial view it has
on SQLite (where ``BEGIN IMMEDIATE`` takes the file's write lock): a lease check and the write
it guards can never interleave with another process's write to that run, while writes to
different runs proceed in parallel.  Reads take no lock.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import time
from collections.abc import Callable
from typing import Any

import psycopg

from reflow.dbos import _locks
from reflow.dbos._connection import PgConnection
from reflow.durable._errors import JournalError
from reflow.durable._journal import Journal

SCHEMA_VERSION = 1
# A transaction PostgreSQL aborted to break a deadlock (two processes' transactions each
# waiting for a row the other wrote, e.g. two workflows' catalogue rows upserted in the
# opposite order) ran none of its writes: it is run again, this many times at most.
CONFLICT_RETRIES = 5
logger = logging.getLogger("reflow.dbos")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_PASSWORD = re.compile(r"(://[^:/@]+:)[^@]*@")

_TABLES = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    workflow TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    finished_at DOUBLE PRECISION,
    last_seq BIGINT NOT NULL DEFAULT 0,
    last_event_seq BIGINT NOT NULL DEFAULT 0,
    waiting_on TEXT,
    store TEXT,
    outcome TEXT,
    owner TEXT,
    wake_at DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, workflow);
CREATE INDEX IF NOT EXISTS runs_by_finish ON runs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS runs_by_owner ON runs (owner) WHERE owner IS NOT NULL;
CREATE INDEX IF NOT EXISTS runs_by_wake ON runs (wake_at)
    WHERE owner IS NULL AND wake_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS ticks (
    run_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    tick_seq BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS snapshots (
    run_id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS processes (
    owner TEXT PRIMARY KEY,
    pid BIGINT NOT NULL,
    host TEXT NOT NULL,
    started_at DOUBLE PRECISION NOT NULL,
    heartbeat_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS inbox (
    id BIGSERIAL PRIMARY KEY,
    run_id TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_by_run ON inbox (run_id, id);
CREATE TABLE IF NOT EXISTS workflows (
    name TEXT PRIMARY KEY,
    catalogue TEXT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS undelivered (
    id BIGSERIAL PRIMARY KEY,
    run_id TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    body TEXT NOT NULL,
    reason TEXT NOT NULL,
    moved_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS undelivered_by_run ON undelivered (run_id, id);
CREATE TABLE IF NOT EXISTS journal_version (version INTEGER NOT NULL);
"""


def check_schema(schema: str) -> str:
    if not isinstance(schema, str) or not _IDENT.match(schema):
        raise ValueError(
            f"schema must be a PostgreSQL identifier (letters, digits, '_'), got {schema!r}"
        )
    return schema


def shown(dsn: str) -> str:
    """The DSN as errors show it: without its password."""
    return _PASSWORD.sub(r"\1***@", dsn)


class PgJournal(Journal):
    """The runtime's one PostgreSQL connection to the journal in ``schema``, on its own thread."""

    def __init__(self, dsn: str, schema: str, *, max_wait: float = 60.0) -> None:
        if not isinstance(dsn, str) or not dsn.startswith(("postgresql://", "postgres://")):
            raise JournalError(f"the journal needs a postgresql:// URL, got {dsn!r}")
        self.dsn = dsn
        self.schema = check_schema(schema)
        self.channel = f"reflow_{schema}"[:63]
        # The locks of the transaction being run (set by ``_run``, taken by ``_begin``).
        self._locks: tuple[bool, list[str]] = (True, [])
        super().__init__(f"{shown(dsn)} (schema {schema})", max_wait=max_wait)

    @staticmethod
    def _check_target(path: str | os.PathLike[str]) -> str:
        return os.fspath(path)

    def _connect(self) -> Any:
        return PgConnection(self.dsn, self.schema)

    def _prepare(self, conn: Any) -> int:
        """Create the schema and its tables once, under a lock (several processes may start)."""
        conn.execute("BEGIN")
        try:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (f"reflow:{self.schema}",))
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            for statement in _TABLES.split(";"):
                if statement.strip():
                    conn.execute(statement)
            row = conn.execute("SELECT max(version) FROM journal_version").fetchone()
            version = None if row is None else row[0]
            if version is not None and version > SCHEMA_VERSION:
                raise JournalError(
                    f"{self.path} has journal schema version {version}, newer than this reflow"
                    f" understands (up to {SCHEMA_VERSION}); upgrade reflow to open it"
                )
            if version is None:
                conn.execute("INSERT INTO journal_version VALUES (?)", (SCHEMA_VERSION,))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return SCHEMA_VERSION

    def _begin(self, conn: Any, statement: str = "BEGIN IMMEDIATE") -> None:
        if conn.broken:
            conn.connect()
        script = "BEGIN"
        if statement == "BEGIN IMMEDIATE":
            script = _locks.begin(self.schema, *self._locks)
        try:
            conn.script(script)
        except sqlite3.OperationalError:
            # PostgreSQL dropped the idle connection (a restart, pg_terminate_backend): nothing
            # of this transaction ran yet, so connecting again and beginning is safe.
            conn.connect()
            conn.script(script)

    def _run(self, ops: list[Any]) -> None:
        self._locks = _locks.plan(self.schema, (op.fn for op in ops if op.write))
        super()._run(ops)

    def _transact(
        self,
        ops: list[Any],
        begin: Callable[[Any, str], None],
        commit: Callable[[Any], None],
    ) -> list[tuple[Any, bool, Any]]:
        """The transaction, run again when PostgreSQL chose it as a deadlock's (or a
        serialization conflict's) victim: it was rolled back whole, so nothing ran twice."""
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                return super()._transact(ops, begin, commit)
            except sqlite3.OperationalError as exc:
                if attempt == CONFLICT_RETRIES or not _is_conflict(exc):
                    raise
                logger.warning("reflow.dbos: %s; running the transaction again", exc)
                time.sleep(0.01 * 2**attempt)
        raise AssertionError("unreachable")

    def _commit(self, conn: Any) -> None:
        # Delivered by PostgreSQL when (and only if) the transaction commits.
        for run_id in conn.touched:
            conn.execute("SELECT pg_notify(?, ?)", (self.channel, run_id))
        conn.touched.clear()
        conn.execute("COMMIT")


def _is_conflict(exc: BaseException) -> bool:
    cause = exc.__cause__
    return isinstance(cause, (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure))
