"""``Context``: the run's state and controls, seen through one of three faces."""

from __future__ import annotations

import asyncio
import contextvars
import math
import time
import warnings
import weakref
from collections.abc import AsyncGenerator
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from reflow.context._faces import ExternalFace, Face, InternalFace, PreRunFace
from reflow.context.serializers import BaseSerializer, JsonSerializer
from reflow.context.state_store import MODEL_T, DictState, InMemoryStateStore
from reflow.errors import ContextSerdeError, ContextStateError, WorkflowRuntimeError
from reflow.events import Event, StopEvent
from reflow.retry_policy import RetryInfo

if TYPE_CHECKING:
    from reflow.context._host import WorkflowHost
    from reflow.runtime.types.plugin import ExternalRunAdapter
    from reflow.runtime.types.step_call import StepCall

_EventT = TypeVar("_EventT", bound=Event)


class StepScope:
    """The step attempt running in the current task; builds its ``Context`` on first use.

    Most steps never ask for a context, so none is built for them.
    """

    __slots__ = ("__weakref__", "_call", "_ctx", "_workflow")

    def __init__(self, workflow: WorkflowHost, call: StepCall) -> None:
        self._workflow = workflow
        self._call = call
        self._ctx: Context[Any] | None = None

    def context(self) -> Context[Any]:
        if self._ctx is None:
            call = self._call
            self._ctx = Context._for_step(self._workflow, call, call.run.get_state_store())
        return self._ctx


# A weak reference, not the scope: every timer or task a step arms (``asyncio.wait_for``, a
# background task) copies the step's context, and asyncio keeps a cancelled timer, context
# included, in its heap until the timer's due time.  The running step holds the scope
# strongly, so the reference dies with the attempt instead of pinning the run.
_current_step_context: contextvars.ContextVar[weakref.ref[StepScope] | None] = (
    contextvars.ContextVar("reflow_step_context", default=None)
)


