"""``--db postgresql://...``: the command line on a DBOSRuntime cluster instead of a journal file.

The cluster's journal is a schema (``--schema``, default ``reflow``) of a PostgreSQL database.
``reflow run`` submits a run there (and follows it, or with ``--detach`` leaves it to the
cluster's workers); ``reflow runs`` reads and steers its runs with the same journal operations
as on a file; ``reflow worker`` and ``reflow serve`` join it.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import time
from typing import Any

from reflow.cli._errors import UsageProblem

DEFAULT_SCHEMA = "reflow"
_SUBMIT_SECONDS = 30.0


def is_cluster(db: str) -> bool:
    return db.startswith(("postgresql://", "postgres://"))


def db_args(db: str, schema: str = DEFAULT_SCHEMA) -> str:
    """``--db`` (and ``--schema`` when not the default) as a shell would be given them."""
    if not is_cluster(db):
        import os

        return f"--db {shlex.quote(os.path.abspath(db))}"
    text = f"--db {shlex.quote(db)}"
    return text if schema == DEFAULT_SCHEMA else f"{text} --schema {shlex.quote(schema)}"


def cluster_runtime(
    db: str,
    schema: str = DEFAULT_SCHEMA,
    concurrency: int | None = None,
    lease_seconds: float = 15.0,
    **options: Any,
) -> Any:
    """A DBOSRuntime on ``db`` for a command line process, or a usage error naming the flag."""
    if not is_cluster(db):
        raise UsageProblem(f"--db must be a postgresql:// URL, got {db!r}")
    try:
        from reflow.dbos import DBOSRuntime
    except ImportError as exc:
        raise UsageProblem(
            f"a --db postgresql:// cluster needs the dbos extra (pip install 'reflow[dbos]'): {exc}"
        ) from exc
    try:
        return DBOSRuntime(
            db, schema=schema, concurrency=concurrency, lease_seconds=lease_seconds, **options
        )
    except ValueError as exc:
        raise UsageProblem(f"--schema: {exc}") from exc


def cluster_journal(db: str, schema: str) -> Any:
    """The cluster's journal for one ``reflow runs`` command; it must exist (nothing is created)."""
    import psycopg

    from reflow.dbos._journal import PgJournal, check_schema, shown
    from reflow.durable._errors import JournalError

    try:
        check_schema(schema)
    except ValueError as exc:
        raise UsageProblem(f"--schema: {exc}") from exc
    try:
        with psycopg.connect(db, connect_timeout=10) as conn:
            found = conn.execute(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = %s"
                " AND table_name = 'runs'",
                (schema,),
            ).fetchone()
    except psycopg.Error as exc:
        raise JournalError(f"cannot reach {shown(db)}: {str(exc).strip()}") from exc
    if found is None:
        raise JournalError(f"no journal in schema {schema!r} of {shown(db)}")
    return PgJournal(db, schema)


async def submit(workflow: Any, runtime: Any, kwargs: dict[str, Any]) -> str:
    """Start a run, wait until its start is journaled, and hand it to the cluster's workers.

    The runtime is launched before the workflow is registered, so this process serves none of
    its step queues: steps without a Context go to the workers at once.  Destroying the runtime
    releases the run, and the first worker that has its workflow takes it over (a step with a
    Context begun here in the meantime runs again there, like any attempt of a process that
    goes away).
    """
    from reflow.durable._queries import Lookup

    await runtime.launch()
    workflow._runtime_locked = False
    workflow._switch_runtime(runtime)
    try:
        handler = workflow.run(**kwargs)
        deadline = time.monotonic() + _SUBMIT_SECONDS
        while await runtime.journal.call(Lookup(handler.run_id), write=False) is None:
            if handler.done() or time.monotonic() > deadline:
                with contextlib.suppress(BaseException):
                    await handler
                raise UsageProblem(f"run {handler.run_id} was not journaled on {runtime.path}")
            await asyncio.sleep(0.02)
    finally:
        await runtime.destroy()
    # Settled by destroy() ("it continues when a process launches"): that is the point here.
    with contextlib.suppress(Exception):
        await handler
    return str(handler.run_id)


def forget_step_records(db: str, schema: str) -> None:
    """After ``reflow runs prune``: the DBOS records of the pruned runs' step executions."""
    from reflow.dbos._dispatch import forget_step_records as forget

    forget(db, schema)
