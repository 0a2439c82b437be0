"""``DurableRuntime``: workflows whose runs survive the process, journaled in one SQLite file."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import weakref
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from reflow.durable._adapters import DurableExternalAdapter
from reflow.durable._catalogue import catalogue_of, check_send
from reflow.durable._encoding import JournalCodec, codec_for, decode_store
from reflow.durable._errors import JournalError, UnknownRun
from reflow.durable._info import StoredEvent
from reflow.durable._journal import Durability, Journal
from reflow.durable._leases import Register, Unregister, host_identity, new_owner_token
from reflow.durable._live import LiveRun
from reflow.durable._loop_journal import LoopJournal
from reflow.durable._manager import RunManager
from reflow.durable._poller import heartbeat, poll_forever, scan
from reflow.durable._queries import Lookup
from reflow.durable._run_listing import RunListing
from reflow.durable._run_reads import SingleRunReads
from reflow.engine import RunConfig, RunState, TickAddEvent, TickCancelRun, WorkflowTick
from reflow.errors import WorkflowRuntimeError
from reflow.events import Event, StartEvent, StopEvent
from reflow.runtime.types.plugin import (
    ExternalRunAdapter,
    InternalRunAdapter,
    RegisteredWorkflow,
    Runtime,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from reflow.context.serializers import BaseSerializer
    from reflow.durable._seams import BatchWrites, LiveRunView
    from reflow.engine import Command
    from reflow.handler import WorkflowHandler
    from reflow.runtime.types.step_call import RunnableWorkflow


class DurableRuntime(SingleRunReads, RunListing, Runtime):
    """Runs workflows durably: every tick is journaled in the SQLite file ``path`` first.

    ``durability`` is SQLite's ``synchronous`` setting: ``"normal"`` (a commit survives a
    process crash; the last ones may be lost on power failure) or ``"full"`` (they survive
    power failure too, at an fsync per commit).  ``snapshot_every`` bounds replay: a run's
    state is snapshotted after that many ticks (and once its ticks outweigh its last snapshot).
    ``lease_seconds`` is how long a silent process keeps its runs before another takes them
    over (a dead process on the same host loses them at once).  An idle run (waiting for an
    event or a timer) is released from memory after ``release_idle_after`` seconds (None:
    never).  ``poll_interval`` paces the scan for work (failover, due timers of released
    runs, events sent from other processes).  With ``auto_resume`` False, ``launch()`` and the
    scan only pick up runs this process asked for (``run(run_id=...)``, ``get_handler``).
    """

    persists_state = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        durability: Durability = "normal",
        snapshot_every: int = 100,
        lease_seconds: float = 15.0,
        release_idle_after: float | None = 1.0,
        poll_interval: float = 0.1,
        auto_resume: bool = True,
        busy_timeout: float = 5.0,
    ) -> None:
        super().__init__()
        if not isinstance(snapshot_every, int) or snapshot_every < 1:
            raise ValueError(f"snapshot_every must be an integer >= 1, got {snapshot_every!r}")
        for name, value in (
            ("lease_seconds", lease_seconds),
            ("poll_interval", poll_interval),
            ("busy_timeout", busy_timeout),
        ):
            if not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        if release_idle_after is not None and release_idle_after < 0:
            raise ValueError(f"release_idle_after must be >= 0 or None, got {release_idle_after}")
        self.journal = self._make_journal(path, durability, busy_timeout)
        self.snapshot_every = snapshot_every
        self.lease_seconds = float(lease_seconds)
        self.release_idle_after = release_idle_after
        self.poll_interval = float(poll_interval)
        self.auto_resume = auto_resume
        self.owner = new_owner_token()
        self.host = host_identity()
        # One workflow per name (the first registered), kept so its runs can always resume.
        self._workflows: dict[str, Any] = {}
        self._codecs: weakref.WeakKeyDictionary[Any, JournalCodec] = weakref.WeakKeyDictionary()
        self._manager = RunManager(self, self.journal, self.owner)
        self._poller: asyncio.Task[None] | None = None
        self._launching: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._destroyed = False
        # Workflow names whose catalogue this process has written (see ``_catalogue``), and
        # the TARGET each was loaded from when a command line knows it better than the class.
        self._catalogued: set[str] = set()
        self.targets: dict[str, str] = {}

    def _make_journal(
        self, path: str | os.PathLike[str], durability: Durability, busy_timeout: float
    ) -> Journal:
        """The journal this runtime writes; a runtime on another database overrides it."""
        return LoopJournal(path, durability=durability, busy_timeout=busy_timeout)

    @property
    def path(self) -> str:
        return self.journal.path

    # -- registration --------------------------------------------------------------------------

    def register(self, workflow: RunnableWorkflow) -> RegisteredWorkflow:
        """Make ``workflow``'s runs resumable here; the first workflow of a name keeps it."""
        self._workflows.setdefault(workflow.workflow_name, workflow)
        return RegisteredWorkflow(workflow=workflow, steps=workflow._step_workers())

    def track_workflow(self, workflow: Any) -> None:
        """A workflow built with this runtime is known by name at once, for resumes."""
        super().track_workflow(workflow)
        self._workflows.setdefault(workflow.workflow_name, workflow)

    def _catalogue_once(self, workflow: Any) -> str | None:
        """The workflow's catalogue for the journal, the first time this process starts a run."""
        name = workflow.workflow_name
        if name in self._catalogued:
            return None
        self._catalogued.add(name)
        try:
            return json.dumps(catalogue_of(workflow, self.targets.get(name)))
        except Exception:  # a catalogue only helps the command line; never fail a run on it
            return None

    def _batch_writes(
        self, live: LiveRunView, batch: Sequence[tuple[WorkflowTick, list[Command]]]
    ) -> BatchWrites | None:
        """Rows to commit with ``live``'s next journal batch: none here (a runtime built on
        this one may enqueue the batch's work in the same transaction)."""
        return None

    def _codec(self, workflow: Any) -> JournalCodec:
        codec = self._codecs.get(workflow)
        if codec is None:
            config: RunConfig = workflow._run_config("")
            codec = self._codecs[workflow] = codec_for(config)
        return codec

    # -- life cycle ----------------------------------------------------------------------------

    async def launch(self) -> None:
        """Open the journal (migrating it), then resume the unfinished runs of known workflows.

        Safe to call more than once; ``run()`` and ``get_handler()`` call it when needed.
        """
        if self._launched:
            return
        if self._destroyed:
            raise WorkflowRuntimeError("This DurableRuntime was destroyed; create a new one")
        self._bind_loop()
        if self._launching is not None:
            await asyncio.shield(self._launching)
            return
        self._launching = asyncio.get_running_loop().create_future()
        try:
            await self.journal.open()
            await self.journal.call(Register(self.owner, os.getpid(), self.host, time.time()))
            await super().launch()
            await heartbeat(self)
            loads = await scan(self, self._manager)
            if loads:
                await asyncio.gather(*loads, return_exceptions=True)
            self._poller = asyncio.get_running_loop().create_task(poll_forever(self, self._manager))
            self._launching.set_result(None)
        except BaseException as exc:
            self._launching.set_exception(exc)
            self._launching.exception()
            self._launching = None
            raise

    async def destroy(self) -> None:
        """Release every run this process holds and close the journal.

        Unfinished runs stay in the journal and continue in the next process that launches a
        runtime on the same file (or in a live one, which takes them over at once).
        """
        if self._destroyed:
            return
        self._destroyed = True
        manager = self._manager
        manager.closing = True
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
        if self.journal.version:  # the journal was opened
            for live in list(manager.live.values()):
                await manager.release(live)
            gone = [live.gone for live in list(manager.live.values())]
            if gone:
                await asyncio.wait(gone, timeout=2.0)
            await manager.cancel_tasks()
            with contextlib.suppress(JournalError):
                await self.journal.call(Unregister(self.owner))
        await asyncio.to_thread(self.journal.close)
        for run_id in list(manager.outcomes):
            manager.settle(
                run_id,
                error=WorkflowRuntimeError(
                    f"The DurableRuntime was destroyed before run {run_id} ended; it continues "
                    f"when a process launches a runtime on {self.path}"
                ),
            )
        self._launched = False

    def _bind_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop and not self._loop.is_closed():
            raise WorkflowRuntimeError(
                "A DurableRuntime serves the event loop it was first used on; create one per loop"
            )

    # -- runs ------------------------------------------------------------------------------------

    def run_workflow(
        self,
        run_id: str,
        workflow: RunnableWorkflow,
        init_state: RunState,
        start_event: Event | None = None,
        serialized_state: dict[str, Any] | None = None,
        serializer: BaseSerializer | None = None,
        *,
        state_store: Any = None,
        registered: RegisteredWorkflow | None = None,
    ) -> ExternalRunAdapter:
        """Start (or, for a run id already in the journal, attach to) a run."""
        if start_event is not None and not isinstance(start_event, StartEvent):
            raise WorkflowRuntimeError(f"Expected a StartEvent, got {type(start_event).__name__}")
        if self._destroyed:
            raise WorkflowRuntimeError("This DurableRuntime was destroyed; create a new one")
        self._bind_loop()
        registered = registered or self.get_or_register(workflow)
        manager = self._manager
        existing = manager.live.get(run_id)
        if existing is not None and not existing.stopping:
            manager.remember_store(run_id, state_store)
            return DurableExternalAdapter(self, run_id, existing.workflow)
        if existing is not None:  # leaving this process: follow it wherever it goes
            adapter = DurableExternalAdapter(self, run_id, workflow)
            manager.spawn(manager.attach_existing(run_id, workflow))
            return adapter
        manager.start_new(run_id, workflow, registered.steps, init_state, start_event, state_store)
        return DurableExternalAdapter(self, run_id, workflow)

    def get_internal_adapter(self, workflow: Any) -> InternalRunAdapter:
        raise WorkflowRuntimeError("DurableRuntime hands internal adapters to its runs directly")

    def get_external_adapter(self, run_id: str) -> ExternalRunAdapter:
        return self._handle(run_id)[0]

    def get_handler(self, run_id: str) -> WorkflowHandler:
        """A handler for a run in the journal, started by any process (needs ``launch()``).

        Await it for the result, ``stream_events()`` from the start, ``send_event()`` to it
        (which loads it here if no live process holds it), ``cancel_run()``.
        """
        from reflow.context.context import Context
        from reflow.handler import WorkflowHandler

        adapter, store = self._handle(run_id)
        ctx: Context[Any] = Context(adapter.workflow)
        ctx._bind_run(adapter, store)
        return WorkflowHandler(adapter.workflow, adapter, ctx)

    def _handle(self, run_id: str) -> tuple[DurableExternalAdapter, Any]:
        if not self._launched:
            raise WorkflowRuntimeError(
                "await runtime.launch() before asking a DurableRuntime for a run's handler"
            )
        self._bind_loop()
        manager = self._manager
        live = manager.live.get(run_id)
        if live is not None and not live.stopping:
            return DurableExternalAdapter(self, run_id, live.workflow), live.store
        row = self.journal.call_sync(Lookup(run_id))
        if row is None:
            raise UnknownRun(f"No run with id {run_id!r} in {self.path}")
        workflow = self._workflow_named(row.workflow, run_id)
        adapter = DurableExternalAdapter(self, run_id, workflow)
        manager.wanted.add(run_id)
        if row.finished:
            manager.settle_from_row(row, adapter.codec)
        else:
            manager.watch(run_id, workflow)
        store = decode_store(row.store, workflow)
        manager.remember_store(run_id, store)
        return adapter, store

    def _workflow_named(self, name: str, run_id: str) -> Any:
        workflow = self._workflows.get(name)
        if workflow is None:
            known = ", ".join(sorted(self._workflows)) or "none"
            raise WorkflowRuntimeError(
                f"Run {run_id!r} belongs to workflow {name!r}, which is not registered with "
                f"this runtime (registered: {known}); construct it with runtime=... first"
            )
        return workflow

    async def send_event(self, run_id: str, event: Event, step: str | None = None) -> None:
        """Send ``event`` to a run wherever it lives; returns once it is safely stored.

        An event the workflow cannot take (``step`` is not one of its steps, or does not accept
        the event; an event that cannot be stored) raises ``ValueError`` and stores nothing.
        """
        await self.launch()
        workflow = await self._workflow_of(run_id)
        check_send(workflow, event, step)
        tick = TickAddEvent(at=time.time(), event=event, step_name=step)
        await self._manager.deliver(run_id, tick, self._codec(workflow))

    async def cancel_run(self, run_id: str) -> None:
        """Cancel a run wherever it lives (it ends with ``WorkflowCancelledByUser``)."""
        await self.launch()
        workflow = await self._workflow_of(run_id)
        await self._manager.deliver(run_id, TickCancelRun(at=time.time()), self._codec(workflow))

    async def _workflow_of(self, run_id: str) -> Any:
        live = self._manager.live.get(run_id)
        if live is not None:
            return live.workflow
        row = await self.journal.call(Lookup(run_id), write=False)
        if row is None:
            raise UnknownRun(f"No run with id {run_id!r} in {self.path}")
        return self._workflow_named(row.workflow, run_id)

    async def stream_events(
        self, run_id: str, *, after: int = 0, follow: bool = True
    ) -> AsyncIterator[StoredEvent]:
        """The run's published events with ``seq > after``, numbered; resume from any position.

        With ``follow`` it waits for new events until the run ends, else it stops at the last
        stored one.
        """
        row = await self._row(run_id)
        codec = self._codec_named(row.workflow)
        cursor = after
        while True:
            items, complete = await self._manager.read_events(run_id, cursor, codec)
            for seq, event in items:
                cursor = seq
                yield StoredEvent(seq, event)
            if complete or (not items and not follow):
                return
            if not items:
                await self._manager.wait_for_change(run_id, self.poll_interval)

    # -- for the adapters ------------------------------------------------------------------------

    @property
    def _live(self) -> dict[str, LiveRun]:
        return self._manager.live

    def _outcome_future(self, run_id: str) -> asyncio.Future[StopEvent]:
        return self._manager.outcome_future(run_id)

    async def _deliver(self, run_id: str, tick: WorkflowTick, codec: JournalCodec) -> None:
        await self._manager.deliver(run_id, tick, codec)

    def _deliver_nowait(self, run_id: str, tick: WorkflowTick, codec: JournalCodec) -> None:
        self._manager.deliver_nowait(run_id, tick, codec)

    async def _read_events(
        self, run_id: str, after: int, codec: JournalCodec
    ) -> tuple[list[tuple[int, Event]], bool]:
        return await self._manager.read_events(run_id, after, codec)

    async def _wait_for_change(self, run_id: str) -> None:
        await self._manager.wait_for_change(run_id, self.poll_interval)
