"""A fan-out workflow whose ``work`` steps take no Context, so they run on any process.

Every execution of ``work`` records itself in a *side table* (a SQLite file, autocommit) with
its process id and its start and end times, before and after its sleep; while the hold file
exists, it waits (so a test can kill or freeze the process running it).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time

from reflow import Context, Workflow, step
from reflow.events import Event, StartEvent, StopEvent

NUM_WORKERS = 2

SIDE_SCHEMA = """CREATE TABLE IF NOT EXISTS work (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    item INTEGER NOT NULL,
    pid INTEGER NOT NULL,
    started REAL NOT NULL,
    ended REAL
)"""


def _side(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(SIDE_SCHEMA)
    return conn


def work_rows(path: str) -> list[tuple[int, str, int, int, float, float | None]]:
    conn = _side(path)
    try:
        return list(conn.execute("SELECT id, run_id, item, pid, started, ended FROM work"))
    finally:
        conn.close()


def hold_path(side: str) -> str:
    return side + ".hold"


class Fan(StartEvent):
    n: int
    side: str
    tag: str
    sleep: float = 0.05


class Item(Event):
    i: int
    side: str
    tag: str
    sleep: float


class ItemDone(Event):
    i: int
    pid: int


class FanOut(Workflow):
    @step
    async def split(self, ev: Fan, ctx: Context) -> Item | None:
        await ctx.store.set("n", ev.n)
        for i in range(ev.n):
            ctx.send_event(Item(i=i, side=ev.side, tag=ev.tag, sleep=ev.sleep))
        return None

    @step(num_workers=NUM_WORKERS)
    async def work(self, ev: Item) -> ItemDone:
        conn = _side(ev.side)
        try:
            row = conn.execute(
                "INSERT INTO work (run_id, item, pid, started) VALUES (?, ?, ?, ?)",
                (ev.tag, ev.i, os.getpid(), time.time()),
            ).lastrowid
            await asyncio.sleep(ev.sleep)
            while os.path.exists(hold_path(ev.side)):
                await asyncio.sleep(0.02)
            conn.execute("UPDATE work SET ended = ? WHERE id = ?", (time.time(), row))
        finally:
            conn.close()
        return ItemDone(i=ev.i, pid=os.getpid())

    @step
    async def join(self, ev: ItemDone, ctx: Context) -> StopEvent | None:
        n = await ctx.store.get("n")
        done = ctx.collect_events(ev, [ItemDone] * n)
        if done is None:
            return None
        return StopEvent(result={str(d.i): d.pid for d in done})  # type: ignore[attr-defined]


# Served over HTTP and run by workers under one explicit name (the server names what it
# serves; a worker registers workflows by their name).
served = FanOut(workflow_name="fan", timeout=None)
