"""The runs of one process: starting, loading, releasing, delivering events, settling results.

A run lives in this process's memory (a ``LiveRun``) only while it has something to do.  It is
*loaded* (its lease claimed, its state rebuilt from the latest snapshot and the ticks after it)
when it starts here, when an event is sent to it from here, when one of its timers is due, or
when the process that drove it died; it is *released* (a snapshot written, the lease given
back) once it has been idle for ``release_idle_after`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from reflow.durable._catalogue import check_send
from reflow.durable._driver import rebuild, start_snapshot
from reflow.durable._effects import EffectLog, scoped_steps
from reflow.durable._encoding import JournalCodec, decode_store, dumps, loads
from reflow.durable._errors import JournalError, LeaseLost, RunExists, RunReleased, UnknownRun
from reflow.durable._journal import Journal
from reflow.durable._leases import Reap
from reflow.durable._live import LiveRun
from reflow.durable._ops import Claim, Loaded, MoveAside, NewRun, PostToInbox, Refused, Release
from reflow.durable._outcomes import RunBook, retrieve
from reflow.durable._queries import Lookup
from reflow.durable._release import Releasing
from reflow.engine import Command, RunState, TickAddEvent, WorkflowTick
from reflow.errors import WorkflowRuntimeError
from reflow.events import StartEvent, StopEvent
from reflow.runtime.types.step_call import StepWorkerFunction

if TYPE_CHECKING:
    from reflow.durable._seams import BatchWrites, RuntimeView

logger = logging.getLogger("reflow.durable")


class RunManager(RunBook, Releasing):
    """Everything the runtime knows about the runs of this process (see the module docstring)."""

    def __init__(self, runtime: RuntimeView, journal: Journal, owner: str) -> None:
        super().__init__()
        self.runtime = runtime
        self.journal = journal
        self.owner = owner
        self.live: dict[str, LiveRun] = {}
        self.loading: dict[str, asyncio.Future[LiveRun | None]] = {}
        self.generation = 0
        self.closing = False
        self._semaphores: weakref.WeakKeyDictionary[Any, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )
        self._failed_loads: dict[str, float] = {}

    def batch_writes(
        self, live: LiveRun, batch: Sequence[tuple[WorkflowTick, list[Command]]]
    ) -> BatchWrites | None:
        return self.runtime._batch_writes(live, batch)

    # -- starting and loading ----------------------------------------------------------------

    def start_new(
        self,
        run_id: str,
        workflow: Any,
        steps: Any,
        state: RunState,
        start_event: StartEvent | None,
        store: Any,
    ) -> None:
        """Start a run that is (probably) new; its first journal batch creates it."""
        codec = self.runtime._codec(workflow)
        snapshot = None if start_event is not None else start_snapshot(state, codec)
        new_run = NewRun(
            workflow.workflow_name,
            time.time(),
            start_snapshot=snapshot,
            catalogue=self.runtime._catalogue_once(workflow),
        )
        if store is None:
            store = decode_store(None, workflow)
        self.remember_store(run_id, store)
        live = self._live_run(run_id, workflow, steps, state, store, codec, 1, 1, new_run, None)
        self.live[run_id] = live
        if self.runtime.is_launched:
            self._drive(live, start_event)
        else:
            self.spawn(self._launch_then_drive(live, start_event))

    async def _launch_then_drive(self, live: LiveRun, start_event: StartEvent | None) -> None:
        try:
            await self.runtime.launch()
        except BaseException as exc:
            self._forget(live)
            self.settle(live.run_id, error=exc)
            raise
        self._drive(live, start_event)

    def _live_run(
        self,
        run_id: str,
        workflow: Any,
        steps: Any,
        state: RunState,
        store: Any,
        codec: JournalCodec,
        next_seq: int,
        next_event_seq: int,
        new_run: NewRun | None,
        stored_store: str | None,
        effects: EffectLog | None = None,
    ) -> LiveRun:
        live = LiveRun(
            self,
            run_id,
            workflow,
            self._scoped(workflow, steps),
            state,
            store,
            codec,
            next_seq=next_seq,
            next_event_seq=next_event_seq,
            new_run=new_run,
            snapshot_every=self.runtime.snapshot_every,
            stored_store=stored_store,
            effects=effects,
        )
        live.generation = self.generation
        return live

    @staticmethod
    def _scoped(
        workflow: Any, steps: Mapping[str, StepWorkerFunction]
    ) -> Mapping[str, StepWorkerFunction]:
        """``steps`` running in attempt scopes (see ``_effects``), built once per mapping.

        Kept on the workflow, like its registrations, so they never outlive it.
        """
        cached = getattr(workflow, "_reflow_durable_steps", None)
        if cached is None or cached[0] is not steps:
            cached = (steps, scoped_steps(steps))
            workflow._reflow_durable_steps = cached
        return cached[1]

    def _drive(self, live: LiveRun, start_event: StartEvent | None) -> None:
        limit = getattr(live.workflow, "_num_concurrent_runs", None)
        if limit is None:
            live.done = live.driver.start(start_event)
            live.done.add_done_callback(partial(self._on_done, live))
            return
        semaphore = self._semaphores.get(live.workflow)
        if semaphore is None:
            semaphore = self._semaphores[live.workflow] = asyncio.Semaphore(limit)
        task = asyncio.get_running_loop().create_task(self._gated(live, start_event, semaphore))
        live.done = task
        task.add_done_callback(partial(self._on_done, live))

    @staticmethod
    async def _gated(
        live: LiveRun, start_event: StartEvent | None, semaphore: asyncio.Semaphore
    ) -> StopEvent:
        async with semaphore:
            return await live.driver.run(start_event)

    def _on_done(self, live: LiveRun, future: asyncio.Future[StopEvent]) -> None:
        self._forget(live)
        if live.finished:
            ending = self._endings.get(live.run_id)
            if ending is not None:
                ending.state = live.driver.state
        if future.cancelled():
            self.settle(live.run_id, error=asyncio.CancelledError())
            return
        error = future.exception()
        if error is None:
            self.settle(live.run_id, result=future.result())
        elif isinstance(error, RunExists):
            self.spawn(self.attach_existing(live.run_id, live.workflow))
        elif isinstance(error, (RunReleased, LeaseLost)):
            self.watch(live.run_id, live.workflow)
        elif isinstance(error, JournalError) and not live.finished:
            # A write failed (PostgreSQL dropped the connection, a disk error): whoever waits
            # here gets the error, loudly.  The journal holds the run up to its last commit:
            # hand it back, due at once, so that any process continues it from there (this one
            # after ``lease_seconds``) instead of the lease holding it until this process ends.
            self._failed_loads[live.run_id] = time.time()
            self.spawn(self._hand_back(live.run_id))
            self.settle(live.run_id, error=error)
        else:
            self.settle(live.run_id, error=error)

    async def _hand_back(self, run_id: str) -> None:
        for _ in range(20):  # the journal reconnects at its next transaction
            try:
                now = time.time()
                await self.journal.call(Release(run_id, self.owner, now, now, None, None))
                return
            except LeaseLost:
                return
            except JournalError:
                await asyncio.sleep(0.5)

    def _forget(self, live: LiveRun) -> None:
        if self.live.get(live.run_id) is live:
            del self.live[live.run_id]
        if not live.gone.done():
            live.gone.set_result(None)

    async def attach_existing(self, run_id: str, workflow: Any) -> None:
        """``run(run_id=...)`` of a run already in the journal: follow it, resume it if needed."""
        self.wanted.add(run_id)
        row = await self.journal.call(Lookup(run_id), write=False)
        if row is None:
            self.settle(run_id, error=UnknownRun(f"Run {run_id!r} vanished from the journal"))
        elif row.workflow != workflow.workflow_name:
            self.settle(
                run_id,
                error=WorkflowRuntimeError(
                    f"Run id {run_id!r} is already used by a run of workflow {row.workflow!r}, "
                    f"not {workflow.workflow_name!r}"
                ),
            )
        elif row.finished:
            self.settle_from_row(row, self.runtime._codec(workflow))
        elif await self.load(run_id) is None:
            self.watch(run_id, workflow)

    async def load(self, run_id: str) -> LiveRun | None:
        """The live run of ``run_id``, claiming and rebuilding it if nobody alive holds it."""
        live = self.live.get(run_id)
        if live is not None:
            if not live.stopping:
                return live
            await live.gone
        pending = self.loading.get(run_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[LiveRun | None] = asyncio.get_running_loop().create_future()
        future.add_done_callback(retrieve)
        self.loading[run_id] = future
        try:
            loaded = await self._claim(run_id)
            if isinstance(loaded, Refused) and loaded.owner is not None:
                # Its holder may have died a moment ago: reap, then try once more.
                await self.journal.call(
                    Reap(self.owner, self.runtime.host, time.time(), self.runtime.lease_seconds)
                )
                loaded = await self._claim(run_id)
            result = None if isinstance(loaded, Refused) else await self._rebuild(loaded)
            future.set_result(result)
            return result
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            del self.loading[run_id]

    async def _claim(self, run_id: str) -> Loaded | Refused:
        runtime = self.runtime
        return await self.journal.call(
            Claim(
                run_id,
                self.owner,
                time.time(),
                runtime.lease_seconds,
                frozenset(runtime._workflows),
            )
        )

    async def _rebuild(self, loaded: Loaded) -> LiveRun:
        run_id = loaded.run_id
        workflow = self.runtime._workflows[loaded.workflow]
        try:
            registered = self.runtime.get_or_register(workflow)
            codec = self.runtime._codec(workflow)
            config = workflow._run_config(run_id)
            state, effects = rebuild(config, codec, loaded.snapshot, loaded.ticks, loaded.last_seq)
            store = decode_store(loaded.store, workflow)
            existing = self._stores.get(run_id)
            if existing is not None and getattr(existing, "state_type", None) is store.state_type:
                await existing.set_state(await store.get_state())
                store = existing
        except Exception as exc:
            error = JournalError(f"Run {run_id} cannot be resumed from {self.journal.path}: {exc}")
            self._failed_loads[run_id] = time.time()
            with contextlib.suppress(LeaseLost, JournalError):
                await self.journal.call(Release(run_id, self.owner, time.time(), None, None, None))
            self.settle(run_id, error=error)
            raise error from exc
        live = self._live_run(
            run_id,
            workflow,
            registered.steps,
            state,
            store,
            codec,
            loaded.last_seq + 1,
            loaded.last_event_seq + 1,
            None,
            loaded.store,
            effects,
        )
        for row_id, body in loaded.inbox:
            tick = self._inbox_tick(body, live, row_id)
            if tick is not None:
                live.push(tick, row_id)
        self.live[run_id] = live
        self._drive(live, None)
        return live

    def _inbox_tick(self, body: str, live: LiveRun, row_id: int) -> WorkflowTick | None:
        """The tick of an inbox row, or None after moving an undeliverable row aside.

        A row may have been stored by an older version of the workflow, or by a writer that
        did not check it: it is refused here rather than reaching the reducer, and kept with
        the reason (``reflow runs show`` lists it), so the driver never stops on input.
        """
        try:
            tick = live.codec.tick_from_json(loads(body))
            if isinstance(tick, TickAddEvent):
                check_send(live.workflow, tick.event, tick.step_name)
        except Exception as exc:
            reason = str(exc) or type(exc).__name__
            logger.error("Inbox row %s of run %s not delivered: %s", row_id, live.run_id, reason)
            self.spawn(self.journal.call(MoveAside([(row_id, reason)], time.time())))
            return None
        return tick

    def deliver_inbox(self, rows: list[tuple[int, str, str]], generation: int) -> None:
        """Inbox rows a scan found for runs this process holds."""
        for row_id, run_id, body in rows:
            live = self.live.get(run_id)
            if live is None or live.stopping or live.generation >= generation:
                continue  # a run loaded after the scan read its inbox itself
            if row_id in live.seen_rows:
                continue
            tick = self._inbox_tick(body, live, row_id)
            if tick is not None:
                live.push(tick, row_id)

    def may_claim(self, run_id: str, workflow: str) -> bool:
        if run_id in self.live or run_id in self.loading or workflow not in self.runtime._workflows:
            return False
        failed_at = self._failed_loads.get(run_id)
        if failed_at is not None and time.time() - failed_at < self.runtime.lease_seconds:
            return False
        return self.runtime.auto_resume or run_id in self.wanted

    # -- events from outside -----------------------------------------------------------------

    def deliver_nowait(self, run_id: str, tick: WorkflowTick, codec: JournalCodec) -> None:
        live = self.live.get(run_id)
        if live is not None and not live.stopping:
            live.push(tick)
        else:
            self.spawn(self.deliver(run_id, tick, codec))

    async def deliver(self, run_id: str, tick: WorkflowTick, codec: JournalCodec) -> None:
        """Send ``tick`` to the run: in memory if it is live here, else through its inbox.

        An inbox row is durable once this returns; the run is then loaded here unless a live
        process holds it (that process's next scan picks the row up).
        """
        live = self.live.get(run_id)
        if live is not None and not live.stopping:
            live.push(tick)
            return
        await self.runtime.launch()
        body = dumps(codec.tick_to_json(tick))
        row = await self.journal.call(PostToInbox(run_id, tick.at, body))
        if row is None:
            return  # the run has ended; like the in-memory runtime, the event is dropped
        self.wanted.add(run_id)
        await self.load(run_id)
