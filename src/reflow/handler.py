"""``WorkflowHandler``: the awaitable handle of one run."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING, Any

from reflow.errors import WorkflowCancelledByUser, WorkflowRuntimeError
from reflow.events import Event, InternalDispatchEvent, StopEvent, WorkflowCancelledEvent

if TYPE_CHECKING:
    from reflow.context._host import WorkflowHost
    from reflow.context.context import Context
    from reflow.runtime.types.plugin import ExternalRunAdapter


class WorkflowHandler:
    """Await it for the result; stream its events; send events in; cancel it."""

    def __init__(
        self,
        workflow: WorkflowHost,
        external_adapter: ExternalRunAdapter,
        ctx: Context[Any] | None = None,
    ) -> None:
        self._workflow_name = workflow.workflow_name
        self._adapter = external_adapter
        self._ctx = ctx
        self.run_id: str = external_adapter.run_id
        self._stop_event: StopEvent | None = None
        self._stream_done = False
        loop = asyncio.get_running_loop()
        source = external_adapter.result_future()
        self._result_task: asyncio.Future[Any]
        if source is None:
            self._result_task = loop.create_task(self._result())
        else:
            self._result_task = loop.create_future()
            source.add_done_callback(self._settle)
            return
        self._result_task.add_done_callback(_mark_retrieved)

    def _settle(self, source: asyncio.Future[StopEvent]) -> None:
        """Mirror the run's own result future (no task of our own)."""
        target = self._result_task
        if target.done():
            return
        if source.cancelled():
            target.cancel()
            return
        error = source.exception()
        if error is not None:
            if isinstance(error, WorkflowCancelledByUser):
                self._stop_event = WorkflowCancelledEvent()
            target.set_exception(error)
            # Retrieved here rather than by a done callback (one list less per handler):
            # the caller sees the error when it awaits; nothing logs "never retrieved".
            target.exception()
            return
        stop = source.result()
        self._stop_event = stop
        target.set_result(stop.result if type(stop) is StopEvent else stop)

    async def _result(self) -> Any:
        try:
            stop = await self._adapter.get_result()
        except WorkflowCancelledByUser:
            self._stop_event = WorkflowCancelledEvent()
            raise
        self._stop_event = stop
        return stop.result if type(stop) is StopEvent else stop

    def __await__(self) -> Generator[Any, None, Any]:
        return self._result_task.__await__()

    @property
    def ctx(self) -> Context[Any] | None:
        return self._ctx

    def is_done(self) -> bool:
        return self._result_task.done()

    async def stream_events(self, expose_internal: bool = False) -> AsyncGenerator[Event, None]:
        """Published events up to and including the first StopEvent, each delivered once."""
        if self._stream_done:
            raise WorkflowRuntimeError("All the streamed events have already been consumed.")
        async for event in self._adapter.stream_published_events():
            if isinstance(event, StopEvent):
                self._stream_done = True
                yield event
                return
            if expose_internal or not isinstance(event, InternalDispatchEvent):
                yield event
        self._stream_done = True

    async def send_event(self, event: Event, step: str | None = None) -> None:
        if self._ctx is None:
            raise WorkflowRuntimeError("This handler has no context to send events through")
        self._ctx.send_event(event, step)

    async def cancel_run(self, *, timeout: float = 5.0) -> None:
        """Cancel the run and wait up to ``timeout`` seconds for it to end; never raises."""
        try:
            await self._adapter.cancel()
            await asyncio.wait({self._result_task}, timeout=timeout)
        except Exception:
            pass

    def _execution_trace(self) -> list[tuple[Any, ...]]:
        """What the run did, for ``reflow.drawing.draw_most_recent_execution``."""
        return self._adapter.execution_trace()

    def get_stop_event(self) -> StopEvent | None:
        return self._stop_event

    async def stop_event_result(self) -> StopEvent:
        try:
            await self._result_task
        except BaseException:
            if self._stop_event is None:
                raise
        assert self._stop_event is not None
        return self._stop_event

    # deprecated asyncio.Future-like surface ---------------------------------------------------

    def done(self) -> bool:
        _deprecated("done", "is_done")
        return self._result_task.done()

    def cancelled(self) -> bool:
        _deprecated("cancelled", "is_done")
        return self._result_task.cancelled()

    def exception(self) -> BaseException | None:
        _deprecated("exception", "await handler")
        return self._result_task.exception()

    def cancel(self) -> bool:
        """Hard abort: cancels the run's task without publishing a cancellation event."""
        _deprecated("cancel", "cancel_run")
        abort = getattr(self._adapter, "abort", None)
        if abort is None:
            raise NotImplementedError("This runtime does not support a hard abort")
        abort()
        return self._result_task.cancel()

    def __str__(self) -> str:
        stop = self._stop_event
        shown = stop.result if type(stop) is StopEvent else stop
        name = self._workflow_name
        return f"WorkflowHandler(workflow={name}, run_id={self.run_id}, result={shown})"


def _mark_retrieved(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


def _deprecated(name: str, instead: str) -> None:
    warnings.warn(
        f"WorkflowHandler.{name}() is deprecated; use {instead} instead.",
        DeprecationWarning,
        stacklevel=3,
    )


__all__ = ["WorkflowHandler"]