class Context(Generic[MODEL_T]):
    """State and controls of a run.

    Before ``run()`` a context stages state and an optional snapshot to resume from; handed
    to ``run()`` it becomes the handler-side view of the run; inside a step it is the step's
    view.  Calling a method in a phase that forbids it raises ``ContextStateError``.
    """

    def __init__(
        self,
        workflow: WorkflowHost,
        previous_context: dict[str, Any] | None = None,
        serializer: BaseSerializer | None = None,
    ) -> None:
        self._workflow = workflow
        self._serializer: BaseSerializer = (
            serializer or getattr(workflow, "_serializer", None) or JsonSerializer()
        )
        self._serializer_explicit = serializer is not None
        if previous_context is not None and not isinstance(previous_context, dict):
            raise ContextSerdeError(
                f"previous_context must be a dict, got {type(previous_context).__name__}"
            )
        self._face: Face = PreRunFace(snapshot=previous_context)
        # wait_for_event calls per waiter id, made on first use (most contexts never wait).
        self._waiter_calls: dict[str, int] | None = None

    # -- construction --------------------------------------------------------------------

    @classmethod
    def from_dict(
        cls,
        workflow: WorkflowHost,
        data: dict[str, Any],
        serializer: BaseSerializer | None = None,
    ) -> Context[Any]:
        from reflow.context._snapshot import validate_snapshot

        validate_snapshot(data)
        return cls(workflow, previous_context=data, serializer=serializer)

    @classmethod
    def _for_step(cls, workflow: WorkflowHost, call: StepCall, store: Any) -> Context[Any]:
        ctx: Context[Any] = cls.__new__(cls)
        ctx._workflow = workflow
        ctx._serializer = getattr(workflow, "_serializer", None) or JsonSerializer()
        ctx._serializer_explicit = False
        ctx._face = InternalFace(call=call, store=store)
        ctx._waiter_calls = None
        return ctx

    def _bind_run(self, adapter: ExternalRunAdapter, store: Any) -> None:
        self._face = ExternalFace(adapter=adapter, store=store)

    def _staged_store(self) -> InMemoryStateStore[Any]:
        """The pre-run store: from the snapshot, else empty state of the inferred type."""
        face = self._face
        assert isinstance(face, PreRunFace)
        if face.store is None:
            checker = self._store_checker()
            stored = (face.snapshot or {}).get("state") or {}
            store_type = stored.get("store_type", "in_memory")
            if store_type != "in_memory":
                raise ContextSerdeError(
                    "Context.store cannot be accessed before workflow start for durable state "
                    f"store {store_type!r}. Pass the context to workflow.run() so the runtime "
                    "can restore it."
                )
            if face.snapshot is not None and face.snapshot.get("state"):
                store = InMemoryStateStore.from_dict(face.snapshot["state"], self._serializer)
                store._serializer = checker
            else:
                state_type = self._workflow._state_type() or DictState
                store = InMemoryStateStore(state_type(), serializer=checker)
            store._keep_unserializable = self._keeps_unserializable()
            face.store = store
        return cast("InMemoryStateStore[Any]", face.store)

    def _store_checker(self) -> BaseSerializer:
        """The serializer stored values are checked with: this context's if one was given,
        else the workflow's rule (``DEFAULT_VALUE_CHECKER`` unless it chose a serializer)."""
        if self._serializer_explicit:
            return self._serializer
        return self._workflow._value_checker()

    def _keeps_unserializable(self) -> bool:
        """The rule for values no serializer can encode: kept by reference only in memory
        with no serializer chosen (as the peer does); refused when written otherwise."""
        workflow = self._workflow
        chosen = self._serializer_explicit or getattr(workflow, "_serializer_explicit", False)
        runtime = getattr(workflow, "_runtime", None)
        return not chosen and not getattr(runtime, "persists_state", False)

    @property
    def _snapshot(self) -> dict[str, Any] | None:
        return self._face.snapshot if isinstance(self._face, PreRunFace) else None

    # -- every phase -----------------------------------------------------------------------

    @property
    def store(self) -> InMemoryStateStore[MODEL_T]:
        if isinstance(self._face, PreRunFace):
            return self._staged_store()
        return cast("InMemoryStateStore[MODEL_T]", self._face.store)

    @property
    def is_running(self) -> bool:
        face = self._face
        if isinstance(face, PreRunFace):
            return bool(face.snapshot and face.snapshot.get("is_running", False))
        if isinstance(face, ExternalFace):
            return not face.adapter.is_done()
        warnings.warn(
            "Context.is_running inside a step is deprecated; it is always True there.",
            DeprecationWarning,
            stacklevel=2,
        )
        return True

    def to_dict(
        self, serializer: BaseSerializer | None = None, *, include_state: bool = True
    ) -> dict[str, Any]:
        """A JSON-compatible snapshot from which ``Context.from_dict`` resumes the run."""
        from reflow.context._snapshot import snapshot_from_context

        face = self._face
        if isinstance(face, InternalFace):
            raise face.refuse("to_dict")
        chosen = serializer or self._serializer
        return snapshot_from_context(
            face, self._workflow, lambda: self.store.to_dict(chosen), include_state, chosen
        )

    # -- handler side ----------------------------------------------------------------------

    async def running_steps(self) -> list[str]:
        face = self._face
        if not isinstance(face, ExternalFace):
            raise face.refuse("running_steps")
        state = face.adapter.snapshot()
        return [] if state is None else state.active_step_names()

    def stream_events(self) -> AsyncGenerator[Event, None]:
        face = self._face
        if not isinstance(face, ExternalFace):
            raise face.refuse("stream_events")
        return face.adapter.stream_published_events()

    def get_result(self) -> Any:
        """Deprecated: await the handler instead."""
        face = self._face
        if not isinstance(face, ExternalFace):
            raise face.refuse("get_result")
        stop = _finished_stop_event(face.adapter)
        if stop is None:
            raise WorkflowRuntimeError("The workflow has not finished yet")
        return stop.result if type(stop) is StopEvent else stop

    @property
    def streaming_queue(self) -> asyncio.Queue[Event]:
        """Deprecated: an asyncio.Queue fed from ``stream_events()``."""
        queue: asyncio.Queue[Event] = asyncio.Queue()

        async def feed() -> None:
            async for event in self.stream_events():
                queue.put_nowait(event)

        task = asyncio.get_running_loop().create_task(feed())
        _background.add(task)
        task.add_done_callback(_background.discard)
        return queue

    # -- both sides ------------------------------------------------------------------------

    def send_event(
        self, message: Event, step: str | None = None, *, delay: float | None = None
    ) -> None:
        """Send ``message`` into the run (to ``step`` only, if given), now or after ``delay``."""
        face = self._face
        if isinstance(face, PreRunFace):
            raise ContextStateError(
                "send_event() called before workflow started. Call workflow.run() first."
            )
        if delay is not None:
            _check_delay(delay)
        self._workflow._check_send_target(message, step)
        self._workflow._check_event_serializable(message)
        if isinstance(face, InternalFace):
            face.call.run.send_event(
                message, step, delay=delay, recovery_counts=face.call.recovery_counts
            )
        else:
            from reflow.engine import TickAddEvent

            face.adapter.send_event_nowait(
                TickAddEvent(at=_now(), event=message, step_name=step, delay=delay)
            )

    # -- step side -------------------------------------------------------------------------

    def _internal(self, method: str) -> InternalFace:
        face = self._face
        if not isinstance(face, InternalFace):
            raise face.refuse(method)
        return face

    @property
    def idempotency_key(self) -> str:
        """A key stable across replays of this step attempt (``run:step:attempt``)."""
        return self._internal("idempotency_key").call.idempotency_key

    def collect_events(
        self, ev: Event, expected: list[type[Event]], buffer_id: str | None = None
    ) -> list[Event] | None:
        """Buffer ``ev``; once every type in ``expected`` is present return them in that order."""
        call = self._internal("collect_events").call
        return call.run.collect(call.step_name, buffer_id or "default", ev, expected)

    def write_event_to_stream(self, ev: Event | None) -> None:
        if ev is None:
            self._internal("write_event_to_stream")
            return
        self._internal("write_event_to_stream").call.run.publish(ev)

    async def wait_for_event(
        self,
        event_type: type[_EventT],
        waiter_event: Event | None = None,
        waiter_id: str | None = None,
        requirements: dict[str, Any] | None = None,
        timeout: float | None = 2000,
    ) -> _EventT:
        """Suspend this step until an event of exactly ``event_type`` matching ``requirements``.

        The step's worker slot is free while it waits and the code before the call does not
        run again (unless a durable runtime resumes the run after a crash).  ``waiter_event``
        is published once, when the wait begins.  Raises ``asyncio.TimeoutError`` after
        ``timeout`` seconds.
        """
        call = self._internal("wait_for_event").call
        requirements = dict(requirements) if requirements else _NO_REQUIREMENTS
        if waiter_id is None:
            waiter_id = _default_waiter_id(event_type, requirements)
        calls = self._waiter_calls
        if calls is None:
            calls = self._waiter_calls = {}
        count = calls.get(waiter_id, 0)
        calls[waiter_id] = count + 1
        slot = f"{waiter_id}#{count}"
        event = await call.run.wait_for(
            call,
            waiter_id=waiter_id,
            slot=slot,
            event_type=event_type,
            requirements=requirements,
            waiter_event=waiter_event,
            timeout=timeout,
        )
        call.resolved = {**call.resolved, slot: event}  # replaced: calls share an empty one
        if event is None:
            raise asyncio.TimeoutError(f"Timed out waiting for {event_type.__name__}")
        return cast(_EventT, event)

    def retry_info(self) -> RetryInfo:
        call = self._internal("retry_info").call
        retry = call.retry
        first = retry.first_attempt_at
        return RetryInfo(
            retry_number=retry.retry_number,
            elapsed_seconds=(
                0.0
                if first is None or retry.last_failed_at is None
                else max(0.0, retry.last_failed_at - first)
            ),
            last_exception=(
                retry.last_exception if isinstance(retry.last_exception, Exception) else None
            ),
            last_failed_at=(
                None
                if retry.last_failed_at is None
                else datetime.fromtimestamp(retry.last_failed_at, tz=timezone.utc)
            ),
        )

    @staticmethod
    def get_step_context() -> Context[Any]:
        ref = _current_step_context.get()
        scope = None if ref is None else ref()
        if scope is None:
            raise WorkflowRuntimeError(
                "Context.get_step_context() may only be called from within a step function"
            )
        return scope.context()


