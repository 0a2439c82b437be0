"""Runs on an in-memory runtime, their handlers and events written into a workflow store.

A pump per run copies every published event into the store; readers stream from the store, not
from the run.  The handler's final status is written before its terminal event, so a client
that sees the stream end reads a finished handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from functools import partial
from typing import Any

from reflow.client.protocol import (
    EventEnvelopeWithMetadata,
    HandlerData,
    Status,
    is_status_completed,
)
from reflow.events import Event, StartEvent, StopEvent, WorkflowCancelledEvent
from reflow.handler import WorkflowHandler
from reflow.runtime.types.plugin import Runtime
from reflow.server._runs import (
    HandlerConflict,
    HandlerNotFound,
    NotKept,
    Runs,
    iso,
    new_handler_id,
)
from reflow.server._store import AbstractWorkflowStore, HandlerQuery, PersistentHandler, utc_now

logger = logging.getLogger("reflow.server")


def stored_handler_data(handler: PersistentHandler) -> HandlerData:
    started = handler.started_at or handler.updated_at or utc_now()
    return HandlerData(
        handler_id=handler.handler_id,
        workflow_name=handler.workflow_name,
        run_id=handler.run_id,
        status=handler.status,
        started_at=started.isoformat(),
        updated_at=iso(handler.updated_at),
        completed_at=iso(handler.completed_at),
        error=handler.error,
        result=None
        if handler.result is None
        else EventEnvelopeWithMetadata.from_event(handler.result),
    )


class StoreRuns(Runs):
    def __init__(
        self, store: AbstractWorkflowStore, runtime: Runtime, backoff: Sequence[float] = (0.5, 3)
    ) -> None:
        self.store = store
        self.runtime = runtime
        self.backoff = tuple(backoff)
        self._live: dict[str, WorkflowHandler] = {}
        self._pumps: dict[str, asyncio.Task[None]] = {}
        # Kept in this process only: the start events of runs started here, and the state of
        # those that finished here (the store itself keeps neither).
        self._starts: dict[str, StartEvent] = {}
        self._states: dict[str, dict[str, Any]] = {}

    async def open(self) -> None:
        await self.runtime.launch()

    async def _persist(self, write: Callable[[], Awaitable[None]]) -> None:
        """A store write, retried after each delay of ``backoff`` before giving up."""
        for delay in self.backoff:
            try:
                await write()
                return
            except Exception as exc:
                logger.warning(
                    "reflow.server: store write failed (%s); retrying in %ss", exc, delay
                )
                await asyncio.sleep(delay)
        await write()

    async def close(self) -> None:
        for handler in list(self._live.values()):
            with contextlib.suppress(Exception):
                await handler.cancel_run()
        pumps = list(self._pumps.values())
        if pumps:  # let them record the cancellations, so no handler stays "running"
            await asyncio.wait(pumps, timeout=2.0)
        for pump in pumps:
            pump.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)
        close = getattr(self.store, "close", None)
        if close is not None:
            await close()

    def adopt(self, workflow: Any) -> None:
        if workflow.runtime is not self.runtime:
            workflow._switch_runtime(self.runtime)

    async def _handler(self, handler_id: str) -> PersistentHandler:
        found = await self.store.query(HandlerQuery(handler_id_in=[handler_id]))
        if not found:
            raise HandlerNotFound(handler_id)
        return found[0]

    async def start(
        self,
        name: str,
        workflow: Any,
        start_event: StartEvent,
        handler_id: str | None,
        ctx: Any = None,
    ) -> HandlerData:
        handler_id = await self.fresh_id(handler_id)
        run_id = new_handler_id()
        handler = workflow.run(ctx=ctx, start_event=start_event, run_id=run_id)
        now = utc_now()
        row = PersistentHandler(
            handler_id=handler_id,
            workflow_name=name,
            status="running",
            run_id=run_id,
            started_at=now,
            updated_at=now,
        )
        await self._persist(lambda: self.store.update(row))
        self._live[handler_id] = handler
        self._starts[handler_id] = start_event
        task = asyncio.get_running_loop().create_task(self._pump(row, handler))
        self._pumps[handler_id] = task
        task.add_done_callback(lambda _: self._pumps.pop(handler_id, None))
        return stored_handler_data(row)

    async def _pump(self, row: PersistentHandler, handler: WorkflowHandler) -> None:
        run_id = row.run_id or row.handler_id
        finished = False
        try:
            async for event in handler.stream_events(expose_internal=True):
                envelope = EventEnvelopeWithMetadata.from_event(event)
                if isinstance(event, StopEvent):
                    await self._finish(row, handler, event)
                    finished = True
                await self._persist(partial(self.store.append_event, run_id, envelope))
                if finished:
                    break
            if not finished:
                await self._finish(row, handler, None)
        except Exception:
            logger.exception("reflow.server: recording run %s failed", run_id)
        finally:
            with contextlib.suppress(Exception):
                self._states[row.handler_id] = context_state(handler)
            self._live.pop(row.handler_id, None)

    async def _finish(
        self, row: PersistentHandler, handler: WorkflowHandler, terminal: StopEvent | None
    ) -> None:
        error: BaseException | None = None
        result: StopEvent | None = None
        try:
            await handler
            result = handler.get_stop_event() or terminal
        except asyncio.CancelledError as exc:
            error = exc
        except Exception as exc:
            error = exc
        status: Status = "completed"
        if isinstance(terminal, WorkflowCancelledEvent) or type(error).__name__ in (
            "WorkflowCancelledByUser",
            "CancelledError",
        ):
            status = "cancelled"
        elif error is not None:
            status = "failed"
        now = utc_now()
        final = row.model_copy(
            update={
                "status": status,
                "result": result if status == "completed" else None,
                "error": None if error is None else (str(error) or type(error).__name__),
                "updated_at": now,
                "completed_at": now,
            }
        )
        await self._persist(partial(self.store.update, final))

    async def wait(self, handler_id: str) -> HandlerData:
        pump = self._pumps.get(handler_id)
        if pump is not None:
            await asyncio.shield(pump)
        return await self.get(handler_id)

    async def get(self, handler_id: str) -> HandlerData:
        return stored_handler_data(await self._handler(handler_id))

    async def list(
        self,
        statuses: list[Status] | None,
        workflow_names: list[str] | None,
        limit: int | None = None,
        offset: int = 0,
        id_prefix: str | None = None,
    ) -> list[HandlerData]:
        found = await self.store.query(
            HandlerQuery(status_in=statuses, workflow_name_in=workflow_names)
        )
        if id_prefix:
            found = [h for h in found if h.handler_id.startswith(id_prefix)]
        if limit is not None or offset:
            now = utc_now()
            found.sort(key=lambda h: h.started_at or now, reverse=True)
            found = found[offset:] if limit is None else found[offset : offset + limit]
        return [stored_handler_data(h) for h in found]

    async def last_sequence(self, handler_id: str) -> int:
        row = await self._handler(handler_id)
        events = await self.store.query_events(row.run_id or handler_id)
        return events[-1].sequence if events else -1

    async def events(
        self, handler_id: str, after: int
    ) -> AsyncIterator[tuple[int, EventEnvelopeWithMetadata]]:
        row = await self._handler(handler_id)
        async for stored in self.store.subscribe_events(row.run_id or handler_id, after):
            yield stored.sequence, stored.event

    async def _running(self, handler_id: str) -> WorkflowHandler:
        row = await self._handler(handler_id)
        live = self._live.get(handler_id)
        if is_status_completed(row.status) or live is None:
            raise HandlerConflict(f"handler {handler_id!r} is not running ({row.status})")
        return live

    async def send(self, handler_id: str, event: Event, step: str | None) -> None:
        handler = await self._running(handler_id)
        await handler.send_event(event, step)

    async def cancel(self, handler_id: str) -> None:
        handler = await self._running(handler_id)
        await handler.cancel_run()
        await self.wait(handler_id)

    async def purge(self, handler_id: str) -> None:
        await self._handler(handler_id)
        with contextlib.suppress(HandlerConflict):
            await self.cancel(handler_id)
        await self.store.delete(HandlerQuery(handler_id_in=[handler_id]))
        self._starts.pop(handler_id, None)
        self._states.pop(handler_id, None)

    async def state(self, handler_id: str) -> dict[str, Any]:
        await self._handler(handler_id)
        live = self._live.get(handler_id)
        if live is not None:
            try:
                return context_state(live)
            except Exception as exc:
                raise NotKept(
                    f"the state of handler {handler_id!r} cannot be read: {exc}"
                ) from None
        if handler_id in self._states:
            return self._states[handler_id]
        raise NotKept(f"the state of handler {handler_id!r} is not kept (it ran elsewhere)")

    async def start_event(self, handler_id: str) -> StartEvent:
        await self._handler(handler_id)
        if handler_id not in self._starts:
            raise NotKept(
                f"the start event of handler {handler_id!r} is not kept (it ran elsewhere)"
            )
        return self._starts[handler_id]

    async def event_times(self, handler_id: str, after: int, limit: int) -> dict[int, str]:
        row = await self._handler(handler_id)
        found = await self.store.query_events(row.run_id or handler_id, after, limit)
        return {stored.sequence: stored.timestamp.isoformat() for stored in found}


def context_state(handler: WorkflowHandler) -> dict[str, Any]:
    """The run's state store in its ``to_dict`` form, as ``Context.to_dict`` gives it."""
    if handler.ctx is None:
        raise NotKept("the run has no context")
    state = handler.ctx.to_dict().get("state")
    if not isinstance(state, dict):
        raise NotKept("the run's context holds no state")
    return state
