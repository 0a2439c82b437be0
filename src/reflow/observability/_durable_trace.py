"""Which trace store a workflow's runs keep their trace context in: its durable journal's.

One store per journal, shared by every run on it: the SQLite file of a ``DurableRuntime``
(``_trace_store``), or the PostgreSQL schema of a ``DBOSRuntime`` (``_pg_trace_store``).
"""

from __future__ import annotations

import sys
from typing import Any

from reflow.observability._trace_store import TraceStore

_stores: dict[str, TraceStore] = {}


def trace_store_for(workflow: Any) -> TraceStore | None:
    """The trace store of ``workflow``'s durable runtime (through decorators), if it has one."""
    durable = sys.modules.get("reflow.durable")
    if durable is None:
        return None  # never imported: no runtime can be durable
    runtime = getattr(workflow, "runtime", None)
    while runtime is not None and not isinstance(runtime, durable.DurableRuntime):
        runtime = getattr(runtime, "decorated", None)
    if runtime is None:
        return None
    dbos = sys.modules.get("reflow.dbos")
    if dbos is not None and isinstance(runtime, dbos.DBOSRuntime):
        # The journal is a PostgreSQL schema: the trace context lives next to it.
        key = f"{runtime.dsn}#{runtime.schema}"
        store = _stores.get(key)
        if store is None:
            # Loaded only here: psycopg is there whenever a DBOSRuntime is.
            from reflow.observability._pg_trace_store import PgTraceStore

            store = _stores[key] = PgTraceStore(runtime.dsn, runtime.schema)
        return store
    path = runtime.path
    store = _stores.get(path)
    if store is None:
        store = _stores[path] = TraceStore(path)
    return store
