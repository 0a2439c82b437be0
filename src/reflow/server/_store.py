"""The store interface of the peer's server: handlers, their published events, their ticks.

``SqliteWorkflowStore`` answers it from the durable journal; ``MemoryWorkflowStore`` and
``PostgresWorkflowStore`` keep the rows themselves, written by the server as runs progress.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from reflow.client.protocol import EventEnvelopeWithMetadata, Status, is_status_completed
from reflow.events import StopEvent


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class HandlerQuery:
    """Which handlers to select; every field is optional and an empty list matches nothing."""

    handler_id_in: list[str] | None = None
    run_id_in: list[str] | None = None
    workflow_name_in: list[str] | None = None
    status_in: list[Status] | None = None
    is_idle: bool | None = None

    def matches(self, handler: PersistentHandler) -> bool:
        for allowed, value in (
            (self.handler_id_in, handler.handler_id),
            (self.run_id_in, handler.run_id),
            (self.workflow_name_in, handler.workflow_name),
            (self.status_in, handler.status),
        ):
            if allowed is not None and value not in allowed:
                return False
        return self.is_idle is None or self.is_idle == (handler.idle_since is not None)


class PersistentHandler(BaseModel):
    """One handler (a run as the server sees it), as a store keeps it."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    handler_id: str
    workflow_name: str
    status: Status
    run_id: str | None = None
    error: str | None = None
    result: StopEvent | None = None
    started_at: datetime | None = None
    updated_at: datetime | None = None
    completed_at: datetime | None = None
    idle_since: datetime | None = None

    @field_validator("result", mode="before")
    @classmethod
    def _legacy_result(cls, value: Any) -> Any:
        if isinstance(value, dict):  # a legacy row kept the bare result dict
            return StopEvent(result=value)
        return value


@dataclass
class StoredEvent:
    """A published event with its per-run sequence (0, 1, 2, ...)."""

    run_id: str
    sequence: int
    timestamp: datetime
    event: EventEnvelopeWithMetadata


@dataclass
class StoredTick:
    run_id: str
    sequence: int
    timestamp: datetime
    tick_data: dict[str, Any] = field(default_factory=dict)


class AbstractWorkflowStore(abc.ABC):
    """Where a ``WorkflowServer`` keeps its handlers and their events."""

    poll_interval: float = 0.1

    def create_state_store(
        self,
        run_id: str,
        state_type: Any = None,
        serialized_state: dict[str, Any] | None = None,
        serializer: Any = None,
    ) -> Any:
        """A state store for ``run_id`` (in memory unless a store keeps its own)."""
        from reflow.context.state_store import InMemoryStateStore

        if serialized_state:
            return InMemoryStateStore.from_dict(serialized_state, serializer)
        return InMemoryStateStore(state_type() if state_type is not None else None)

    @abc.abstractmethod
    async def query(self, query: HandlerQuery) -> list[PersistentHandler]: ...

    @abc.abstractmethod
    async def update(self, handler: PersistentHandler) -> None:
        """Insert or replace the handler with ``handler.handler_id``."""

    @abc.abstractmethod
    async def delete(self, query: HandlerQuery) -> int:
        """Delete the matching handlers with their events, ticks and state; returns how many."""

    @abc.abstractmethod
    async def append_event(self, run_id: str, envelope: EventEnvelopeWithMetadata) -> None: ...

    @abc.abstractmethod
    async def query_events(
        self, run_id: str, after_sequence: int | None = None, limit: int | None = None
    ) -> list[StoredEvent]: ...

    @abc.abstractmethod
    async def append_tick(self, run_id: str, tick_data: dict[str, Any]) -> None: ...

    @abc.abstractmethod
    async def get_ticks(self, run_id: str) -> list[StoredTick]: ...

    async def stream_ticks(self, run_id: str) -> AsyncIterator[StoredTick]:
        for tick in await self.get_ticks(run_id):
            yield tick

    async def after_tick(self, run_id: str, tick_data: dict[str, Any]) -> None:
        """Called after every persisted tick; a hook for subclasses."""

    async def update_handler_status(
        self,
        run_id: str,
        *,
        status: Status | None = None,
        result: StopEvent | None = None,
        error: str | None = None,
        idle_since: Any = UNSET,
    ) -> None:
        found = await self.query(HandlerQuery(run_id_in=[run_id]))
        if not found:
            return
        handler = found[0]
        now = utc_now()
        changes: dict[str, Any] = {"updated_at": now}
        if status is not None:
            changes["status"] = status
            if is_status_completed(status):
                changes["completed_at"] = now
        if result is not None:
            changes["result"] = result
        if error is not None:
            changes["error"] = error
        if idle_since is not UNSET:
            changes["idle_since"] = idle_since
        await self.update(handler.model_copy(update=changes))

    async def wait_for_events(self, run_id: str, after_sequence: int) -> None:
        """Return once events after ``after_sequence`` may exist (polls by default)."""
        await asyncio.sleep(self.poll_interval)

    async def subscribe_events(
        self, run_id: str, after_sequence: int = -1
    ) -> AsyncIterator[StoredEvent]:
        """Events after ``after_sequence``, waiting for new ones, until a terminal event."""
        cursor = after_sequence
        while True:
            events = await self.query_events(run_id, after_sequence=cursor)
            for stored in events:
                cursor = stored.sequence
                yield stored
                if stored.event.is_terminal():
                    return
            if not events:
                found = await self.query(HandlerQuery(run_id_in=[run_id]))
                if not found or is_status_completed(found[0].status):
                    if not await self.query_events(run_id, after_sequence=cursor):
                        return
                    continue
                await self.wait_for_events(run_id, cursor)