_background: set[asyncio.Task[None]] = set()

# Shared by the waits that have no requirements; nothing downstream writes to it.
_NO_REQUIREMENTS: dict[str, Any] = {}
# The default waiter id of a wait without requirements, one string per event type.
_WAITER_IDS: dict[type[Event], str] = {}


def _default_waiter_id(event_type: type[Event], requirements: dict[str, Any]) -> str:
    if requirements:
        return f"waiter_{event_type.__module__}.{event_type.__qualname__}_{requirements}"
    waiter_id = _WAITER_IDS.get(event_type)
    if waiter_id is None:
        if len(_WAITER_IDS) >= 4096:  # classes made at run time must not pile up here
            _WAITER_IDS.clear()
        waiter_id = _WAITER_IDS[event_type] = (
            f"waiter_{event_type.__module__}.{event_type.__qualname__}_{{}}"
        )
    return waiter_id


def _check_delay(delay: object) -> None:
    if isinstance(delay, bool) or not isinstance(delay, (int, float)):
        raise TypeError(f"send_event delay must be a number of seconds, got {delay!r}")
    if not math.isfinite(delay) or delay < 0:
        raise ValueError(f"send_event delay must be a finite number >= 0, got {delay!r}")


def _now() -> float:
    return time.time()


def _finished_stop_event(adapter: ExternalRunAdapter) -> StopEvent | None:
    getter = getattr(adapter, "get_result_or_none", None)
    return getter() if callable(getter) else None
