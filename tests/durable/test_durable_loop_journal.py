"""``LoopJournal``: commits on the event loop, grouped per loop iteration; locks waited off-loop."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from reflow.durable import DurableRuntime, JournalBusy
from reflow.durable._loop_journal import LoopJournal

_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
"""


@contextmanager
def locked_by_another_process(path: str) -> Iterator[Callable[[], None]]:
    """A process holding the journal's write lock until the yielded ``release()`` is called."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdin is not None and holder.stdout is not None
    stdin = holder.stdin

    def release() -> None:
        if not stdin.closed:
            stdin.write("\n")
            stdin.close()

    try:
        assert holder.stdout.readline().strip() == "locked"
        yield release
    finally:
        release()
        holder.wait(timeout=10)


@asynccontextmanager
async def opened(path: str, **options: Any) -> AsyncIterator[LoopJournal]:
    journal = LoopJournal(path, **options)
    await journal.open()
    try:
        yield journal
    finally:
        await asyncio.to_thread(journal.close)


def insert(label: str, seen: list[tuple[str, int]]) -> Callable[[sqlite3.Connection], str]:
    """An operation that stores ``label`` and notes the thread it ran on."""

    def run(conn: sqlite3.Connection) -> str:
        seen.append((label, threading.get_ident()))
        conn.execute(
            "INSERT INTO workflows (name, catalogue, updated_at) VALUES (?, '{}', 0)", (label,)
        )
        return label

    return run


def stored(path: str) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("SELECT name FROM workflows ORDER BY rowid")]
    finally:
        conn.close()


async def ticking(stop: asyncio.Event, ticks: list[float]) -> None:
    while not stop.is_set():
        ticks.append(time.monotonic())
        await asyncio.sleep(0.01)


async def test_operations_of_one_loop_iteration_share_commits(db: str) -> None:
    async with opened(db) as journal:
        statements: list[str] = []
        await journal.call(lambda conn: conn.set_trace_callback(statements.append))
        await asyncio.sleep(0)  # the next loop iteration
        seen: list[tuple[str, int]] = []
        futures = [journal.submit(insert(f"op{n}", seen)) for n in range(5)]  # one iteration
        assert await asyncio.gather(*futures) == [f"op{n}" for n in range(5)]
        await journal.call(lambda conn: conn.set_trace_callback(None))
        # The first commits at once, the four after it in one transaction at the iteration's end.
        commits = [s for s in statements if s == "COMMIT"]
        assert len(commits) == 3  # the first, the four, and the call that set the callback
        assert statements.count("SAVEPOINT op") == 4
        assert stored(db) == [f"op{n}" for n in range(5)]


async def test_a_failing_operation_in_a_group_is_rolled_back_alone(db: str) -> None:
    async with opened(db) as journal:
        seen: list[tuple[str, int]] = []

        def failing(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO workflows (name, catalogue, updated_at) VALUES ('bad', '{}', 0)"
            )
            raise ValueError("this operation fails")

        first = journal.submit(insert("first", seen))
        grouped = [
            journal.submit(insert("a", seen)),
            journal.submit(failing),
            journal.submit(insert("b", seen)),
        ]
        results: list[Any] = list(await asyncio.gather(first, *grouped, return_exceptions=True))
        assert results[:2] == ["first", "a"] and results[3] == "b"
        assert isinstance(results[2], ValueError)
        assert stored(db) == ["first", "a", "b"]


async def test_normal_durability_commits_on_the_loop_and_full_on_the_journal_thread(
    db: str, side: str
) -> None:
    loop_thread = threading.get_ident()
    seen: list[tuple[str, int]] = []
    async with opened(db) as journal:
        await journal.call(insert("normal", seen))
    async with opened(side, durability="full") as journal:
        await journal.call(insert("full", seen))
    assert seen[0] == ("normal", loop_thread)
    assert seen[1][0] == "full" and seen[1][1] != loop_thread


async def test_a_lock_held_by_another_process_does_not_block_the_loop(db: str) -> None:
    async with opened(db) as journal:
        seen: list[tuple[str, int]] = []
        stop = asyncio.Event()
        ticks: list[float] = []
        with locked_by_another_process(db) as release:
            ticker = asyncio.create_task(ticking(stop, ticks))
            first = journal.submit(insert("first", seen))
            await asyncio.sleep(0)
            later = journal.submit(insert("later", seen))  # queued behind the waiting one
            await asyncio.sleep(0.5)
            assert not first.done() and not later.done()
            waited = len(ticks)
            release()
            assert await first == "first" and await later == "later"
        stop.set()
        await ticker
        # The loop went on while the other process held the lock: its ticker kept ticking.
        assert waited >= 10
        assert [label for label, _ in seen] == ["first", "later"]
        assert all(thread != threading.get_ident() for _, thread in seen)
        # Once the handed-over operations are done, commits are back on the loop.
        again: list[tuple[str, int]] = []
        await journal.call(insert("again", again))
        assert again == [("again", threading.get_ident())]
        assert stored(db) == ["first", "later", "again"]


async def test_a_lock_held_too_long_fails_with_the_file_name_while_the_loop_runs(
    db: str,
) -> None:
    async with opened(db, busy_timeout=0.05, max_wait=0.3) as journal:
        stop = asyncio.Event()
        ticks: list[float] = []
        ticker = asyncio.create_task(ticking(stop, ticks))
        busy = pytest.raises(JournalBusy, match=r"runs\.db stayed locked by another process")
        with locked_by_another_process(db), busy:
            await journal.call(insert("never", []))
        stop.set()
        await ticker
        assert len(ticks) >= 10
        assert stored(db) == []


async def test_call_sync_on_the_loop_sees_what_was_submitted_before(db: str) -> None:
    async with opened(db) as journal:
        seen: list[tuple[str, int]] = []
        first = journal.submit(insert("first", seen))  # commits at once
        second = journal.submit(insert("second", seen))  # waits for the iteration's end
        names = journal.call_sync(
            lambda conn: [row[0] for row in conn.execute("SELECT name FROM workflows")]
        )
        assert names == ["first", "second"]
        assert await first == "first" and await second == "second"


async def test_a_durable_run_waits_out_a_lock_while_other_work_goes_on(db: str) -> None:
    from test_durable_runs import Three

    runtime = DurableRuntime(db, poll_interval=0.02)
    try:
        workflow = Three(runtime=runtime)
        await runtime.launch()
        stop = asyncio.Event()
        ticks: list[float] = []
        ticker = asyncio.create_task(ticking(stop, ticks))
        with locked_by_another_process(db) as release:
            handler = workflow.run(n=3)
            await asyncio.sleep(0.5)
            assert not handler.is_done()
            release()
            assert await handler == {"n": 7, "seen": 3}
        stop.set()
        await ticker
        assert len(ticks) >= 10
    finally:
        await runtime.destroy()


async def test_the_wal_is_checkpointed_off_the_loop_and_stays_bounded(db: str) -> None:
    async with opened(db) as journal:
        journal.checkpoint_every = 50
        body = "x" * 3000  # most of a page per commit

        def write(n: int) -> Callable[[sqlite3.Connection], None]:
            def run(conn: sqlite3.Connection) -> None:
                conn.execute(
                    "INSERT OR REPLACE INTO workflows (name, catalogue, updated_at)"
                    " VALUES (?, ?, 0)",
                    (f"w{n % 10}", body),
                )

            return run

        for n in range(2000):
            await journal.call(write(n))
            if n % 50 == 0:
                await asyncio.sleep(0.001)  # lets the executor's checkpoint run
        # Without checkpoints the WAL holds every commit's pages (about 50 MB here); with them
        # it is cut back to what was written since the last one.  A loaded machine may run the
        # executor late: give the checkpoint in flight (if any) a bounded moment to finish.
        deadline = time.monotonic() + 10
        while journal._checkpointing and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        wal = Path(db + "-wal").stat().st_size
        assert wal < 20_000_000
        level = await journal.call(
            lambda conn: conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0], write=False
        )
        assert level == 0  # the loop's connection never checkpoints itself
