"""What the ``reflow runs`` commands and ``reflow run`` need from a journal, without workflows.

``JournalFile`` opens a journal for one command (migrating it like ``launch()`` would) and
reads rows and raw event JSON, so runs of any workflow can be listed, shown and followed
without importing their code.  Sending and cancelling go through the inbox, which the process
driving the run (or the next one to launch) reads; a run that no live process holds is
cancelled right here, since cancelling needs none of its workflow's code.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from reflow.durable._catalogue import Catalogue, SendRefused
from reflow.durable._encoding import JournalCodec, dumps, loads, outcome_to_json
from reflow.durable._errors import JournalError
from reflow.durable._info import PRUNE_BATCH
from reflow.durable._journal import Journal
from reflow.durable._leases import host_identity, pid_alive
from reflow.durable._ops import FINISHED, MoveAside, PostToInbox, Prune
from reflow.durable._queries import (
    CatalogueOf,
    EventsPage,
    Holder,
    ListRuns,
    Lookup,
    RunRow,
    Undelivered,
)
from reflow.durable._runtime import DurableRuntime
from reflow.engine import (
    CommandPublish,
    RunConfig,
    RunState,
    TickAddEvent,
    TickCancelRun,
    reduce,
)
from reflow.errors import WorkflowCancelledByUser
from reflow.events import Event

T = TypeVar("T")


async def drive_durably(
    workflow: Any,
    path: str | os.PathLike[str],
    drive: Callable[[DurableRuntime], Awaitable[T]],
    target: str | None = None,
    runtime: DurableRuntime | None = None,
) -> T:
    """Run ``drive(runtime)`` with ``workflow`` on a durable runtime journaling into ``path``.

    The runtime resumes only the runs this process asks for (an interrupted ``--run-id``),
    not every unfinished run of the file, and never releases a run the user is answering.
    ``target`` is how the command line loaded the workflow: stored with its catalogue so
    ``reflow runs resume`` can load it again.  ``runtime``: one built on ``path`` by the caller
    (a cluster's ``DBOSRuntime``), else a ``DurableRuntime`` on the file.
    """
    if runtime is None:
        runtime = DurableRuntime(path, auto_resume=False, release_idle_after=None)
    if target is not None:
        runtime.targets[workflow.workflow_name] = target
    workflow._runtime_locked = False  # a workflow instance run before, in this process
    workflow._switch_runtime(runtime)
    await runtime.launch()
    try:
        return await drive(runtime)
    finally:
        await runtime.destroy()


@dataclass(frozen=True)
class SendResult:
    """What became of an event or a cancellation sent from the command line."""

    delivered: str  # "inbox" (a process picks it up), "cancelled" (done here), "finished"
    workflow: str


@dataclass(frozen=True)
class HolderState:
    """Whether the process holding a run is alive, as far as this host can tell."""

    pid: int | None
    host: str | None
    alive: bool
    why: str  # "" when alive; else why it is taken for dead


class JournalFile:
    """A journal opened for one command-line invocation; it must exist (nothing is created)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        lease_seconds: float = 15.0,
        journal: Journal | None = None,
    ) -> None:
        """``journal``: another kind opened here instead of the file (a cluster's schema)."""
        if journal is None:
            if not os.path.exists(path):
                raise JournalError(f"no journal at {os.fspath(path)}")
            journal = Journal(path)
        self.lease_seconds = lease_seconds
        self.journal = journal
        self.journal.open_sync()

    def close(self) -> None:
        self.journal.close()

    def __enter__(self) -> JournalFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def runs(
        self,
        statuses: tuple[str, ...] | None = None,
        workflows: tuple[str, ...] | None = None,
        limit: int | None = None,
    ) -> list[RunRow]:
        return self.journal.call_sync(ListRuns(statuses, workflows, limit))

    def run(self, run_id: str) -> RunRow | None:
        return self.journal.call_sync(Lookup(run_id))

    def events(self, run_id: str, after: int) -> tuple[list[tuple[int, Any]], str | None]:
        """Raw event JSON with ``seq > after``, and the run's status (None: no such run)."""
        rows, status = self.journal.call_sync(EventsPage(run_id, after))
        return [(seq, loads(body)) for seq, body in rows], status

    def catalogue(self, workflow: str) -> Catalogue | None:
        text = self.journal.call_sync(CatalogueOf(workflow))
        return None if text is None else Catalogue.from_json(text)

    def undelivered(self, run_id: str) -> list[tuple[int, float, str, str]]:
        return self.journal.call_sync(Undelivered(run_id))

    def holder(self, row: RunRow) -> HolderState | None:
        """The state of the process holding an unfinished run (None: no process holds it)."""
        if row.owner is None or row.finished:
            return None
        found = self.journal.call_sync(Holder(row.owner))
        if found is None:
            return HolderState(None, None, False, "its process has ended")
        pid, host, heartbeat_at = found
        if host == host_identity() and not pid_alive(pid):
            return HolderState(pid, host, False, f"process {pid} on this host is gone")
        silent = time.time() - heartbeat_at
        if silent > self.lease_seconds:
            return HolderState(pid, host, False, f"no heartbeat for {silent:.0f}s")
        return HolderState(pid, host, True, "")

    def in_flight(self, run_id: str) -> list[str]:
        """Steps that were running at the run's last published event (started, not ended)."""
        running: dict[str, int] = {}
        after = 0
        while True:
            rows, _ = self.journal.call_sync(EventsPage(run_id, after))
            for seq, body in rows:
                after = seq
                fields = loads(body).get("__step_state") if body.startswith("{") else None
                if fields is None:
                    continue
                name, state = fields[0], fields[1]
                if state == "running":
                    running[name] = running.get(name, 0) + 1
                elif state == "not_running" and running.get(name):
                    running[name] -= 1
            if len(rows) < 1000:
                return sorted(name for name, count in running.items() if count > 0)

    def prune(self, older_than: float) -> int:
        total, before = 0, time.time() - older_than
        while True:
            count = self.journal.call_sync(Prune(before, PRUNE_BATCH), write=True)
            total += count
            if count < PRUNE_BATCH:
                return total

    def send(self, run_id: str, event: dict[str, Any], step: str | None) -> SendResult:
        """Queue an event (in ``serialize_event`` form) in the run's inbox, once it is checked.

        The event's type must be one the run's workflow accepts (or the run waits for), its
        required fields present and valid, ``step`` one of its steps taking that type: else
        ``SendRefused`` says what is wrong and nothing is stored.
        """
        row = self._require(run_id)
        if row.finished:
            return SendResult("finished", row.workflow)
        event = dict(event)
        fields = event.get("value", {})
        catalogue = self.catalogue(row.workflow)
        if catalogue is not None:
            event["qualified_name"] = catalogue.resolve(event["qualified_name"], row.waiting_on)
            catalogue.check(event["qualified_name"], fields, step)
        try:
            JournalCodec().event_from_json(event)
        except Exception as exc:
            if catalogue is None or not _unimportable(exc):
                raise SendRefused(str(exc)) from exc
            # Its module is importable only by the workflow's process, which checks it again.
        template = JournalCodec().tick_to_json(TickAddEvent(at=time.time(), event=Event()))
        template["event"], template["step_name"] = event, step
        return self._post(row, template)

    def cancel(self, run_id: str) -> SendResult:
        row = self._require(run_id)
        if row.finished:
            return SendResult("finished", row.workflow)
        dead = self.holder(row)
        holder_dead = dead is not None and not dead.alive
        if self.journal.call_sync(CancelUnheld(run_id, time.time(), holder_dead), write=True):
            return SendResult("cancelled", row.workflow)
        return self._post(row, JournalCodec().tick_to_json(TickCancelRun(at=time.time())))

    def _require(self, run_id: str) -> RunRow:
        row = self.run(run_id)
        if row is None:
            from reflow.durable._errors import UnknownRun

            raise UnknownRun(f"No run with id {run_id!r} in {self.journal.path}")
        return row

    def _post(self, row: RunRow, tick: dict[str, Any]) -> SendResult:
        posted = self.journal.call_sync(
            PostToInbox(row.run_id, float(tick["at"]), dumps(tick)), write=True
        )
        return SendResult("finished" if posted is None else "inbox", row.workflow)


