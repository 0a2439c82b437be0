"""``LoopJournal``: the SQLite journal committing on the event loop's own thread.

A durable step waits for its tick's commit before the next step starts, so the cost of a step
is the cost of one commit round trip.  A WAL commit with ``synchronous=NORMAL`` appends to the
WAL file without waiting for the disk: a few microseconds, far less than handing the batch to
a thread and waking the loop again.  So the operations submitted from the loop are queued, and
one flush scheduled with ``call_soon`` runs everything queued in that loop iteration (the
ticks of every run, the reads of the handlers) in one transaction: group commit, with the
savepoint-per-operation isolation of ``Journal``.

The loop never waits for a lock.  The connection's ``busy_timeout`` is 0 while the loop uses
it: a flush that finds the file locked by another process (``BEGIN IMMEDIATE``, or any
statement, answering SQLITE_BUSY) rolls back and hands its operations to the journal thread,
which waits the lock out (``busy_timeout``, then retries up to ``max_wait``, then
``JournalBusy``) while the loop goes on with other work.  Operations submitted while the
thread still holds handed-over ones follow them there, so commits keep their submission
order.  The thread also opens, migrates and closes the file, serves ``call_sync`` from other
threads, and commits everything when ``durability="full"`` (an fsync per commit is a wait the
loop must not make).

Checkpoints (copying the WAL back into the database file, with its fsyncs) are disk work too:
the loop's connection never checkpoints on its own (``wal_autocheckpoint = 0``); every
``checkpoint_every`` transactions a ``TRUNCATE`` checkpoint runs on a connection of its own in
the loop's default executor.  It holds the write lock while it copies (a passive one, racing a
writer that never pauses, would never let the WAL start over, and the file would grow without
end), so the loop's commits meanwhile find the file locked and wait on the journal thread, as
for any other lock.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from reflow.durable._errors import JournalError
from reflow.durable._journal import Journal, _Op, settle
from reflow.durable._sqlite_errors import describe, is_busy

T = TypeVar("T")
_CHECKPOINT_EVERY = 1000  # transactions on the loop between two checkpoints


def _begin_now(conn: sqlite3.Connection, statement: str) -> None:
    conn.execute(statement)


def _commit_now(conn: sqlite3.Connection) -> None:
    conn.execute("COMMIT")


class LoopJournal(Journal):
    """The runtime's SQLite journal, committing on the event loop (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Takes ``Journal``'s arguments."""
        super().__init__(*args, **kwargs)
        self._on_loop = self.durability == "normal"
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop flushes run on
        self._loop_thread = 0
        self._pending: list[_Op] = []
        self._flush_scheduled = False
        # Operations of the loop handed to the thread and not yet resolved: while there are
        # any, later ones go to the thread too, behind them.
        self._handed = 0
        self.checkpoint_every = _CHECKPOINT_EVERY
        self._since_checkpoint = 0
        self._checkpointing = False

    # -- the connection's busy timeout: 0 for the loop, the configured one for the thread ------

    def _prepare(self, conn: sqlite3.Connection) -> int:
        version = super()._prepare(conn)
        if self._on_loop:
            conn.execute("PRAGMA busy_timeout = 0")
            conn.execute("PRAGMA wal_autocheckpoint = 0")
        return version

    def _run_locked(self, ops: list[_Op]) -> list[tuple[_Op, bool, Any]]:
        """The thread's transaction, which may wait for other processes' locks."""
        conn = self._conn
        if not self._on_loop or conn is None:
            return super()._run_locked(ops)
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
        try:
            return super()._run_locked(ops)
        finally:
            conn.execute("PRAGMA busy_timeout = 0")

    # -- operations --------------------------------------------------------------------------

    def submit(
        self, fn: Callable[[sqlite3.Connection], T], *, write: bool = True
    ) -> asyncio.Future[T]:
        """Run ``fn`` in a transaction of this loop iteration; resolves after the commit.

        The first operation of an iteration commits at once (a run's steps wait for nothing
        more); those submitted after it in the same iteration share the commit of the flush
        scheduled at its end.
        """
        self._check_open()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        op = _Op(fn, write, loop, future)
        if not self._on_loop or not self._bind(loop):
            self._put(op)  # durability "full", or another loop: the thread commits
        elif self._handed:
            self._hand_over([op])
        elif self._flush_scheduled:
            self._pending.append(op)
        else:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
            self._pending.append(op)
            self._commit_pending()
        return future

    def call_sync(self, fn: Callable[[sqlite3.Connection], T], *, write: bool = False) -> T:
        """Run ``fn`` and wait for it; on the loop's thread, after what the loop queued."""
        self._check_open()
        if self._loop is None or threading.get_ident() != self._loop_thread:
            return super().call_sync(fn, write=write)
        self._flush()  # what was submitted before commits first
        if not self._handed and self._conn_lock.acquire(blocking=False):
            try:
                results = self._transact_here([_Op(fn, write, None, _UNUSED)])
            finally:
                self._conn_lock.release()
            if results:
                _, ok, value = results[0]
                if not ok:
                    raise value
                return value  # type: ignore[no-any-return]
        # Locked by another process, or the thread holds operations of ours: wait there.
        return super().call_sync(fn, write=write)

    def _bind(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Whether ``loop`` is the one flushes run on (the first loop, or one after it closed)."""
        if loop is self._loop:
            return True
        if self._loop is None or (self._loop.is_closed() and not self._pending):
            self._loop = loop
            self._loop_thread = threading.get_ident()
            self._handed = 0
            return True
        return False

    def _flush(self) -> None:
        """The end of a loop iteration's group: commit what was queued since its first one."""
        self._flush_scheduled = False
        self._commit_pending()

    def _commit_pending(self) -> None:
        """Commit the operations queued on the loop in one transaction, if the file is free."""
        ops, self._pending = self._pending, []
        if not ops:
            return
        if self._handed or not self._conn_lock.acquire(blocking=False):
            self._hand_over(ops)
            return
        try:
            results = self._transact_here(ops)
        finally:
            self._conn_lock.release()
        if results:
            settle(results)
        else:  # another process holds the file: the thread waits for it
            self._hand_over(ops)

    def _transact_here(self, ops: list[_Op]) -> list[tuple[_Op, bool, Any]]:
        """``ops`` run in one transaction now, or [] if the file is locked (nothing was done).

        Called with the connection's lock held, on the loop's thread.
        """
        if self._conn is None:
            error = JournalError(f"the journal {self.path} is closed")
            return [(op, False, error) for op in ops]
        try:
            results = self._transact(ops, _begin_now, _commit_now)
        except BaseException as exc:
            if isinstance(exc, sqlite3.Error) and is_busy(exc):
                return []
            if not isinstance(exc, Exception):
                raise
            failure = describe(exc, self.path)
            return [(op, False, failure) for op in ops]
        self._since_checkpoint += 1
        if self._since_checkpoint >= self.checkpoint_every and not self._checkpointing:
            self._since_checkpoint = 0
            self._checkpointing = True
            loop = self._loop
            assert loop is not None
            try:
                loop.run_in_executor(None, self._checkpoint)
            except RuntimeError:  # the loop is closing (its executor shut down)
                self._checkpointing = False
        return results

    def _checkpoint(self) -> None:
        """Copy the WAL into the database and let it start over, off the loop (see module)."""
        busy = 1
        try:
            conn = sqlite3.connect(
                self.path, isolation_level=None, timeout=min(self._busy_timeout, 1.0)
            )
            try:
                busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            finally:
                conn.close()
        except sqlite3.Error:
            pass  # busy, or the file went away at shutdown
        finally:
            if busy:
                # Another connection held the file throughout: try again after the next
                # commit, not ``checkpoint_every`` commits later, so that a busy moment does
                # not let the WAL grow by another interval.
                self._since_checkpoint = self.checkpoint_every
            self._checkpointing = False

    def _hand_over(self, ops: list[_Op]) -> None:
        """Give ``ops`` to the thread, in order; later operations follow them there."""
        self._handed += len(ops)
        for op in ops:
            op.handed = True
            self._put(op)

    def _deliver(self, results: list[tuple[_Op, bool, Any]]) -> None:
        handed = [item for item in results if item[0].handed]
        if not handed:
            super()._deliver(results)
            return
        super()._deliver([item for item in results if not item[0].handed])
        loop = handed[0][0].loop
        assert loop is not None
        with contextlib.suppress(RuntimeError):  # a closed loop has nobody waiting any more
            loop.call_soon_threadsafe(self._returned, handed)

    def _returned(self, results: list[tuple[_Op, bool, Any]]) -> None:
        """Handed-over operations are done (on the loop): the loop may commit again."""
        self._handed = max(self._handed - len(results), 0)
        settle(results)

    def close(self) -> None:
        """Close as ``Journal`` does; what the loop queued is committed first, on the thread.

        Called from another thread (``DurableRuntime.destroy`` does), it leaves the queue to
        the loop: a flush after the close fails its operations as closed.
        """
        if not self._closed and self._pending and threading.get_ident() == self._loop_thread:
            ops, self._pending = self._pending, []
            self._hand_over(ops)
        super().close()


# The future of an operation ``call_sync`` runs on the loop's thread: its result is returned.
_UNUSED: concurrent.futures.Future[Any] = concurrent.futures.Future()
