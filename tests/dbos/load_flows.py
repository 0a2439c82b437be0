"""A workflow for cluster loads: a fan-out of ``work`` steps (no Context: any process runs them),
a retry, and a question for a person, with every ``work`` execution recorded in a side table.

The side table ``side_exec`` lives in the test's own PostgreSQL schema (the event carries
``DSN#SCHEMA``): one row per execution, with its process id and its start and end times, so a
test can check afterwards which process ran what, how many ran at once, and that no result
the journal kept was computed again.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import psycopg

from reflow import Context, Workflow, step
from reflow.events import Event, HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent
from reflow.retry_policy import retry_policy, stop_after_attempt, wait_fixed

NUM_WORKERS = 6

SIDE_TABLE = """CREATE TABLE IF NOT EXISTS "{schema}".side_exec (
    id BIGSERIAL PRIMARY KEY,
    run_id TEXT NOT NULL,
    item INTEGER NOT NULL,
    pid INTEGER NOT NULL,
    started DOUBLE PRECISION NOT NULL,
    ended DOUBLE PRECISION
)"""


def create_side_table(dsn: str, schema: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        conn.execute(SIDE_TABLE.format(schema=schema))


class Load(StartEvent):
    n: int
    side: str  # DSN#SCHEMA of the side table
    tag: str
    ask: bool = False
    fail_item: int = -1  # this item's first execution fails (the retry policy runs it again)


class Item(Event):
    i: int
    side: str
    tag: str
    fail: bool


class ItemDone(Event):
    i: int
    exec_id: int


class Progress(Event):
    i: int


def expected(n: int, ask: bool, answer: str = "") -> dict[str, object]:
    """The result of an uninterrupted run."""
    return {"total": sum(i * i for i in range(n)), "answer": answer if ask else None}


# One side-table connection per process and loop (steps share it; psycopg serializes them):
# a load of hundreds of steps must not open hundreds of connections to the shared server.
_side: dict[tuple[str, int], psycopg.AsyncConnection[Any]] = {}
# The side table is the tests' instrument, not the cluster: the connection-drop test spares it,
# so that a dropped connection fails the runtime's work, never the step's own bookkeeping.
SIDE_APPLICATION = "reflow-test-side-table"


async def _side_connection(dsn: str) -> psycopg.AsyncConnection[Any]:
    key = (dsn, id(asyncio.get_running_loop()))
    conn = _side.get(key)
    if conn is None or conn.closed or conn.broken:
        conn = _side[key] = await psycopg.AsyncConnection.connect(
            dsn, autocommit=True, application_name=SIDE_APPLICATION
        )
    return conn


async def _record(ev: Item) -> int:
    dsn, schema = ev.side.rsplit("#", 1)
    conn = await _side_connection(dsn)
    table = f'"{schema}".side_exec'
    before = await (
        await conn.execute(
            f"SELECT count(*) FROM {table} WHERE run_id = %s AND item = %s", (ev.tag, ev.i)
        )
    ).fetchone()
    cursor = await conn.execute(
        f"INSERT INTO {table} (run_id, item, pid, started) VALUES (%s, %s, %s, %s) RETURNING id",
        (ev.tag, ev.i, os.getpid(), time.time()),
    )
    row = await cursor.fetchone()
    assert row is not None and before is not None
    exec_id = int(row[0])
    await asyncio.sleep(0.01)
    await conn.execute(f"UPDATE {table} SET ended = %s WHERE id = %s", (time.time(), exec_id))
    if ev.fail and before[0] == 0:
        raise RuntimeError(f"first execution of item {ev.i} fails")
    return exec_id


class LoadWorkflow(Workflow):
    @step
    async def split(self, ev: Load, ctx: Context) -> Item | None:
        await ctx.store.set("n", ev.n)
        await ctx.store.set("ask", ev.ask)
        for i in range(ev.n):
            ctx.send_event(Item(i=i, side=ev.side, tag=ev.tag, fail=i == ev.fail_item))
        return None

    @step(
        num_workers=NUM_WORKERS,
        retry_policy=retry_policy(wait=wait_fixed(0.05), stop=stop_after_attempt(3)),
    )
    async def work(self, ev: Item) -> ItemDone:
        return ItemDone(i=ev.i, exec_id=await _record(ev))

    @step
    async def join(self, ev: ItemDone, ctx: Context) -> StopEvent | InputRequiredEvent | None:
        ctx.write_event_to_stream(Progress(i=ev.i))
        n = await ctx.store.get("n")
        done = ctx.collect_events(ev, [ItemDone] * n)
        if done is None:
            return None
        total = sum(d.i * d.i for d in done)  # type: ignore[attr-defined]
        await ctx.store.set("total", total)
        if await ctx.store.get("ask"):
            return InputRequiredEvent(prefix="answer?")
        return StopEvent(result={"total": total, "answer": None})

    @step
    async def answered(self, ev: HumanResponseEvent, ctx: Context) -> StopEvent:
        return StopEvent(result={"total": await ctx.store.get("total"), "answer": ev.response})


# What the workers serve and the submitter starts: one name, no run timeout (a load on a
# loaded machine can take longer than the default 45 s).
load = LoadWorkflow(workflow_name="load", timeout=None)
