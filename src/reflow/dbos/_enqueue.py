"""A batch of ticks and the step executions it starts, committed in one transaction.

When a run's reducer starts attempts of steps that run on the cluster, the journal batch that
records those ticks also inserts their executions into DBOS's queues: the same PostgreSQL
transaction, on the journal's own connection (DBOS's documented enqueue on a caller's
connection, ``SystemDatabase.init_workflow_with_connection``, which ``DBOSClient
.enqueue_in_transaction`` uses).  So a tick and the work it causes commit together or not at
all: there is no moment at which a committed tick's execution is not yet queued, nor an
execution whose tick could still be lost.  The attempt key is the DBOS workflow id.

The process driving the run awaits each result from the moment the batch is prepared
(``Dispatcher.expect``), before the commit, so a result that comes back at once is not missed.
If the batch does not commit, nothing was enqueued and the awaited results are forgotten.

Attempts that no batch enqueued go through ``Dispatcher.run`` as before: an attempt replayed
by a process that takes a run over (its tick, and so its execution, committed long ago)
attaches to the execution already queued.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy.exc

from reflow.dbos._dispatch import Dispatcher
from reflow.dbos._steps import PARTITION, reflow_step


@dataclass(slots=True)
class Start:
    """One step execution a batch starts: its queue, attempt key and ``reflow_step``'s
    arguments; ``context`` is what a ``Context`` step was dispatched with (else None)."""

    queue: str
    key: str
    arguments: tuple[Any, ...]
    context: str | None
    # The command list of the tick that started it: emptied when the run stops before
    # running the batch's commands (the execution still runs; its result is read by
    # whichever process resumes the run, which attaches to it).
    commands: list[Any]


class BatchEnqueue:
    """``_seams.BatchWrites`` for the starts of one batch (see the module docstring)."""

    def __init__(
        self, dispatcher: Dispatcher, starts: list[Start], forget: Callable[[str], None]
    ) -> None:
        self.dispatcher = dispatcher
        self.starts = starts
        self._forget = forget  # drops a start the batch will not run (``RemoteSteps.sent``)
        # Keys enqueued before (a resumed run starting again an attempt its previous driver
        # started): no notification will come if the execution finished already.
        self.existed: list[str] = []
        for start in starts:
            dispatcher.expect(start.key)

    def write(self, conn: Any) -> None:
        """On the journal's thread, in the batch's transaction."""
        try:
            self.existed = insert_with(conn.sqlalchemy(), self.starts)
        except sqlalchemy.exc.DBAPIError as exc:
            # As the journal's own statements fail (``_connection``): the transaction is in
            # doubt, so it fails whole (and a deadlock or serialization conflict, the cause,
            # has it run again, ``PgJournal._transact``).
            raise sqlite3.OperationalError(f"PostgreSQL: {exc.orig}") from exc.orig

    def settle(self, committed: bool) -> None:
        if committed and self.existed:
            self.dispatcher.announce(self.existed)
        for start in self.starts:
            if not committed:
                self.dispatcher.forget(start.key)
                self._forget(start.key)
            elif not start.commands:
                self._forget(start.key)  # queued; this process will not await it


def insert_with(conn: Any, starts: list[Start]) -> list[str]:
    """Insert an ENQUEUED row for each of ``starts`` through ``conn`` (a SQLAlchemy
    connection in a transaction the caller commits); the keys that existed, left as they
    were (DBOS tells them by the creator token it stores with a new row)."""
    from dbos._core import prepare_enqueued_workflow
    from dbos._dbos import _get_dbos_instance

    dbos = _get_dbos_instance()
    creator = uuid.uuid4().hex
    existed = []
    for start in starts:
        status = prepare_enqueued_workflow(
            dbos,
            reflow_step,
            start.arguments,
            {},
            queue_name=start.queue,
            workflow_id=start.key,
            queue_partition_key=PARTITION,
        )
        _, inserted = dbos._sys_db.init_workflow_with_connection(status, conn, creator_xid=creator)
        if not inserted:
            existed.append(start.key)
    return existed
