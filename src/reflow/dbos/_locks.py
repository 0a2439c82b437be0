"""Which locks a writing transaction of the PostgreSQL journal takes: per run, not per schema.

The SQLite journal's operations expect a serial view of what they touch (``BEGIN IMMEDIATE``
locks the file): a lease check and the write it guards must not interleave with another
process's writes to the same run.  Here that view is per run.  A transaction takes

- the journal schema's advisory lock in *shared* mode, then
- the advisory lock of every run its operations name (``op.run_id``), in sorted order, so
  two transactions never wait for each other in a cycle;

so writes to different runs proceed in parallel, from any number of processes.  Operations
that span runs (reaping dead processes' leases, pruning, moving inbox rows aside) or that this
module does not know take the schema lock in *exclusive* mode: they wait for every writing
transaction in flight and hold the others off, as before.  Registering a heartbeat touches only
the process's own row and needs no run lock.

Fencing is unchanged: every write to a run checks the run's ``owner`` under that run's lock.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from psycopg import sql

from reflow.durable._leases import Register

# Operations that write no run row and no row another transaction may write.
_NO_RUN = (Register,)


def schema_key(schema: str) -> str:
    """Text whose ``hashtext`` is the schema's lock (the one ``PgJournal._prepare`` takes)."""
    return f"reflow:{schema}"


def run_key(schema: str, run_id: str) -> str:
    """Text whose ``hashtextextended(_, 0)`` is the run's lock."""
    return f"reflow:{schema}:{run_id}"


def plan(schema: str, operations: Iterable[Any]) -> tuple[bool, list[str]]:
    """(whether the schema lock is needed exclusively, the run locks in the order to take)."""
    exclusive = False
    runs: set[str] = set()
    for op in operations:
        run_id = getattr(op, "run_id", None)
        if isinstance(run_id, str):
            runs.add(run_key(schema, run_id))
        elif not isinstance(op, _NO_RUN):
            exclusive = True
    return exclusive, [] if exclusive else sorted(runs)


def begin(schema: str, exclusive: bool, runs: list[str]) -> str:
    """``BEGIN`` and the statements taking the locks of ``plan``, as one script: one round
    trip to the server per transaction, as a bare ``BEGIN`` costs (locks end with it)."""
    mode = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    script = f"BEGIN; SELECT {mode}(hashtext({_literal(schema_key(schema))}))"
    if runs:
        # unnest yields the (sorted) keys in order, and the locks are taken in that order.
        script += (
            "; SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0)))"
            f" FROM unnest({_literal(runs)}::text[]) AS k"
        )
    return script


def _literal(value: Any) -> str:
    return sql.Literal(value).as_string(None)
