"""The journal connection: one SQLite connection per runtime, on a thread of its own.

Every read and write of the runtime is an *operation*: a function of the connection queued to
the journal thread.  The thread takes whatever has queued up since its last transaction and
runs it all in one transaction (group commit: the ticks of many runs, and of one run's loop
iteration, cost one commit).  Each writing operation runs inside a savepoint, so one that
fails (a run that already exists, a lease another process took) is rolled back alone and the
others commit.  Results go back to the event loop in one ``call_soon_threadsafe`` per
transaction.

Locks held by other processes are waited for (``busy_timeout``, then retries of
``BEGIN IMMEDIATE`` with backoff); only after ``max_wait`` seconds does an operation fail, with
``JournalBusy`` naming the file rather than SQLite's "database is locked".
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from reflow.durable._errors import JournalBusy, JournalError
from reflow.durable._schema import LATEST_VERSION, prepare
from reflow.durable._sqlite_errors import check_path, describe, is_busy

T = TypeVar("T")
Durability = Literal["normal", "full"]
_SYNCHRONOUS = {"normal": "NORMAL", "full": "FULL"}
_MAX_OPS_PER_TRANSACTION = 4096


@dataclass(slots=True)
class _Op:
    fn: Callable[[sqlite3.Connection], Any]
    write: bool
    loop: asyncio.AbstractEventLoop | None
    future: asyncio.Future[Any] | concurrent.futures.Future[Any]
    handed: bool = False  # queued by ``LoopJournal`` to the thread (see ``_loop_journal``)


_STOP = object()


class Journal:
    """The runtime's single connection to its journal file, served by one thread."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        durability: Durability = "normal",
        busy_timeout: float = 5.0,
        max_wait: float = 60.0,
        target_version: int = LATEST_VERSION,
    ) -> None:
        if durability not in _SYNCHRONOUS:
            raise ValueError(f"durability must be 'normal' or 'full', got {durability!r}")
        self.path = self._check_target(path)
        self.durability: Durability = durability
        self._busy_timeout = busy_timeout
        self._max_wait = max_wait
        self._target = target_version
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        # Taken to put an operation on the queue and by the thread when it stops taking them,
        # so an operation is either served or failed, never left in a dead queue.
        self._queue_guard = threading.Lock()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None
        # Held by whoever uses the connection: the journal thread, or (``LoopJournal``) the loop.
        self._conn_lock = threading.Lock()
        self._closed = False
        self._open_error: JournalError | None = None
        self.version = 0

    @staticmethod
    def _check_target(path: str | os.PathLike[str]) -> str:
        """What the journal is opened on, as shown in errors (here: a SQLite file path)."""
        return check_path(path)

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> concurrent.futures.Future[int]:
        """Start the thread, open the file and migrate it; the future holds the schema version."""
        opened: concurrent.futures.Future[int] = concurrent.futures.Future()
        if self._open_error is not None:
            opened.set_exception(self._open_error)
            return opened
        if self._thread is not None:
            opened.set_result(self.version)
            return opened
        self._thread = threading.Thread(
            target=self._serve, args=(opened,), name=f"reflow-journal:{self.path}", daemon=True
        )
        self._thread.start()
        return opened

    async def open(self) -> int:
        return await asyncio.wrap_future(self.start())

    def open_sync(self) -> int:
        return self.start().result()

    def close(self) -> None:
        """Finish the queued operations, close the connection and stop the thread."""
        if self._closed:
            return
        self._closed = True
        thread = self._thread
        if thread is not None:
            self._queue.put(_STOP)
            if thread is not threading.current_thread():
                thread.join()

    @property
    def closed(self) -> bool:
        return self._closed

    # -- operations --------------------------------------------------------------------------

    def submit(
        self, fn: Callable[[sqlite3.Connection], T], *, write: bool = True
    ) -> asyncio.Future[T]:
        """Queue ``fn``; the returned future (of the running loop) resolves after the commit."""
        self._check_open()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._put(_Op(fn, write, loop, future))
        return future

    async def call(self, fn: Callable[[sqlite3.Connection], T], *, write: bool = True) -> T:
        return await self.submit(fn, write=write)

    def call_sync(self, fn: Callable[[sqlite3.Connection], T], *, write: bool = False) -> T:
        """Run ``fn`` and wait for it, from any thread but the journal's own."""
        self._check_open()
        if threading.current_thread() is self._thread:
            raise RuntimeError("call_sync cannot be used from the journal thread")
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._put(_Op(fn, write, None, future))
        return future.result()

    def _put(self, op: _Op) -> None:
        """Queue ``op`` for the thread, or fail it if the thread no longer serves the queue."""
        with self._queue_guard:
            if not self._stopped:
                self._queue.put(op)
                return
        self._deliver([(op, False, JournalError(f"the journal {self.path} is closed"))])

    def _check_open(self) -> None:
        if self._closed:
            raise JournalError(f"the journal {self.path} is closed")
        if self._thread is None:
            raise JournalError(f"the journal {self.path} is not open yet")

    # -- the thread ----------------------------------------------------------------------------

    def _serve(self, opened: concurrent.futures.Future[int]) -> None:
        try:
            self._conn = self._connect()
            self.version = self._prepare(self._conn)
        except BaseException as exc:
            self._closed = True
            self._open_error = describe(exc, self.path)
            opened.set_exception(self._open_error)
            self._fail_queued(self._open_error)
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            return
        opened.set_result(self.version)
        try:
            while True:
                first = self._queue.get()
                if first is _STOP:
                    break
                ops: list[_Op] = [first]
                stop = False
                while len(ops) < _MAX_OPS_PER_TRANSACTION:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is _STOP:
                        stop = True
                        break
                    ops.append(item)
                self._run(ops)
                if stop:
                    break
        finally:
            self._closed = True
            self._fail_queued(JournalError(f"the journal {self.path} is closed"))
            with self._conn_lock:
                self._conn.close()
                self._conn = None

    def _prepare(self, conn: sqlite3.Connection) -> int:
        """Check the schema and migrate it; another database's journal overrides this."""
        return prepare(conn, self.path, target=self._target, begin=self._begin)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, timeout=self._busy_timeout, check_same_thread=False
        )
        try:
            conn.execute("PRAGMA schema_version").fetchone()  # reads the header: "not a database"?
            deadline = time.monotonic() + self._max_wait
            while True:
                try:
                    conn.execute("PRAGMA journal_mode = WAL").fetchone()
                    break
                except sqlite3.OperationalError as exc:
                    if not is_busy(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            conn.execute(f"PRAGMA synchronous = {_SYNCHRONOUS[self.durability]}")
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            conn.execute("PRAGMA temp_store = MEMORY")
            conn.execute("PRAGMA wal_autocheckpoint = 16000")
        except BaseException:
            conn.close()
            raise
        return conn

    def _begin(self, conn: sqlite3.Connection, statement: str = "BEGIN IMMEDIATE") -> None:
        """Start a transaction, waiting out other processes' locks up to ``max_wait``."""
        deadline = time.monotonic() + self._max_wait
        pause = 0.001
        while True:
            try:
                conn.execute(statement)
                return
            except sqlite3.OperationalError as exc:
                if not is_busy(exc):
                    raise
                if time.monotonic() > deadline:
                    raise JournalBusy(
                        f"{self.path} stayed locked by another process for more than "
                        f"{self._max_wait:g} s"
                    ) from exc
                time.sleep(pause)
                pause = min(pause * 2, 0.1)

    def _run(self, ops: list[_Op]) -> None:
        """Run ``ops`` in one transaction on the journal thread, waiting out others' locks."""
        with self._conn_lock:
            results = self._run_locked(ops)
        self._deliver(results)

    def _run_locked(self, ops: list[_Op]) -> list[tuple[_Op, bool, Any]]:
        try:
            return self._transact(ops, self._begin, self._commit)
        except BaseException as exc:
            error = describe(exc, self.path)
            return [(op, False, error) for op in ops]

    def _transact(
        self,
        ops: list[_Op],
        begin: Callable[[Any, str], None],
        commit: Callable[[Any], None],
    ) -> list[tuple[_Op, bool, Any]]:
        """Run ``ops`` in one transaction; raises (after a rollback) what fails them all."""
        conn = self._conn
        assert conn is not None
        writes = any(op.write for op in ops)
        # A lone operation needs no savepoint: if it fails, the whole transaction goes.
        alone = len(ops) == 1
        results: list[tuple[_Op, bool, Any]] = []
        try:
            begin(conn, "BEGIN IMMEDIATE" if writes else "BEGIN")
            for op in ops:
                results.append(self._run_one(conn, op, savepoint=op.write and not alone))
            if alone and not results[0][1]:
                conn.execute("ROLLBACK")
            else:
                commit(conn)
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise
        return results

    def _run_one(
        self, conn: sqlite3.Connection, op: _Op, *, savepoint: bool
    ) -> tuple[_Op, bool, Any]:
        """Run one operation; its own failure is its own (systemic SQLite errors fail all)."""
        if savepoint:
            conn.execute("SAVEPOINT op")
        try:
            value = op.fn(conn)
        except Exception as exc:
            if isinstance(exc, sqlite3.Error) and not isinstance(exc, sqlite3.IntegrityError):
                raise  # I/O errors, a damaged file: the whole transaction is in doubt
            if savepoint:
                conn.execute("ROLLBACK TO op")
                conn.execute("RELEASE op")
            if isinstance(exc, sqlite3.Error):
                return op, False, describe(exc, self.path)
            return op, False, exc
        if savepoint:
            conn.execute("RELEASE op")
        return op, True, value

    def _commit(self, conn: sqlite3.Connection) -> None:
        deadline = time.monotonic() + self._max_wait
        while True:
            try:
                conn.execute("COMMIT")
                return
            except sqlite3.OperationalError as exc:
                if not is_busy(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _deliver(self, results: list[tuple[_Op, bool, Any]]) -> None:
        """Hand results to their waiters: a thread's future at once, a loop's in its thread."""
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Op, bool, Any]]] = {}
        for item in results:
            op = item[0]
            if op.loop is None:
                future = op.future
                assert isinstance(future, concurrent.futures.Future)
                if item[1]:
                    future.set_result(item[2])
                else:
                    future.set_exception(item[2])
            else:
                by_loop.setdefault(op.loop, []).append(item)
        for loop, items in by_loop.items():
            # A closed loop has nobody waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle, items)

    def _fail_queued(self, error: JournalError) -> None:
        with self._queue_guard:
            self._stopped = True
        failed: list[tuple[_Op, bool, Any]] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP:
                failed.append((item, False, error))
        self._deliver(failed)


def settle(items: list[tuple[_Op, bool, Any]]) -> None:
    """Hand each operation's outcome to its future (on the thread that owns the future)."""
    for op, ok, value in items:
        future = op.future
        if future.done():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
