"""Fixtures for the DBOSRuntime tests: a journal schema of its own on the real PostgreSQL.

PostgreSQL at 127.0.0.1:5432, database ``test``.  Every test works in a schema with a random
suffix, dropped afterwards, so parallel tests (and other helpers' tests) never collide.  Under
``CI=true`` a missing server fails the test, never skips it.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from reflow.dbos import DBOSRuntime

# The durable tests' workflows and side table are reused as they are.
DURABLE_TESTS = str(Path(__file__).resolve().parent.parent / "durable")
if DURABLE_TESTS not in sys.path:
    sys.path.insert(0, DURABLE_TESTS)

MakeRuntime = Callable[..., DBOSRuntime]


def find_dsn() -> str | None:
    for user in ("postgres", "root"):
        dsn = f"postgresql://{user}@127.0.0.1:5432/test"
        try:
            psycopg.connect(dsn, connect_timeout=3).close()
        except psycopg.Error:
            continue
        return dsn
    return None


@pytest.fixture(scope="session")
def dsn() -> str:
    found = find_dsn()
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is not reachable at 127.0.0.1:5432 (database test)")
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    return found


@pytest.fixture
def schema(dsn: str) -> Iterator[str]:
    name = f"reflow_dbos_{secrets.token_hex(4)}"
    yield name
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}_dbos" CASCADE')  # DBOS's own tables


@pytest.fixture
def db(dsn: str, schema: str) -> str:
    """The journal as the worker processes take it: ``DSN#SCHEMA``."""
    return f"{dsn}#{schema}"


@pytest.fixture
def side(tmp_path: Path) -> str:
    return str(tmp_path / "side.db")


@pytest.fixture
async def make_runtime(dsn: str, schema: str) -> AsyncIterator[MakeRuntime]:
    """Build runtimes on the test's schema; all are destroyed afterwards.

    DBOS is left out unless a test asks for it (``distribute_steps=True``): most tests are
    about the journal, and launching DBOS costs about a second.
    """
    made: list[DBOSRuntime] = []

    def make(**options: Any) -> DBOSRuntime:
        options.setdefault("poll_interval", 0.02)
        options.setdefault("distribute_steps", False)
        runtime = DBOSRuntime(dsn, schema=schema, **options)
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        await runtime.destroy()


def rows(dsn: str, schema: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        return list(conn.execute(sql, params or None).fetchall())


async def ask_and_release(make_runtime: MakeRuntime, run_id: str) -> Any:
    """Start ``Approval`` as ``run_id`` until it asks, then until it is released from memory.

    Returns the run's info once nobody owns it: the next delivery loads it from the journal.
    """
    import asyncio

    import durable_flows as flows

    from reflow.events import InputRequiredEvent

    asking = make_runtime(release_idle_after=0.0)
    workflow = flows.Approval(runtime=asking, timeout=None)
    handler = workflow.run(run_id=run_id, start_event=flows.Ask(question="name?"))
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent):
            break
    for _ in range(200):  # released from memory: no task, no lease
        [info] = await asking.list_runs()
        if info.owner is None:
            break
        await asyncio.sleep(0.02)
    return info
