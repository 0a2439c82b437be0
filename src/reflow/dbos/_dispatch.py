"""Step executions awaited by the process driving their run, their results announced by NOTIFY.

An attempt is normally enqueued by the journal batch whose tick starts it (``_enqueue``); the
dispatcher then only awaits its result (``expect``).  An attempt no batch enqueued (a step
call that starts one again, a step sent back to the driver) is enqueued here (``run``): every
such attempt of one loop iteration goes into one transaction (DBOS's batch insert of ENQUEUED
rows, ``SystemDatabase.init_workflows``, which skips an id that exists: enqueuing an attempt
again attaches to the first enqueue).

Results are not polled per execution.  A trigger on DBOS's ``workflow_status`` table
(installed once per cluster, ``install_trigger``) NOTIFYs the cluster's step channel with the
workflow id when a ``reflow_step`` execution reaches a final status; the notification is
delivered when DBOS commits the outcome.  The process waiting for it reads the outputs of
every execution announced meanwhile in one query.  A poll of every awaited execution is the
fallback while the LISTEN connection is down (and, slowly, while it is up).

A second trigger NOTIFYs the cluster's enqueue channel with the queue's name when a
``reflow_step`` execution is enqueued (or put back on its queue by recovery): the processes
serving that queue claim it at once (``_wakeup``), not at their next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import psycopg
import sqlalchemy
import sqlalchemy.exc

from reflow.dbos._steps import PARTITION, reflow_step
from reflow.dbos._wakeup import Waker

logger = logging.getLogger("reflow.dbos")

FINISHED = ("SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED")
# Awaited executions are read by poll this often while the LISTEN connection is down, and
# every ``LISTENING_POLL_SECONDS`` while it is up (a notification is never dropped by
# PostgreSQL once LISTEN has taken effect; the slow poll only bounds a surprise).
FALLBACK_POLL_SECONDS = 0.5
LISTENING_POLL_SECONDS = 10.0
_READ_CHUNK = 500
# A dropped connection (a PostgreSQL restart, ``pg_terminate_backend``) fails one enqueue
# transaction, not the steps in it: the batch is tried again for this long before they fail.
ENQUEUE_RETRY_SECONDS = 30.0


def is_connection_error(exc: BaseException) -> bool:
    """Whether ``exc`` says the database connection went away (worth a retry), not that the
    statement itself was wrong."""
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        exc = exc.orig if isinstance(exc.orig, BaseException) else exc
    return isinstance(exc, (sqlalchemy.exc.OperationalError, psycopg.OperationalError))


def step_channel(schema: str) -> str:
    return f"reflow_{schema}_steps"[:63]


def enqueue_channel(schema: str) -> str:
    return f"reflow_{schema}_enqueued"[:63]


def install_trigger(conn: psycopg.Connection[Any], schema: str) -> None:
    """The NOTIFY triggers on ``<schema>_dbos.workflow_status`` (idempotent, under a lock).

    A batch enqueue fires the enqueue trigger once per row, but PostgreSQL delivers one
    notification per distinct payload of a transaction: one per queue.
    """
    dbos_schema = f'"{schema}_dbos"'
    finished = ", ".join(f"'{s}'" for s in FINISHED)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"reflow:{schema}",))
        conn.execute(
            f"CREATE OR REPLACE FUNCTION {dbos_schema}.reflow_step_finished() RETURNS trigger"
            " LANGUAGE plpgsql AS $$ BEGIN"
            " PERFORM pg_notify(TG_ARGV[0], NEW.workflow_uuid); RETURN NULL; END $$"
        )
        conn.execute(
            f"DROP TRIGGER IF EXISTS reflow_step_finished ON {dbos_schema}.workflow_status"
        )
        conn.execute(
            f"CREATE TRIGGER reflow_step_finished AFTER UPDATE OF status"
            f" ON {dbos_schema}.workflow_status FOR EACH ROW"
            f" WHEN (NEW.name = 'reflow_step' AND NEW.status IN ({finished})"
            "  AND OLD.status IS DISTINCT FROM NEW.status)"
            f" EXECUTE FUNCTION {dbos_schema}.reflow_step_finished('{step_channel(schema)}')"
        )
        conn.execute(
            f"CREATE OR REPLACE FUNCTION {dbos_schema}.reflow_step_enqueued() RETURNS trigger"
            " LANGUAGE plpgsql AS $$ BEGIN"
            " PERFORM pg_notify(TG_ARGV[0], NEW.queue_name); RETURN NULL; END $$"
        )
        conn.execute(
            f"DROP TRIGGER IF EXISTS reflow_step_enqueued ON {dbos_schema}.workflow_status"
        )
        conn.execute(
            f"CREATE TRIGGER reflow_step_enqueued AFTER INSERT OR UPDATE OF status"
            f" ON {dbos_schema}.workflow_status FOR EACH ROW"
            " WHEN (NEW.name = 'reflow_step' AND NEW.status = 'ENQUEUED'"
            "  AND NEW.queue_name IS NOT NULL)"
            f" EXECUTE FUNCTION {dbos_schema}.reflow_step_enqueued('{enqueue_channel(schema)}')"
        )


def forget_step_records(dsn: str, schema: str) -> int:
    """Delete the finished step executions of runs the journal no longer has (pruned); how
    many.  DBOS keeps an execution in its status row, the rows that reference it (deleted
    with it, ON DELETE CASCADE) and its payload rows (``workflow_input``/``_output``, no
    foreign key: deleted here by id, as DBOS's own ``delete_workflows`` does).

    An attempt's key, its DBOS workflow id, is ``RUN_ID:STEP:ATTEMPT`` (a step name has no
    ``:``), so the run id is what precedes its last two ``:``.
    """
    dbos_schema = f'"{schema}_dbos"'
    finished = ", ".join(f"'{s}'" for s in FINISHED)
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        tables = [
            table
            for table in ("workflow_status", "workflow_input", "workflow_output")
            if conn.execute("SELECT to_regclass(%s)", (f"{dbos_schema}.{table}",)).fetchone()
            != (None,)
        ]
        if "workflow_status" not in tables:
            return 0  # DBOS never ran on this journal (steps were not distributed)
        ids = [
            row[0]
            for row in conn.execute(
                f"SELECT ws.workflow_uuid FROM {dbos_schema}.workflow_status AS ws"
                f" WHERE ws.name = 'reflow_step' AND ws.status IN ({finished})"
                f' AND NOT EXISTS (SELECT 1 FROM "{schema}".runs AS r'
                "  WHERE r.run_id = regexp_replace(ws.workflow_uuid, ':[^:]*:[^:]*$', ''))"
            )
        ]
        for table in tables:  # one transaction: the status row and its payloads go together
            conn.execute(f"DELETE FROM {dbos_schema}.{table} WHERE workflow_uuid = ANY(%s)", (ids,))
        return len(ids)


class StepFailed(RuntimeError):
    """A step execution ended without a result or an error of its own (cancelled by DBOS)."""


class Dispatcher:
    """The executions this process enqueued and awaits (one per process, see ``_cluster``)."""

    def __init__(self, dsn: str, schema: str) -> None:
        self.dsn = dsn
        self.channel = step_channel(schema)
        self.enqueued = enqueue_channel(schema)
        self._finished = finished_query(schema)
        # The wake-ups of the queues this process serves (none in a process serving none).
        self.waker: Waker | None = None
        self.waiting: dict[str, asyncio.Future[Any]] = {}
        self._queued: list[tuple[str, str, tuple[Any, ...]]] = []  # (queue, id, arguments)
        self._flushing: asyncio.Task[None] | None = None
        self._announced: set[str] = set()
        self._reading: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._listening = False

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._listen()), loop.create_task(self._fallback())]

    async def close(self) -> None:
        tasks = [*self._tasks, self._flushing, self._reading]
        for task in tasks:
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in tasks if t is not None), return_exceptions=True)
        self._tasks = []

    # -- enqueue -------------------------------------------------------------------------------

    def expect(self, workflow_id: str) -> None:
        """Await the result of ``workflow_id``, enqueued by this process's journal batch
        (``_enqueue``): ``run`` then only waits for it."""
        if workflow_id not in self.waiting:
            self.waiting[workflow_id] = asyncio.get_running_loop().create_future()

    def forget(self, workflow_id: str) -> None:
        """Stop awaiting an expected execution (its batch did not commit)."""
        future = self.waiting.get(workflow_id)
        if future is not None and not future.done():
            del self.waiting[workflow_id]

    async def run(self, queue: str, workflow_id: str, arguments: tuple[Any, ...]) -> Any:
        """Enqueue ``reflow_step(*arguments)`` as ``workflow_id`` on ``queue``; its output."""
        future = self.waiting.get(workflow_id)
        if future is None:
            future = self.waiting[workflow_id] = asyncio.get_running_loop().create_future()
            self._queued.append((queue, workflow_id, arguments))
            if self._flushing is None or self._flushing.done():
                self._flushing = asyncio.get_running_loop().create_task(self._flush())
        try:
            return await asyncio.shield(future)
        finally:
            if self.waiting.get(workflow_id) is future and not future.done():
                del self.waiting[workflow_id]  # the waiter went away (cancelled step)

    async def _flush(self) -> None:
        # Every attempt started in this loop iteration is queued by now (they were ready
        # before this task): one transaction for all of them.
        while self._queued:
            batch, self._queued = self._queued, []
            try:
                existing = await _insert_retrying(batch)
            except Exception as exc:
                logger.exception("reflow.dbos: enqueuing %d step executions failed", len(batch))
                for _, workflow_id, _ in batch:
                    self._settle(workflow_id, exc)
                continue
            if existing:
                # Enqueued before (by a process that drove the run earlier): it may be
                # finished already, and then no notification will come.
                self.announce(existing)

    # -- results -------------------------------------------------------------------------------

    def announce(self, ids: Any) -> None:
        """Read the outcomes of the awaited executions among ``ids``, which finished (or may
        have: one enqueued before, whose notification may have gone by)."""
        self._announced.update(i for i in ids if i in self.waiting)
        if self._announced and (self._reading is None or self._reading.done()):
            self._reading = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        while self._announced:
            ids, self._announced = list(self._announced), set()
            await self._read_outputs(ids)

    async def _read_outputs(self, ids: list[str]) -> None:
        for start in range(0, len(ids), _READ_CHUNK):
            try:
                chunk = ids[start : start + _READ_CHUNK]
                done = await asyncio.to_thread(_read_finished, self._finished, chunk)
            except Exception:
                logger.exception("reflow.dbos: reading step results failed")
                continue
            for workflow_id, error, output in done:
                self._settle(workflow_id, error, output)

    def _settle(self, workflow_id: str, error: BaseException | None, output: Any = None) -> None:
        future = self.waiting.pop(workflow_id, None)
        if future is None or future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(output)

    async def _listen(self) -> None:
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)
                async with conn:
                    await conn.execute(f'LISTEN "{self.channel}"')
                    waker = self.waker
                    if waker is not None:
                        await conn.execute(f'LISTEN "{self.enqueued}"')
                        waker.wake_all()  # enqueued while nobody listened
                    # Anything that finished before LISTEN took effect is read once now.
                    self.announce(list(self.waiting))
                    self._listening = True
                    async for note in conn.notifies():
                        if note.channel == self.channel:
                            self.announce((note.payload,))
                        elif waker is not None:
                            waker.wake(note.payload)
            except psycopg.Error as exc:
                logger.warning("reflow.dbos: LISTEN %s failed (%s); retrying", self.channel, exc)
            finally:
                self._listening = False
            await asyncio.sleep(1.0)

    async def _fallback(self) -> None:
        waited = 0.0
        while True:
            await asyncio.sleep(FALLBACK_POLL_SECONDS)
            waited += FALLBACK_POLL_SECONDS
            if self._listening and waited < LISTENING_POLL_SECONDS:
                continue
            waited = 0.0
            with contextlib.suppress(Exception):
                if self.waiting:
                    await self._read_outputs(list(self.waiting))


async def _insert_retrying(batch: list[tuple[str, str, tuple[Any, ...]]]) -> set[str]:
    """``_insert`` in a thread, again after a dropped connection (it is idempotent: an id
    inserted by an attempt whose answer was lost comes back as existing)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ENQUEUE_RETRY_SECONDS
    pause = 0.1
    while True:
        try:
            return await asyncio.to_thread(_insert, batch)
        except Exception as exc:
            if not is_connection_error(exc) or loop.time() + pause > deadline:
                raise
            logger.warning("reflow.dbos: enqueuing failed (%s); trying again", exc)
        await asyncio.sleep(pause)
        pause = min(pause * 2, 2.0)


