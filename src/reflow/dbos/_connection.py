"""The durable journal's operations on PostgreSQL: a psycopg connection speaking their dialect.

The journal operations of ``reflow.durable`` are written once, as small SQL functions of a
DB-API connection (``execute``, ``executemany``, ``fetchone``, ``rowcount``, ``lastrowid``).
``PgConnection`` gives them a PostgreSQL connection with that surface, so the same operations,
with the same lease checks, run on both databases.  The few differences are translated here:
``?`` placeholders, ``INSERT OR REPLACE`` (an upsert on the table's key), ``lastrowid`` (a
``RETURNING id``), and errors (an integrity error stays an integrity error, so a duplicate run
id is still ``RunExists``; anything else fails the whole transaction, as a SQLite I/O error
does).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
import sqlalchemy
import sqlalchemy.exc
from psycopg import pq
from sqlalchemy.pool import StaticPool

# The key of each table written with ``INSERT OR REPLACE``.
_KEYS = {"workflows": "name", "snapshots": "run_id"}
# Tables with a generated ``id`` whose inserts report it as ``lastrowid``.
_SERIAL = ("inbox", "undelivered")
_REPLACE = re.compile(
    r"INSERT OR REPLACE INTO (\w+) \(([^)]*)\)\s*VALUES \(([^)]*)\)", re.IGNORECASE | re.DOTALL
)
_INSERT_SERIAL = re.compile(r"^\s*INSERT INTO (inbox|undelivered)\b", re.IGNORECASE)
# Writes that readers in other processes wait for, and where the statement has the run id:
# published events, run rows (status, outcome), events sent to a run.
_RUN_ID_AT = {"INSERT INTO events": 0, "INSERT INTO inbox": 0, "UPDATE runs SET status": -2}


def translate(sql: str) -> tuple[str, bool]:
    """``sql`` in PostgreSQL's dialect, and whether it returns a generated ``id``."""
    match = _REPLACE.search(sql)
    if match is not None:
        table, columns = match.group(1), [c.strip() for c in match.group(2).split(",")]
        key = _KEYS[table]
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != key)
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({match.group(3)})"
            f" ON CONFLICT ({key}) DO UPDATE SET {updates}"
        )
    returning = _INSERT_SERIAL.match(sql) is not None
    if returning:
        sql += " RETURNING id"
    return sql.replace("%", "%%").replace("?", "%s"), returning


class PgCursor:
    """The part of a sqlite3 cursor the journal operations use."""

    __slots__ = ("_rows", "lastrowid", "rowcount")

    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int, lastrowid: int | None) -> None:
        self._rows = rows
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows

    def __iter__(self) -> Any:
        return iter(self._rows)


class PgConnection:
    """One psycopg connection (autocommit; the journal sends ``BEGIN`` and ``COMMIT`` itself)."""

    def __init__(self, dsn: str, schema: str) -> None:
        self.dsn = dsn
        self.schema = schema
        self._conn: psycopg.Connection[Any] | None = None
        self._sa: sqlalchemy.Connection | None = None
        # Runs the open transaction changed: notified when it commits (see ``PgJournal``).
        self.touched: set[str] = set()
        self.connect()

    def connect(self) -> None:
        """(Re)connect: a connection PostgreSQL dropped is replaced at the next transaction."""
        self._drop_sqlalchemy()
        if self._conn is not None and not self._conn.closed:
            self._conn.close()
        try:
            self._conn = psycopg.connect(
                self.dsn,
                autocommit=True,
                connect_timeout=10,
                application_name=f"reflow-journal:{self.schema}"[:63],
            )
            self._conn.execute(f'SET search_path TO "{self.schema}"')
            self.sqlalchemy()
        except (psycopg.Error, sqlalchemy.exc.DBAPIError) as exc:
            raise sqlite3.OperationalError(f"cannot connect to PostgreSQL: {exc}") from exc

    @property
    def broken(self) -> bool:
        return self._conn is None or self._conn.closed or self._conn.broken

    @property
    def in_transaction(self) -> bool:
        conn = self._conn
        if conn is None or conn.closed:
            return False
        return conn.info.transaction_status != pq.TransactionStatus.IDLE

    def _run(self, sql: str, rows: Iterable[Sequence[Any]]) -> PgCursor:
        assert self._conn is not None
        if sql == "ROLLBACK":
            self.touched.clear()
        at = next((i for prefix, i in _RUN_ID_AT.items() if sql.startswith(prefix)), None)
        if at is not None:
            rows = list(rows)
            self.touched.update(str(params[at]) for params in rows)
        text, returning = translate(sql)
        fetched: list[tuple[Any, ...]] = []
        count, lastrowid = 0, None
        try:
            with self._conn.cursor() as cursor:
                for params in rows:
                    cursor.execute(text, tuple(params) or None)
                    count += max(cursor.rowcount, 0)
                    if cursor.description is not None:
                        fetched.extend(cursor.fetchall())
        except psycopg.errors.IntegrityError as exc:
            raise sqlite3.IntegrityError(str(exc)) from exc
        except psycopg.Error as exc:
            raise sqlite3.OperationalError(f"PostgreSQL: {exc}") from exc
        if returning and fetched:
            lastrowid = int(fetched[-1][0])
        return PgCursor(fetched, count, lastrowid)

    def script(self, sql: str) -> None:
        """Run statements given as literal PostgreSQL text, in one round trip (no parameters,
        no translation)."""
        assert self._conn is not None
        try:
            self._conn.execute(sql.encode())
        except psycopg.Error as exc:
            raise sqlite3.OperationalError(f"PostgreSQL: {exc}") from exc

    def execute(self, sql: str, params: Sequence[Any] = ()) -> PgCursor:
        return self._run(sql, [params])

    def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> PgCursor:
        return self._run(sql, seq)

    def sqlalchemy(self) -> sqlalchemy.Connection:
        """This same connection as SQLAlchemy sees it, for statements that another library
        builds (DBOS's enqueue, ``_enqueue``) in the journal's open transaction.

        SQLAlchemy never begins, commits or resets it: the connection is in autocommit mode
        and the journal sends ``BEGIN`` and ``COMMIT`` itself, so what SQLAlchemy would send
        (nothing to begin; a commit or a reset of an idle connection) is nothing.  It is made
        when the connection is (``connect``): SQLAlchemy's first use of a connection ends with a
        rollback, which inside a transaction would undo the journal's writes.
        """
        if self._sa is None:
            raw = self._conn
            assert raw is not None and not self.in_transaction
            engine = sqlalchemy.create_engine(
                "postgresql+psycopg://",
                creator=lambda: raw,
                poolclass=StaticPool,
                pool_reset_on_return=None,
            )
            self._sa = engine.connect()
        return self._sa

    def _drop_sqlalchemy(self) -> None:
        sa, self._sa = self._sa, None
        if sa is not None:
            sa.engine.dispose(close=False)  # the psycopg connection is closed by its owner

    def close(self) -> None:
        self._drop_sqlalchemy()
        if self._conn is not None:
            self._conn.close()
