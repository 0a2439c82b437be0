"""What ``list_runs`` and ``stream_events`` return, and the small helpers behind them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from reflow.durable._journal import Journal
from reflow.durable._ops import FINISHED, Prune
from reflow.durable._queries import RunRow
from reflow.events import Event

STATUSES = ("running", *FINISHED)
PRUNE_BATCH = 500


def _when(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, tz=timezone.utc)


@dataclass(frozen=True)
class RunInfo:
    """One run as ``list_runs`` reports it; times are UTC datetimes."""

    run_id: str
    workflow: str
    status: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    waiting_on: tuple[str, ...]
    owner: str | None
    ticks: int
    events: int

    @classmethod
    def from_row(cls, row: RunRow) -> RunInfo:
        return cls(
            run_id=row.run_id,
            workflow=row.workflow,
            status=row.status,
            created_at=datetime.fromtimestamp(row.created_at, tz=timezone.utc),
            updated_at=datetime.fromtimestamp(row.updated_at, tz=timezone.utc),
            finished_at=_when(row.finished_at),
            waiting_on=tuple(row.waiting_on),
            owner=row.owner,
            ticks=row.last_seq,
            events=row.last_event_seq,
        )


@dataclass(frozen=True)
class StoredEvent:
    """A published event with its position in the run's stream (1, 2, 3, ...)."""

    seq: int
    event: Event


async def prune(journal: Journal, before: float) -> int:
    """Delete the runs that finished before ``before``, a batch per transaction."""
    total = 0
    while True:
        count = await journal.call(Prune(before, PRUNE_BATCH))
        total += count
        if count < PRUNE_BATCH:
            return total


def names(value: str | Iterable[str], what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    names = tuple(value)
    if not all(isinstance(name, str) for name in names):
        raise TypeError(f"{what} must be a string or strings, got {value!r}")
    return names


def workflow_names(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    name = getattr(value, "workflow_name", None)
    if isinstance(name, str):
        return (name,)
    return tuple(
        item if isinstance(item, str) else str(getattr(item, "workflow_name", item))
        for item in value
    )