def _insert(batch: list[tuple[str, str, tuple[Any, ...]]]) -> set[str]:
    """Insert ENQUEUED rows for ``batch`` in one transaction; the ids that already existed."""
    from dbos._core import prepare_enqueued_workflow
    from dbos._dbos import _get_dbos_instance

    dbos = _get_dbos_instance()
    statuses = [
        prepare_enqueued_workflow(
            dbos,
            reflow_step,
            arguments,
            {},
            queue_name=queue,
            workflow_id=workflow_id,
            queue_partition_key=PARTITION,
        )
        for queue, workflow_id, arguments in batch
    ]
    inserted = dbos._sys_db.init_workflows(statuses)
    return {workflow_id for _, workflow_id, _ in batch} - inserted


def finished_query(schema: str) -> sqlalchemy.TextClause:
    dbos_schema = f'"{schema}_dbos"'
    return sqlalchemy.text(
        "SELECT ws.workflow_uuid, ws.status, coalesce(wo.output, ws.output),"
        " coalesce(wo.error, ws.error), ws.serialization"
        f" FROM {dbos_schema}.workflow_status AS ws"
        f" LEFT JOIN {dbos_schema}.workflow_output AS wo ON wo.workflow_uuid = ws.workflow_uuid"
        " WHERE ws.workflow_uuid = ANY(:ids) AND ws.status = ANY(:finished)"
    )


