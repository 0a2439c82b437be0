"""A durable run's trace context, kept in its journal file so a resumed run stays in its trace.

When a durable run starts, the ``traceparent`` of its run span is written to the table
``reflow_trace_context`` (``run_id`` primary key, ``traceparent``) of the runtime's SQLite
file, in its own committed statement, before any step runs.  When the run is resumed in any
process (after a crash, a release or a takeover), the new run span is made a child of that
stored span: the whole run, across processes and restarts, is one trace.  The table belongs to
this module; the journal's schema is not touched.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable

from opentelemetry import context as otel_context
from opentelemetry.trace import Span

from reflow.observability._propagation import context_from_traceparent, traceparent_of

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS reflow_trace_context ("
    "run_id TEXT PRIMARY KEY, traceparent TEXT NOT NULL)"
)


class TraceStore:
    def __init__(self, path: str, busy_timeout: float = 5.0) -> None:
        self.path = path
        self._busy_timeout = busy_timeout
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                self.path, timeout=self._busy_timeout, isolation_level=None
            )
            connection.execute(_SCHEMA)
            self._local.connection = connection
        return connection

    def load(self, run_id: str) -> str | None:
        row = (
            self._connection()
            .execute("SELECT traceparent FROM reflow_trace_context WHERE run_id = ?", (run_id,))
            .fetchone()
        )
        return None if row is None else str(row[0])

    def save(self, run_id: str, traceparent: str) -> None:
        self._connection().execute(
            "INSERT OR IGNORE INTO reflow_trace_context (run_id, traceparent) VALUES (?, ?)",
            (run_id, traceparent),
        )

    def parent_for(self, run_id: str, current: otel_context.Context) -> otel_context.Context:
        """The stored run span of ``run_id`` as the parent, or ``current`` for a new run."""
        stored = context_from_traceparent(self.load(run_id))
        return current if stored is None else stored

    def recorder(self, run_id: str) -> Callable[[Span, bool], None]:
        def record(span: Span, resumed: bool) -> None:
            traceparent = traceparent_of(span)
            if traceparent is not None and not resumed:
                self.save(run_id, traceparent)

        return record
