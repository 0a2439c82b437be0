"""The journal file: migrations, files that cannot be journals, locks, write failures, retention."""

from __future__ import annotations

import asyncio
import gc
import logging
import sqlite3
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import MakeRuntime
from test_durable_runs import Three

from reflow.durable import DurableRuntime, JournalBusy, JournalError
from reflow.durable._journal import Journal
from reflow.durable._ops import Append
from reflow.durable._schema import APPLICATION_ID, LATEST_VERSION, MIGRATIONS, prepare


def _tables(path: str) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()


def _pragma(path: str, name: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(f"PRAGMA {name}").fetchone()[0])
    finally:
        conn.close()


async def test_launch_creates_the_schema_in_a_new_file(make_runtime: MakeRuntime, db: str) -> None:
    await make_runtime().launch()
    assert _pragma(db, "user_version") == LATEST_VERSION
    assert _pragma(db, "application_id") == APPLICATION_ID
    assert {"runs", "ticks", "events", "snapshots", "processes", "inbox"} <= _tables(db)


async def test_an_empty_file_becomes_a_journal(make_runtime: MakeRuntime, db: str) -> None:
    Path(db).write_bytes(b"")
    runtime = make_runtime()
    assert await Three(runtime=runtime).run(n=1) == {"n": 3, "seen": 1}
    assert _pragma(db, "user_version") == LATEST_VERSION


async def test_a_journal_of_an_older_schema_is_migrated_and_keeps_its_runs(
    make_runtime: MakeRuntime, db: str
) -> None:
    # A version-1 journal (before leases and the inbox) holding one finished run.
    current = make_runtime()
    workflow = Three(runtime=current)
    await workflow.run(run_id="old", n=2)
    await current.destroy()
    conn = sqlite3.connect(db, isolation_level=None)
    rows = {
        table: conn.execute(f"SELECT * FROM {table} WHERE run_id = 'old'").fetchall()
        for table in ("ticks", "events")
    }
    run = conn.execute(
        "SELECT run_id, workflow, status, created_at, updated_at, finished_at, last_seq,"
        " last_event_seq, waiting_on, store, outcome FROM runs"
    ).fetchone()
    conn.close()
    Path(db).unlink()
    conn = sqlite3.connect(db, isolation_level=None)
    assert prepare(conn, db, target=1) == 1
    conn.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", run)
    for table, values in rows.items():
        conn.executemany(f"INSERT INTO {table} VALUES (?, ?, ?, ?)", values)
    conn.close()
    assert "inbox" not in _tables(db)

    runtime = make_runtime()
    Three(runtime=runtime)
    await runtime.launch()
    assert _pragma(db, "user_version") == LATEST_VERSION
    assert [info.run_id for info in await runtime.list_runs(status="completed")] == ["old"]
    assert await runtime.get_handler("old") == {"n": 5, "seen": 2}
    stream = [item.seq async for item in runtime.stream_events("old")]
    assert stream == list(range(1, len(rows["events"]) + 1))


def test_migrations_are_numbered_one_by_one() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, LATEST_VERSION + 1))


async def test_a_newer_schema_is_refused(make_runtime: MakeRuntime, db: str) -> None:
    await make_runtime().launch()
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    conn.close()
    with pytest.raises(JournalError, match="newer than this reflow understands"):
        await make_runtime().launch()


async def test_a_file_that_is_not_a_database_is_named(make_runtime: MakeRuntime, db: str) -> None:
    Path(db).write_bytes(b"this is not sqlite, just text " * 100)
    with pytest.raises(JournalError, match=r"runs\.db is not a SQLite database"):
        await make_runtime().launch()


async def test_another_applications_database_is_refused(make_runtime: MakeRuntime, db: str) -> None:
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(JournalError, match=r"not a reflow journal.*customers"):
        await make_runtime().launch()


async def test_a_damaged_journal_is_named(make_runtime: MakeRuntime, db: str) -> None:
    first = make_runtime()
    await Three(runtime=first).run(run_id="a", n=1)
    await first.destroy()
    with open(db, "r+b") as damaged:  # keep the header, scribble over the pages after it
        damaged.seek(100)
        damaged.write(b"\xff" * 8000)
    runtime = make_runtime()
    Three(runtime=runtime)
    with pytest.raises(JournalError, match=r"runs\.db is (damaged|not a SQLite database)"):
        await runtime.launch()
        await runtime.list_runs()


