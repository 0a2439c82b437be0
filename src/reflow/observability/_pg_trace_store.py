"""A ``DBOSRuntime`` run's trace context, kept in its PostgreSQL journal schema.

The same rule as the SQLite file's (``_trace_store``): the first run span's ``traceparent`` is
written to ``reflow_trace_context`` in the journal's schema before any step runs, and a run
resumed by any process of the cluster becomes its child.  The table belongs to this module;
the journal's own tables are not touched.
"""

from __future__ import annotations

import threading
from typing import Any

import psycopg

from reflow.observability._trace_store import TraceStore


class PgTraceStore(TraceStore):
    def __init__(self, dsn: str, schema: str) -> None:
        super().__init__(dsn)
        self.schema = schema
        self._local = threading.local()

    def _pg(self) -> psycopg.Connection[Any]:
        connection: psycopg.Connection[Any] | None = getattr(self._local, "pg", None)
        if connection is None or connection.closed:
            connection = psycopg.connect(self.path, autocommit=True, connect_timeout=10)
            connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            connection.execute(
                f'CREATE TABLE IF NOT EXISTS "{self.schema}".reflow_trace_context ('
                "run_id TEXT PRIMARY KEY, traceparent TEXT NOT NULL)"
            )
            self._local.pg = connection
        return connection

    def load(self, run_id: str) -> str | None:
        row = (
            self._pg()
            .execute(
                f'SELECT traceparent FROM "{self.schema}".reflow_trace_context WHERE run_id = %s',
                (run_id,),
            )
            .fetchone()
        )
        return None if row is None else str(row[0])

    def save(self, run_id: str, traceparent: str) -> None:
        self._pg().execute(
            f'INSERT INTO "{self.schema}".reflow_trace_context (run_id, traceparent)'
            " VALUES (%s, %s) ON CONFLICT (run_id) DO NOTHING",
            (run_id, traceparent),
        )