def _read_finished(
    query: sqlalchemy.TextClause, ids: list[str]
) -> list[tuple[str, BaseException | None, Any]]:
    """(id, error, output) of the executions of ``ids`` that finished, in one query.

    DBOS's own ``list_workflows`` would do, but it builds a statement with every filter it
    offers on each call: a third of a driving process's time went there when results came one
    at a time.  The columns are DBOS's (an outcome in ``workflow_output``, or in the status row
    where it was written before that table existed), decoded by DBOS's own serializer.
    """
    from dbos._dbos import _get_dbos_instance
    from dbos._serialization import deserialize_exception, deserialize_value

    sys_db = _get_dbos_instance()._sys_db
    with sys_db.engine.begin() as conn:
        rows = conn.execute(query, {"ids": ids, "finished": list(FINISHED)}).fetchall()
    serializer = sys_db.serializer
    found: list[tuple[str, BaseException | None, Any]] = []
    for workflow_id, status, output, error, serialization in rows:
        if status == "SUCCESS":
            found.append((workflow_id, None, deserialize_value(output, serialization, serializer)))
        elif status == "ERROR" and error is not None:
            raised = deserialize_exception(error, serialization, serializer)
            found.append((workflow_id, raised, None))
        else:
            failed = StepFailed(f"step execution {workflow_id} ended {status}")
            found.append((workflow_id, failed, None))
    return found
