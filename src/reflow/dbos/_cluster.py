"""The process's DBOS executor: the queues that move step executions between processes.

DBOS Transact is one instance per process.  ``Cluster`` configures and launches it for the
first ``DBOSRuntime`` that needs it and destroys it after the last one is gone.  Everything
DBOS keeps (its workflow rows, queues, checkpoints) lives in the schema ``<journal>_dbos`` of
the same database, so a journal and its executor state are created and dropped together.

DBOS knows one workflow of reflow's: ``reflow_step``, which runs one attempt of one step of
any registered workflow and returns its result.  Its code does not change with the user's
workflows, so the application version is pinned (``APPLICATION_VERSION``): an upgrade of the
user's code or of DBOS never strands queued step executions.

Failover (reflow's glue, not DBOS's): open-source DBOS recovers a process's pending
workflows only when that same executor id launches again.  Every process heartbeats a row in
``executors``; any process that finds a row silent for ``lease_seconds`` (or, on the same host,
a row whose PID is gone) deletes it and asks DBOS to recover that executor's workflows, which
DBOS puts back on their queues for any live process to dequeue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
from dbos import DBOS

from reflow.dbos import _steps, _wakeup
from reflow.dbos._dispatch import Dispatcher, install_trigger
from reflow.dbos._steps import PARTITION, queue_name
from reflow.durable._leases import host_identity, pid_alive

APPLICATION_VERSION = "reflow-steps-1"
logger = logging.getLogger("reflow.dbos")
_cluster: Cluster | None = None


class Cluster:
    """DBOS launched in this process for one database and journal schema."""

    def __init__(
        self,
        dsn: str,
        schema: str,
        lease_seconds: float,
        concurrency: int | None,
        listen: list[str],
    ) -> None:
        self.dsn = dsn
        # The queues this process dequeues from: those of the workflows it has (DBOS would
        # otherwise dequeue every queue of the database, steps it cannot run included).
        self.listen = listen
        self.schema = schema
        self.lease_seconds = lease_seconds
        self.concurrency = concurrency
        self.executor_id = uuid.uuid4().hex
        self.users = 0
        self.queues: set[str] = set()
        self.dispatcher = Dispatcher(dsn, schema)
        self._heart: asyncio.Task[None] | None = None
        self._beat_conn: psycopg.Connection[Any] | None = None

    def launch(self) -> None:
        dbos = DBOS(
            config={
                "name": "reflow",
                "system_database_url": self.dsn,
                "dbos_system_schema": f"{self.schema}_dbos",
                "application_version": APPLICATION_VERSION,
                "executor_id": self.executor_id,
                "sys_db_pool_size": 6,  # a cluster of many processes shares max_connections
                "notification_listener_polling_interval_sec": 0.05,
                "log_level": "WARNING",
            }
        )
        _steps.executor_id = self.executor_id
        DBOS.listen_queues(self.listen)
        if self.listen:
            self.dispatcher.waker = _wakeup.install(dbos, self.listen)
        DBOS.launch()
        with self._connect() as conn:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            conn.execute(
                f'CREATE TABLE IF NOT EXISTS "{self.schema}".executors ('
                " executor_id TEXT PRIMARY KEY, pid BIGINT NOT NULL, host TEXT NOT NULL,"
                " heartbeat_at DOUBLE PRECISION NOT NULL)"
            )
            install_trigger(conn, self.schema)
            # Executions enqueued before the queues had a partition (by an earlier reflow):
            # a partitioned queue dequeues only rows with a key.
            conn.execute(
                f'UPDATE "{self.schema}_dbos".workflow_status SET queue_partition_key = %s'
                " WHERE name = 'reflow_step' AND status = 'ENQUEUED'"
                " AND queue_partition_key IS NULL",
                (PARTITION,),
            )
        self.beat()

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.dsn, autocommit=True, connect_timeout=10)

    def _beat_connection(self) -> psycopg.Connection[Any]:
        """The heartbeat's own connection, kept: a beat must not need a free connection slot
        (a server at ``max_connections`` would otherwise make this executor look dead)."""
        conn = self._beat_conn
        if conn is None or conn.closed or conn.broken:
            conn = self._beat_conn = self._connect()
        return conn

    async def register_queue(self, workflow: str, step: str, num_workers: int) -> None:
        """Declare the step's queue to DBOS, once per process.

        Only a process that serves the queue declares it (``DBOSRuntime.launch``): DBOS keeps a
        queue's limits in the database for the whole cluster, ``--concurrency`` included, and a
        process that only enqueues (a driver, an API process) would overwrite the workers'.
        """
        name = queue_name(workflow, step)
        if name in self.queues:
            return
        # DBOS refuses a per-process limit above the global one (a step with
        # ``num_workers=1`` on a worker started with ``--concurrency 8``).
        worker_limit = None if self.concurrency is None else min(self.concurrency, num_workers)
        if self.dispatcher.waker is not None:
            self.dispatcher.waker.set_worker_limit(name, worker_limit)
        await DBOS.register_queue_async(
            name,
            global_concurrency=num_workers,
            partition_concurrency=num_workers,
            worker_concurrency=worker_limit,
            # The poll of a busy queue; an idle one polls less and is woken (``_wakeup``).
            polling_interval_sec=_wakeup.BUSY_POLL_SECONDS,
        )
        self.queues.add(name)

    # -- failover ----------------------------------------------------------------------------

    def beat(self) -> list[str]:
        """Heartbeat this executor; take the rows of dead ones and return their ids."""
        now, host = time.time(), host_identity()
        conn = self._beat_connection()
        with conn.transaction():
            conn.execute(
                f'INSERT INTO "{self.schema}".executors VALUES (%s, %s, %s, %s)'
                " ON CONFLICT (executor_id) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at",
                (self.executor_id, os.getpid(), host, now),
            )
            rows = conn.execute(
                f'SELECT executor_id, pid, host, heartbeat_at FROM "{self.schema}".executors'
                " WHERE executor_id <> %s",
                (self.executor_id,),
            ).fetchall()
            dead = [
                str(executor)
                for executor, pid, where, beat in rows
                if beat < now - self.lease_seconds or (where == host and not pid_alive(int(pid)))
            ]
            taken: list[str] = []
            for executor in dead:  # the process whose DELETE removes the row recovers it
                gone = conn.execute(
                    f'DELETE FROM "{self.schema}".executors WHERE executor_id = %s',
                    (executor,),
                )
                if gone.rowcount:
                    taken.append(executor)
        return taken

    async def heartbeat_forever(self, interval: float) -> None:
        while True:
            try:
                dead = await asyncio.to_thread(self.beat)
                if dead:
                    logger.warning("reflow.dbos: recovering the steps of executors %s", dead)
                    await asyncio.to_thread(DBOS._recover_pending_workflows, dead)
            except Exception:
                logger.exception("reflow.dbos: executor heartbeat failed")
            await asyncio.sleep(interval)

    def start_heartbeat(self) -> None:
        if self._heart is None:
            self.dispatcher.start()
            interval = max(0.05, min(1.0, self.lease_seconds / 5))
            self._heart = asyncio.get_running_loop().create_task(self.heartbeat_forever(interval))

    async def close(self) -> None:
        await self.dispatcher.close()
        if self.dispatcher.waker is not None:
            _wakeup.uninstall(self.dispatcher.waker)
        if self._heart is not None:
            self._heart.cancel()
            await asyncio.gather(self._heart, return_exceptions=True)
            self._heart = None
        await _in_thread(DBOS.destroy)
        # DBOS made its own pool the loop's default executor; it is shut down now.
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor())
        if self._beat_conn is not None:
            self._beat_conn.close()
        with contextlib.suppress(psycopg.Error), self._connect() as conn:
            conn.execute(
                f'DELETE FROM "{self.schema}".executors WHERE executor_id = %s',
                (self.executor_id,),
            )


async def _in_thread(fn: Any) -> None:
    """``fn()`` on a thread of its own (the loop's default executor may be DBOS's, shut down)."""
    with ThreadPoolExecutor(1) as pool:
        await asyncio.get_running_loop().run_in_executor(pool, fn)


async def join(
    dsn: str, schema: str, lease_seconds: float, concurrency: int | None, listen: list[str]
) -> Cluster:
    """The process's cluster for ``dsn`` and ``schema``, launched on first use.

    ``listen`` names the queues of the workflows registered so far: DBOS fixes the queues a
    process dequeues from at launch, so workflows registered later in the same process have
    their steps run by the other processes of the cluster.
    """
    global _cluster
    if _cluster is None:
        cluster = Cluster(dsn, schema, lease_seconds, concurrency, listen)
        try:
            await _in_thread(cluster.launch)
        except BaseException:
            # DBOS may be launched already (the failure came after): a half-launched instance
            # would refuse the next launch of this process.
            await _in_thread(DBOS.destroy)
            asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor())
            raise
        _cluster = cluster
    elif (_cluster.dsn, _cluster.schema) != (dsn, schema):
        raise RuntimeError(
            f"this process already runs DBOS for schema {_cluster.schema!r}; DBOS is one "
            "instance per process, so every DBOSRuntime of a process must share its database "
            "and schema"
        )
    _cluster.users += 1
    _cluster.start_heartbeat()
    return _cluster


async def leave(cluster: Cluster) -> None:
    global _cluster
    cluster.users -= 1
    if cluster.users <= 0 and _cluster is cluster:
        _cluster = None
        await cluster.close()


async def run_step(queue: str, key: str, arguments: tuple[Any, ...]) -> str:
    """The result (encoded) of one step attempt run on the cluster: ``reflow_step(*arguments)``
    under the attempt ``key`` on ``queue``.

    The key is the DBOS workflow id.  An attempt its journal batch enqueued is only awaited
    (``_enqueue``); any other is enqueued now, and enqueuing an attempt again (after the process
    driving the run changed) attaches to the first enqueue, whose result counts.  The queue is
    not declared here but by the processes that serve it, when they launch
    (``Cluster.register_queue``): the execution waits in the queue until one does.
    """
    cluster = _cluster
    if cluster is None:
        raise RuntimeError("the DBOSRuntime driving this run was destroyed")
    result: str = await cluster.dispatcher.run(queue, key, arguments)
    return result
