"""What the routes ask of the runs behind a server, whichever store keeps them.

Two implementations: ``JournalRuns`` (``_journal_runs``) drives runs on a ``DurableRuntime`` and
reads everything back from its journal; ``StoreRuns`` (``_store_runs``) drives them on an
in-memory runtime and writes handlers and events into an ``AbstractWorkflowStore``.
"""

from __future__ import annotations

import abc
import secrets
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

from reflow.client.protocol import EventEnvelopeWithMetadata, HandlerData, Status
from reflow.events import Event, StartEvent


class HandlerNotFound(LookupError):
    """No handler with that id."""


class HandlerConflict(RuntimeError):
    """The handler is in a state that refuses the request (finished, already running)."""


class NotKept(LookupError):
    """The handler exists but what was asked of it is not kept by this backend (a 409)."""


def new_handler_id() -> str:
    """Twenty URL-safe random characters, like the peer's nanoids, starting with a letter or a
    digit: an id that starts with ``-`` reads as an option on a command line
    (``reflow runs show -x...``)."""
    while True:
        handler_id = secrets.token_urlsafe(15)
        if handler_id[0].isalnum():
            return handler_id


def iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


class Runs(abc.ABC):
    """Start, read, signal and delete the runs of one server."""

    async def open(self) -> None:
        """Make the runs startable (launch the runtime, resume what was interrupted)."""

    async def close(self) -> None:
        """Stop driving runs here; durable ones continue in the next server on the store."""

    async def fresh_id(self, handler_id: str | None) -> str:
        """``handler_id`` if no handler has it yet (else ``HandlerConflict``), or a new id."""
        if handler_id is None:
            return new_handler_id()
        try:
            existing = await self.get(handler_id)
        except HandlerNotFound:
            return handler_id
        raise HandlerConflict(f"handler {handler_id!r} already exists ({existing.status})")

    @abc.abstractmethod
    def adopt(self, workflow: Any) -> None:
        """Move ``workflow`` (already renamed) onto this backend's runtime."""

    @abc.abstractmethod
    async def start(
        self,
        name: str,
        workflow: Any,
        start_event: StartEvent,
        handler_id: str | None,
        ctx: Any = None,
    ) -> HandlerData:
        """Start a run (from ``ctx``, a restored Context, if given); returns once it is findable."""

    @abc.abstractmethod
    async def wait(self, handler_id: str) -> HandlerData:
        """The handler once its run has finished."""

    @abc.abstractmethod
    async def get(self, handler_id: str) -> HandlerData:
        """``HandlerNotFound`` when unknown."""

    @abc.abstractmethod
    async def list(
        self,
        statuses: list[Status] | None,
        workflow_names: list[str] | None,
        limit: int | None = None,
        offset: int = 0,
        id_prefix: str | None = None,
    ) -> list[HandlerData]:
        """Matching handlers; with ``limit`` or ``offset``, a page of them, newest first.

        ``id_prefix`` keeps the handlers whose id starts with it.
        """

    @abc.abstractmethod
    async def last_sequence(self, handler_id: str) -> int:
        """The sequence of the handler's latest stored event (-1: none yet)."""

    @abc.abstractmethod
    def events(
        self, handler_id: str, after: int
    ) -> AsyncIterator[tuple[int, EventEnvelopeWithMetadata]]:
        """Stored events with a sequence above ``after``, waiting for more until the run ends."""

    @abc.abstractmethod
    async def send(self, handler_id: str, event: Event, step: str | None) -> None:
        """Deliver ``event``; ``HandlerConflict`` if the run has finished."""

    @abc.abstractmethod
    async def cancel(self, handler_id: str) -> None:
        """Cancel a running handler; ``HandlerConflict`` if it has finished."""

    @abc.abstractmethod
    async def purge(self, handler_id: str) -> None:
        """Cancel the run if needed and delete everything stored about it."""

    # What the run page shows besides the peer's API; a backend that keeps less says so.

    async def state(self, handler_id: str) -> dict[str, Any]:
        """The run's context state (the state store's ``to_dict`` form); ``NotKept`` if absent."""
        await self.get(handler_id)
        raise NotKept(f"the state of handler {handler_id!r} is not kept by this server's store")

    async def start_event(self, handler_id: str) -> StartEvent:
        """The event the run started with; ``NotKept`` if it is not known here."""
        await self.get(handler_id)
        raise NotKept(f"the start event of handler {handler_id!r} is not kept by this store")

    async def event_times(self, handler_id: str, after: int, limit: int) -> dict[int, str]:
        """ISO times of the stored events with a sequence above ``after`` (those known)."""
        return {}


def iso_from_unix(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat()