def test_bad_paths_are_named(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="is a directory"):
        DurableRuntime(tmp_path)
    with pytest.raises(JournalError, match=r"directory .*missing does not exist"):
        DurableRuntime(tmp_path / "missing" / "runs.db")
    with pytest.raises(JournalError, match="must be a file on disk"):
        DurableRuntime(":memory:")


async def test_a_lock_held_by_another_process_is_waited_out(
    make_runtime: MakeRuntime, db: str
) -> None:
    runtime = make_runtime()
    workflow = Three(runtime=runtime)
    await runtime.launch()
    blocker = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.7, blocker.execute, args=("COMMIT",))
    release.start()
    try:
        assert await workflow.run(n=3) == {"n": 7, "seen": 3}
    finally:
        release.join()
        blocker.close()


async def test_a_lock_held_too_long_fails_with_the_file_name(db: str) -> None:
    journal = Journal(db, busy_timeout=0.05, max_wait=0.3)
    await journal.open()
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(JournalBusy, match=r"runs\.db stayed locked by another process"):
            await journal.call(lambda conn: conn.execute("DELETE FROM inbox"))
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        journal.close()


async def test_a_failing_journal_write_fails_the_run_loudly(
    make_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = make_runtime()
    workflow = Three(runtime=runtime)
    await runtime.launch()
    original = Append.__call__

    def failing(self: Append, conn: sqlite3.Connection) -> None:
        if self.new_run is None:
            raise sqlite3.OperationalError("disk I/O error")
        original(self, conn)

    monkeypatch.setattr(Append, "__call__", failing)
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        with pytest.raises(JournalError, match="disk I/O error"):
            await asyncio.wait_for(workflow.run(run_id="doomed", n=1), 5)
        await asyncio.sleep(0.05)
        gc.collect()
    # Said once, to the caller: not again as an orphaned task's unretrieved exception.
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]


async def test_prune_deletes_finished_runs_older_than_asked(
    make_runtime: MakeRuntime, db: str
) -> None:
    runtime = make_runtime()
    workflow = Three(runtime=runtime)
    for n in range(3):
        await workflow.run(run_id=f"done-{n}", n=n)
    time.sleep(0.2)  # blocks the loop: the three finished at least 0.2 s before `split`
    split = time.time()
    handler = workflow.run(run_id="running", n=9)
    assert await runtime.prune(older_than=timedelta(days=1)) == 0
    await handler  # finished after `split`
    # Cut at split - 0.1 s: the three are older, "running" is younger, however slow the machine.
    assert await runtime.prune(older_than=time.time() - split + 0.1) == 3
    assert [info.run_id for info in await runtime.list_runs()] == ["running"]
    conn = sqlite3.connect(db)
    try:
        for table in ("ticks", "events", "snapshots"):
            left = conn.execute(f"SELECT DISTINCT run_id FROM {table}").fetchall()
            assert left in ([], [("running",)]), table
    finally:
        conn.close()
    with pytest.raises(ValueError, match="older_than must be >= 0"):
        await runtime.prune(older_than=-1)


async def test_durability_full_commits_with_synchronous_full(db: str) -> None:
    journal = Journal(db, durability="full")
    await journal.open()
    try:
        level = await journal.call(
            lambda conn: conn.execute("PRAGMA synchronous").fetchone()[0], write=False
        )
        assert level == 2  # FULL
        mode = await journal.call(
            lambda conn: conn.execute("PRAGMA journal_mode").fetchone()[0], write=False
        )
        assert mode == "wal"
    finally:
        journal.close()


async def test_launching_again_after_a_failed_open_repeats_the_reason(
    make_runtime: MakeRuntime, db: str
) -> None:
    Path(db).write_bytes(b"not a database at all, " * 100)
    runtime = make_runtime()
    for _ in range(2):
        with pytest.raises(JournalError, match="is not a SQLite database"):
            await runtime.launch()


async def test_a_run_whose_journal_cannot_be_replayed_names_the_run(
    make_runtime: MakeRuntime, db: str
) -> None:
    from durable_flows import Approval, Ask

    from reflow.events import HumanResponseEvent, InputRequiredEvent

    first = make_runtime()
    handler = Approval(runtime=first).run(run_id="broken", start_event=Ask())
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent):
            break
    await first.destroy()
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM snapshots")
    conn.execute('UPDATE ticks SET body = \'{"type": "no_such_tick"}\' WHERE seq = 2')
    conn.commit()
    conn.close()
    second = make_runtime()
    Approval(runtime=second)
    await second.launch()
    with pytest.raises(JournalError, match=r"Run broken cannot be resumed .*no_such_tick"):
        await second.send_event("broken", HumanResponseEvent(response="x"))
