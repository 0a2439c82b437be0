"""Names of the peer's runtime plugin module that custom runtimes import.

reflow's control loop does not schedule through ``wait_for_next_task`` (an attempt reports
its own outcome), but a runtime written against the peer's interface still finds these
types and mixins here, with the same shapes.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from reflow.engine import RunState, WorkflowTick
from reflow.events import StopEvent

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class WorkerTask:
    step_name: str
    worker_id: int
    task: asyncio.Task[Any]

    @property
    def key(self) -> str:
        return f"{self.step_name}:{self.worker_id}"


@dataclass(frozen=True, slots=True)
class PullTask:
    sequence: int
    task: asyncio.Task[Any]

    @property
    def key(self) -> str:
        return f"__pull__:{self.sequence}"


NamedTask = WorkerTask | PullTask


@dataclass(frozen=True, slots=True)
class PendingStart:
    key: str
    coroutine: Coroutine[Any, Any, Any]


@dataclass(slots=True)
class WaitForNextTaskResult:
    completed: NamedTask | None = None
    started: list[NamedTask] = field(default_factory=list)


class ControlLoopFunction(Protocol):
    def __call__(
        self, start_event: Any, init_state: RunState, run_id: str
    ) -> Coroutine[Any, Any, StopEvent]: ...


class WorkflowRunFunction(Protocol):
    def __call__(
        self, init_state: RunState, start_event: Any = None, tags: dict[str, Any] | None = None
    ) -> Coroutine[Any, Any, StopEvent]: ...


class SnapshottableAdapter:
    """Mixin: an adapter whose run state can be rebuilt from its initial state and ticks."""

    @property
    def init_state(self) -> RunState:
        raise NotImplementedError

    def replay(self) -> list[WorkflowTick]:
        raise NotImplementedError


class V2RuntimeCompatibilityShim:
    """Mixin: the handler's deprecated Future-like calls (hard abort, result or None)."""

    def get_result_or_none(self) -> StopEvent | None:
        raise NotImplementedError

    @property
    def is_running(self) -> bool:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError


def as_v2_runtime_compatibility_shim(adapter: Any) -> Any | None:
    """The adapter if it offers the deprecated calls (``abort``, ``get_result_or_none``)."""
    if callable(getattr(adapter, "abort", None)) and callable(
        getattr(adapter, "get_result_or_none", None)
    ):
        return adapter
    return None


class WorkflowSet:
    """A set of workflows held weakly and compared by identity."""

    def __init__(self) -> None:
        self._items: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()

    def add(self, item: Any) -> None:
        self._items[id(item)] = item

    def discard(self, item: Any) -> None:
        if self._items.get(id(item)) is item:
            del self._items[id(item)]

    def __contains__(self, item: object) -> bool:
        return self._items.get(id(item)) is item

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._items.values()))

    def __len__(self) -> int:
        return len(self._items)
