"""A run driven by this process: its driver, its place in the journal and its event stream.

``LiveRun.journal_batch`` is the write-ahead step.  The driver hands it the ticks it reduced
since the last batch, with their commands; it encodes them (synchronously, so the run's state
is exactly the state after the batch's last tick), writes them with the run row's new values
in one journal operation, and only then lets the driver run the commands.  The published
events of the batch are numbered and stored in the same transaction, and reach this process's
readers after the commit: a reader never sees an event the journal could lose.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from reflow.durable._driver import DurableDriver, note_journaled, run_deadline
from reflow.durable._effects import EffectLog, current_attempt, live_attempts
from reflow.durable._encoding import (
    JournalCodec,
    dumps,
    encode_store,
    outcome_to_json,
    store_serializer,
)
from reflow.durable._errors import LeaseLost, RunExists
from reflow.durable._journal import Journal
from reflow.durable._ops import Append, NewRun
from reflow.durable._waiting import external_inputs, waiting_on
from reflow.engine import (
    Command,
    CommandCompleteRun,
    CommandFailRun,
    CommandHaltRun,
    CommandPublish,
    RunState,
    TickAddEvent,
    TickCollect,
    TickPublishEvent,
    TickStepFailed,
    WorkflowTick,
)
from reflow.engine.codec import state_to_json
from reflow.events import Event, StopEvent
from reflow.runtime.types.step_call import StepWorkerFunction

if TYPE_CHECKING:
    from reflow.durable._seams import BatchWrites
    from reflow.workflow import Workflow

# Ticks a step's own calls produce, which carry their effect key (see ``_effects``).
_EFFECTS = (TickAddEvent, TickPublishEvent, TickCollect)
_TERMINAL = (CommandCompleteRun, CommandFailRun, CommandHaltRun)
# Events kept in memory for this process's readers; older ones are read from the journal.
_MEMORY_EVENTS = 4096


class Host(Protocol):
    """What a live run needs from its runtime."""

    journal: Journal
    owner: str

    def committed(self, live: LiveRun) -> None: ...

    def batch_writes(
        self, live: LiveRun, batch: Sequence[tuple[WorkflowTick, list[Command]]]
    ) -> BatchWrites | None: ...


class TouchedStore:
    """The run's state store as its steps see it; any use of it marks the store as touched.

    The store is written to the journal only in the batches after a step touched it, which
    spares serializing it for the (many) steps that never use it.
    """

    __slots__ = ("_live", "_store")

    def __init__(self, store: Any, live: LiveRun) -> None:
        self._store = store
        self._live = live

    def __getattr__(self, name: str) -> Any:
        self._live.touch_store()
        return getattr(self._store, name)

    def __repr__(self) -> str:
        return repr(self._store)


class LiveRun:
    """One run this process drives (see the module docstring)."""

    def __init__(
        self,
        host: Host,
        run_id: str,
        workflow: Workflow,
        steps: Mapping[str, StepWorkerFunction],
        state: RunState,
        store: Any,
        codec: JournalCodec,
        *,
        next_seq: int,
        next_event_seq: int,
        new_run: NewRun | None,
        snapshot_every: int,
        stored_store: str | None = None,
        effects: EffectLog | None = None,
    ) -> None:
        from reflow.durable._adapters import DurableInternalAdapter

        self.host = host
        self.run_id = run_id
        self.workflow = workflow
        self.codec = codec
        self.store = store
        # What steps get as ``ctx.store``: using it marks the store for the next batch.
        self.step_store = TouchedStore(store, self)
        # Who used the store since it was last encoded: attempts of this run (by id), or code
        # outside any attempt (``store_touched``).
        self.store_writers: set[int] = set()
        self.store_touched = False
        # The status the run row has in the journal (None: not written by this process yet).
        self.row_status: str | None = None
        self.serializer = store_serializer(workflow)
        self.next_seq = next_seq
        self.next_event_seq = next_event_seq
        self.new_run = new_run
        self.snapshot_every = snapshot_every
        self.last_store = stored_store
        self.inputs = external_inputs(workflow)
        self.last_waiting: str | None = waiting_on(state, self.inputs)
        self.ticks_since_snapshot = 0
        self.bytes_since_snapshot = 0
        self.snapshot_bytes = 0
        # Events this process's readers can take from memory: events[i] has seq base + i.
        self.events: list[Event] = []
        self.events_base = next_event_seq
        # Inbox rows handed to the driver, by the id of their tick, until journaled.
        self.inbox_rows: dict[int, tuple[WorkflowTick, int]] = {}
        self.seen_rows: set[int] = set()
        self.generation = 0  # the runtime's scan generation when this run was loaded
        self.deliver: Callable[[WorkflowTick], None] | None = None
        # Ticks sent from outside, not yet handed to the driver (see ``push``).
        self.pending: list[WorkflowTick] = []
        self._pending_scheduled = False
        self._pending_waits = 0
        self.stopping = False
        self.finished = False
        self.idle_timer: asyncio.TimerHandle | None = None
        self.adapter = DurableInternalAdapter(self)
        self.driver = DurableDriver(
            state,
            self.adapter,
            steps,
            deadline=run_deadline(state) if new_run is None else None,
            effects=effects or EffectLog(),
            workflow=workflow,
        )
        self.done: asyncio.Future[StopEvent] | None = None
        self.gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def touch_store(self) -> None:
        """The store is being used: encode it with the coming batches (see ``_prepare``)."""
        scope = current_attempt.get()
        if scope is not None and scope.run is self.driver:
            self.store_writers.add(scope.attempt_id)
        else:
            self.store_touched = True

    # -- ticks from outside ------------------------------------------------------------------

    def push(self, tick: WorkflowTick, inbox_row: int | None = None) -> None:
        """Deliver a tick sent from outside the run (a handler, another process's inbox row)."""
        if inbox_row is not None:
            self.inbox_rows[id(tick)] = (tick, inbox_row)
            self.seen_rows.add(inbox_row)
        self.pending.append(tick)
        self.schedule_pending()

    def schedule_pending(self, after_batch: bool = False) -> None:
        """Hand the pending outside ticks to the driver two loop iterations after every tick
        reduced so far had its commands run.

        The in-memory runtime waits two iterations so that steps that just started reach their
        first suspension (often a ``wait_for_event``) before an outside event is routed.  Here
        a step starts only once its tick is journaled, so the wait starts after that; the
        driver's ``after_tick`` calls this again once a batch's commands ran.  A run that is
        never quiet gets its outside ticks after a few batches regardless.
        """
        if self._pending_scheduled or not self.pending or self.deliver is None:
            return
        if after_batch:
            self._pending_waits += 1
        if self.driver.has_pending_ticks and self._pending_waits < 4:
            return
        self._pending_scheduled = True
        loop = asyncio.get_running_loop()
        loop.call_soon(loop.call_soon, self._deliver_pending)

    def _deliver_pending(self) -> None:
        self._pending_scheduled = False
        deliver = self.deliver
        if deliver is None or self.stopping:
            return
        if self.driver.has_pending_ticks and self._pending_waits < 4:
            return  # the driver's next ``after_tick`` schedules this again
        self._pending_waits = 0
        pending, self.pending = self.pending, []
        for tick in pending:
            deliver(tick)

    # -- the write-ahead batch ---------------------------------------------------------------

    async def journal_batch(self, batch: Sequence[tuple[WorkflowTick, list[Command]]]) -> None:
        if self.stopping or self.finished:
            for _, cmds in batch:
                cmds.clear()  # journaled ticks after the end, or a run leaving this process
            return
        append, published = self._prepare(batch)
        # What another zone commits with this batch (the steps it starts, enqueued).
        also = self.host.batch_writes(self, batch)
        if also is not None:
            append.also = also.write
        committed = False
        try:
            await self.host.journal.submit(append)
            committed = True
        except (RunExists, LeaseLost) as exc:
            self.stop(exc)
            for _, cmds in batch:
                cmds.clear()
            return
        finally:
            if also is not None:
                also.settle(committed)
        self.new_run = None
        if append.outcome is not None:
            self.finished = True
        if published:
            self.events.extend(published)
            if len(self.events) > 2 * _MEMORY_EVENTS:
                del self.events[:_MEMORY_EVENTS]
                self.events_base += _MEMORY_EVENTS
        if self.stopping:
            for _, cmds in batch:
                cmds.clear()
        self.host.committed(self)

    def _prepare(
        self, batch: Sequence[tuple[WorkflowTick, list[Command]]]
    ) -> tuple[Append, list[Event]]:
        """Encode ``batch`` into one journal operation; runs before any await (see module)."""
        codec, run_id, effects = self.codec, self.run_id, self.driver.effects
        ticks: list[tuple[str, int, float, str]] = []
        events: list[tuple[str, int, int, str]] = []
        published: list[Event] = []
        consumed: list[int] = []
        store_may_change = self.new_run is not None or self.store_touched or self.store_writers
        failed = False
        outcome: str | None = None
        size = 0
        for tick, cmds in batch:
            if outcome is not None:
                cmds.clear()  # a tick reduced after the run ended changes nothing
                continue
            seq = self.next_seq
            self.next_seq += 1
            kind = type(tick)
            data = codec.tick_to_json(tick)
            key = None
            if kind in _EFFECTS:
                key = effects.take_tag(tick.event)  # type: ignore[union-attr]
                if key is not None:
                    data["effect"] = key
            note_journaled(effects, tick, cmds, key)
            body = dumps(data)
            size += len(body)
            ticks.append((run_id, seq, tick.at, body))
            if kind is TickStepFailed:
                failed = True
            if self.inbox_rows:
                row = self.inbox_rows.pop(id(tick), None)
                if row is not None:
                    consumed.append(row[1])
            for cmd in cmds:
                if type(cmd) is CommandPublish:
                    event_seq = self.next_event_seq
                    self.next_event_seq += 1
                    events.append((run_id, event_seq, seq, dumps(codec.event_to_json(cmd.event))))
                    published.append(cmd.event)
                elif isinstance(cmd, _TERMINAL):
                    outcome = self._outcome(cmd)
        state = self.driver.state
        store = None
        if store_may_change:
            text = encode_store(self.store, self.serializer)
            if text != self.last_store:
                store = self.last_store = text
            # An attempt that used the store may write again without touching it anew (an
            # ``edit_state`` block commits at its exit): keep encoding while it may still run.
            # For a use from outside any attempt, while anything runs.
            if self.store_writers:
                self.store_writers &= live_attempts(state)
            if self.store_touched:
                self.store_touched = not state.is_quiescent()
        self.ticks_since_snapshot += len(ticks)
        self.bytes_since_snapshot += size
        snapshot = None
        if outcome is None and (
            failed
            or (
                self.ticks_since_snapshot >= self.snapshot_every
                and self.bytes_since_snapshot >= self.snapshot_bytes
            )
        ):
            snapshot = self.snapshot()
        waiting = waiting_on(state, self.inputs)
        status = "running" if state.status == "pending" else state.status
        append = Append(
            run_id=run_id,
            owner=self.host.owner,
            now=state.now,
            status=status,
            same_status=status == self.row_status and outcome is None,
            last_seq=self.next_seq - 1,
            last_event_seq=self.next_event_seq - 1,
            ticks=ticks,
            events=events,
            waiting_on=waiting,
            store=store,
            snapshot=snapshot,
            outcome=outcome,
            consumed=consumed,
            new_run=self.new_run,
        )
        self.last_waiting = waiting
        self.row_status = status
        return append, published

    def snapshot(self) -> tuple[int, str]:
        """The run state as of the last tick handed to the journal (a cache of the journal).

        Failures are snapshotted at once, so a replay never re-judges a retry policy on an
        exception rebuilt from JSON, whose type may differ from the original.  The effect log
        of the attempts that may run again goes with it.
        """
        state, effects = self.driver.state, self.driver.effects
        effects.keep_only(live_attempts(state))
        body = dumps(
            {"state": state_to_json(state, self.codec), "effects": effects.to_json(self.codec)}
        )
        self.ticks_since_snapshot = 0
        self.bytes_since_snapshot = 0
        self.snapshot_bytes = len(body)
        return self.next_seq - 1, body

    def _outcome(self, cmd: Command) -> str:
        if isinstance(cmd, CommandCompleteRun):
            return outcome_to_json(self.codec, cmd.result, None)
        assert isinstance(cmd, (CommandFailRun, CommandHaltRun))
        return outcome_to_json(self.codec, None, cmd.exception)

    # -- leaving this process ----------------------------------------------------------------

    def stop(self, reason: BaseException) -> None:
        """Stop driving the run here (released, or taken over); its commands stop running."""
        self.stopping = True
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None
        self.driver.abandon(reason)

    @property
    def quiescent(self) -> bool:
        """The run waits (for an event or a timer): no attempt runs, no work is queued."""
        state = self.driver.state
        return (
            not self.stopping
            and not self.finished
            and state.status == "running"
            and state.is_quiescent()
        )

    @property
    def idle(self) -> bool:
        """Quiescent, and no tick is on its way to the journal or into the run."""
        return self.quiescent and not self.pending and not self.driver.has_pending_ticks