@dataclass(slots=True)
class CancelUnheld:
    """Cancel a run no live process holds, as the reducer would; False if one holds it."""

    run_id: str
    now: float
    holder_dead: bool = False  # the command line found the holder dead (its pid is gone)
    lease_seconds: float = 15.0

    def __call__(self, conn: sqlite3.Connection) -> bool:
        row = conn.execute(
            "SELECT status, owner, last_seq, last_event_seq FROM runs WHERE run_id = ?",
            (self.run_id,),
        ).fetchone()
        if row is None or row[0] in FINISHED:
            return False
        _, owner, last_seq, last_event_seq = row
        if owner is not None and not self.holder_dead:
            alive = conn.execute(
                "SELECT 1 FROM processes WHERE owner = ? AND heartbeat_at >= ?",
                (owner, self.now - self.lease_seconds),
            ).fetchone()
            if alive is not None:
                return False
        # The reducer's cancellation publishes the same events whatever the run's state.
        codec = JournalCodec()
        tick = TickCancelRun(at=self.now)
        state = RunState.initial(RunConfig(run_id=self.run_id, steps={}))
        state.status = "running"
        _, cmds = reduce(state, tick)
        published = [cmd.event for cmd in cmds if isinstance(cmd, CommandPublish)]
        seq = int(last_seq) + 1
        conn.execute(
            "INSERT INTO ticks (run_id, seq, at, body) VALUES (?, ?, ?, ?)",
            (self.run_id, seq, self.now, dumps(codec.tick_to_json(tick))),
        )
        conn.executemany(
            "INSERT INTO events (run_id, seq, tick_seq, body) VALUES (?, ?, ?, ?)",
            [
                (self.run_id, int(last_event_seq) + i, seq, dumps(codec.event_to_json(e)))
                for i, e in enumerate(published, 1)
            ],
        )
        conn.execute(
            "UPDATE runs SET status = 'cancelled', owner = NULL, wake_at = NULL,"
            " waiting_on = NULL, updated_at = ?, finished_at = ?, last_seq = ?,"
            " last_event_seq = ?, outcome = ? WHERE run_id = ?",
            (
                self.now,
                self.now,
                seq,
                int(last_event_seq) + len(published),
                outcome_to_json(codec, None, WorkflowCancelledByUser()),
                self.run_id,
            ),
        )
        queued = conn.execute("SELECT id FROM inbox WHERE run_id = ?", (self.run_id,)).fetchall()
        MoveAside(
            [(int(row[0]), "the run was cancelled before it was delivered") for row in queued],
            self.now,
        )(conn)
        return True


def _unimportable(exc: BaseException) -> bool:
    """Whether decoding failed only because the event's class cannot be imported here."""
    while exc is not None:
        if isinstance(exc, (ImportError, AttributeError)) or "cannot be imported" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False
