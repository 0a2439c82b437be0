"""``DBOSRuntime``: durable runs whose journal is a PostgreSQL schema shared by a cluster."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import weakref
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

import psycopg

from reflow.dbos import _cluster, _steps
from reflow.dbos._dispatch import forget_step_records
from reflow.dbos._enqueue import BatchEnqueue
from reflow.dbos._journal import PgJournal, check_schema
from reflow.dbos._remote import RemoteSteps, remote_steps
from reflow.durable import DurableRuntime, JournalError
from reflow.durable._journal import Durability, Journal
from reflow.durable._seams import LiveRunView
from reflow.engine import Command, WorkflowTick
from reflow.runtime.types.plugin import RegisteredWorkflow
from reflow.runtime.types.step_call import RunnableWorkflow

logger = logging.getLogger("reflow.dbos")
LISTEN_WAIT_SECONDS = 5.0


class DBOSRuntime(DurableRuntime):
    """Runs workflows durably on PostgreSQL: every tick is journaled in ``schema`` at ``dsn``.

    The surface and the guarantees are ``DurableRuntime``'s (docs/durable.md): write-ahead
    ticks, exact replay, published events numbered per run, runs waiting for people released
    from memory and owned by nobody, idempotent start by ``run_id``, ``ctx.idempotency_key``.
    Every process that launches a ``DBOSRuntime`` on the same database and schema with the
    workflows registered shares the runs: it resumes runs whose process died (at once on the
    same host, after ``lease_seconds`` elsewhere), delivers events sent from any process, and
    fires timers of released runs.  See docs/distributed.md.

    With ``distribute_steps`` (the default), steps run on any process of the cluster, through
    DBOS queues: one queue per step, whose global concurrency is the step's ``num_workers`` (a
    limit across the cluster) and whose per-process concurrency is ``concurrency`` (None: no
    limit).  A ``Context`` step gets the run's store as it was at dispatch; its store writes,
    ``send_event`` and ``write_event_to_stream`` calls are applied to the run when it returns.
    Steps that need the live run stay in the process driving it: collecting steps, steps with
    resources, steps whose code calls ``collect_events`` or ``wait_for_event``, and the steps
    named in ``local_steps`` (``"step"`` or ``"workflow.step"``).
    """

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "reflow",
        snapshot_every: int = 100,
        lease_seconds: float = 15.0,
        release_idle_after: float | None = 1.0,
        poll_interval: float = 0.1,
        auto_resume: bool = True,
        distribute_steps: bool = True,
        concurrency: int | None = None,
        local_steps: Iterable[str] = (),
    ) -> None:
        if concurrency is not None and (not isinstance(concurrency, int) or concurrency < 1):
            raise ValueError(f"concurrency must be an integer >= 1 or None, got {concurrency!r}")
        self.dsn = dsn
        self.schema = check_schema(schema)
        self.distribute_steps = distribute_steps
        self.concurrency = concurrency
        if isinstance(local_steps, str):
            raise TypeError("local_steps must be a collection of step names, not one string")
        self.local_steps = frozenset(local_steps)
        self._cluster: _cluster.Cluster | None = None
        # The steps of each registered workflow that run on the cluster.
        self._remote: weakref.WeakKeyDictionary[Any, RemoteSteps] = weakref.WeakKeyDictionary()
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        super().__init__(
            dsn,
            snapshot_every=snapshot_every,
            lease_seconds=lease_seconds,
            release_idle_after=release_idle_after,
            poll_interval=poll_interval,
            auto_resume=auto_resume,
        )

    def _make_journal(
        self, path: str | os.PathLike[str], durability: Durability, busy_timeout: float
    ) -> Journal:
        return PgJournal(os.fspath(path), self.schema)

    def __repr__(self) -> str:
        return f"DBOSRuntime({self.path!r})"

    # -- steps on the cluster --------------------------------------------------------------------

    def register(self, workflow: RunnableWorkflow) -> RegisteredWorkflow:
        registered = super().register(workflow)
        if not self.distribute_steps:
            return registered
        remote = self._remote.get(workflow)
        if remote is None:  # one per workflow: its batches and its step calls share ``sent``
            remote = self._remote[workflow] = RemoteSteps(
                workflow, registered.steps, self.local_steps
            )
        return RegisteredWorkflow(workflow=workflow, steps=remote.routed)

    def _batch_writes(
        self, live: LiveRunView, batch: Sequence[tuple[WorkflowTick, list[Command]]]
    ) -> BatchEnqueue | None:
        """The executions of the steps ``batch`` starts on the cluster, enqueued in the
        batch's own transaction (``_enqueue``)."""
        remote = self._remote.get(live.workflow)
        cluster = self._cluster
        if remote is None or cluster is None or not remote.with_context:
            return None
        starts = remote.starts(live.run_id, live.store, batch)
        if not starts:
            return None
        return BatchEnqueue(cluster.dispatcher, starts, remote.forget)

    async def launch(self) -> None:
        if self._launched:
            return
        if self.distribute_steps and self._cluster is None:
            await self.journal.open()  # a database that cannot be used fails here, clearly
            # What ``reflow_step`` runs here: the workflows whose queues this process serves
            # (DBOS fixes them at launch), known before DBOS starts dequeuing, since an
            # execution already waiting in a queue is taken at once.
            for workflow in self._workflows.values():
                _steps.workflows.setdefault(workflow.workflow_name, workflow)
            try:
                listen = [
                    _steps.queue_name(workflow.workflow_name, step)
                    for workflow in self._workflows.values()
                    for step, _ in remote_steps(workflow, self.local_steps)
                ]
                cluster = await _cluster.join(
                    self.dsn, self.schema, self.lease_seconds, self.concurrency, listen
                )
            except Exception as exc:
                raise JournalError(f"cannot launch DBOS on {self.path}: {exc}") from exc
            self._cluster = cluster
            # Declare the queues this process serves (DBOS fixed them at its launch: a second
            # runtime of the process with other workflows leaves their queues to others).
            for workflow in list(self._workflows.values()):
                for step, num_workers in remote_steps(workflow, self.local_steps):
                    if _steps.queue_name(workflow.workflow_name, step) in cluster.listen:
                        await cluster.register_queue(workflow.workflow_name, step, num_workers)
        await super().launch()
        if self._listener is None:
            self._listener = asyncio.get_running_loop().create_task(self._listen())
            # A reader started as soon as ``launch`` returns must not depend on the poll:
            # wait (briefly; the poll covers a database that does not answer) for LISTEN.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._listening.wait(), LISTEN_WAIT_SECONDS)

    async def _listen(self) -> None:
        """Wake this process's readers of a run when another process commits to it.

        The poll (``poll_interval``) stays as the fallback while the connection is down.
        """
        assert isinstance(self.journal, PgJournal)
        channel = self.journal.channel
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)
                async with conn:
                    await conn.execute(f'LISTEN "{channel}"')
                    self._listening.set()
                    # What was committed while nobody listened is read once now.
                    self._manager.fire_all()
                    async for note in conn.notifies():
                        self._manager.fire(note.payload)
            except psycopg.Error as exc:
                logger.warning("reflow.dbos: LISTEN on %s failed (%s); retrying", channel, exc)
            self._listening.clear()
            await asyncio.sleep(1.0)

    async def prune(self, older_than: float | timedelta) -> int:
        """Delete runs that finished more than ``older_than`` ago, and the DBOS records of
        their step executions (so a pruned run's id can be used again); returns how many."""
        count = await super().prune(older_than)
        await asyncio.to_thread(forget_step_records, self.dsn, self.schema)
        return count

    async def destroy(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
            self._listener = None
        await super().destroy()
        cluster, self._cluster = self._cluster, None
        if cluster is not None:
            await _cluster.leave(cluster)
