"""What the durable runtime's lower modules see of the objects above them.

``_runtime`` builds the run manager and the poller, the manager builds live runs, a live run
builds its internal adapter: imports point that way only.  Going back up (an adapter reading
its live run, the manager reading the runtime's settings), a module sees a protocol from here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from reflow.durable._driver import DurableDriver
    from reflow.durable._encoding import JournalCodec
    from reflow.durable._journal import Journal
    from reflow.engine import Command, RunState, WorkflowTick
    from reflow.events import Event, StopEvent
    from reflow.runtime.types.plugin import RegisteredWorkflow
    from reflow.runtime.types.step_call import RunnableWorkflow


class LiveRunView(Protocol):
    """A run this process drives (``_live.LiveRun``), as its adapters and readers see it."""

    run_id: str
    workflow: Any
    store: Any
    driver: DurableDriver
    deliver: Callable[[WorkflowTick], None] | None
    pending: list[WorkflowTick]
    events: list[Event]
    events_base: int

    @property
    def step_store(self) -> Any: ...

    def push(self, tick: WorkflowTick, inbox_row: int | None = None) -> None: ...

    def schedule_pending(self, after_batch: bool = False) -> None: ...

    async def journal_batch(self, batch: Sequence[tuple[WorkflowTick, list[Command]]]) -> None: ...


class BatchWrites(Protocol):
    """Rows another zone commits in the same transaction as one journal batch of a run.

    ``write`` runs on the journal's connection inside the batch's transaction, after the
    batch's own writes and lease check (again, if the journal runs the transaction again);
    ``settle`` runs on the event loop once the batch committed (True) or did not (False).
    """

    def write(self, conn: Any) -> None: ...

    def settle(self, committed: bool) -> None: ...


class Ending(Protocol):
    """Where a run that ends in this process leaves its final state (``_outcomes.Ending``)."""

    state: RunState | None


class Endings(Protocol):
    def ending(self, run_id: str) -> Ending: ...


class RuntimeView(Protocol):
    """``_runtime.DurableRuntime`` as the run manager, the poller and the adapters see it."""

    journal: Journal
    owner: str
    host: str
    lease_seconds: float
    poll_interval: float
    snapshot_every: int
    auto_resume: bool
    release_idle_after: float | None
    _workflows: dict[str, Any]

    @property
    def is_launched(self) -> bool: ...

    @property
    def _manager(self) -> Endings: ...

    @property
    def _live(self) -> Mapping[str, LiveRunView]: ...

    async def launch(self) -> None: ...

    def get_or_register(self, workflow: RunnableWorkflow) -> RegisteredWorkflow: ...

    def _codec(self, workflow: Any) -> JournalCodec: ...

    def _catalogue_once(self, workflow: Any) -> str | None: ...

    def _outcome_future(self, run_id: str) -> asyncio.Future[StopEvent]: ...

    def _batch_writes(
        self, live: LiveRunView, batch: Sequence[tuple[WorkflowTick, list[Command]]]
    ) -> BatchWrites | None: ...

    async def _deliver(self, run_id: str, tick: WorkflowTick, codec: JournalCodec) -> None: ...

    def _deliver_nowait(self, run_id: str, tick: WorkflowTick, codec: JournalCodec) -> None: ...

    async def _read_events(
        self, run_id: str, after: int, codec: JournalCodec
    ) -> tuple[list[tuple[int, Event]], bool]: ...

    async def _wait_for_change(self, run_id: str) -> None: ...
