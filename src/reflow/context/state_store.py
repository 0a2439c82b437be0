"""The state a workflow's steps share, and its snapshot format.

``InMemoryStateStore`` holds one pydantic model.  Writers (``set``, ``set_state``, ``clear``
and ``edit_state`` blocks) take turns on a lock; readers see the last committed state without
waiting.  ``edit_state()`` yields a private deep copy, committed when the block exits normally
and dropped if it raises.

``set()`` copies only the spine of its path (the containers on the path, and the root once
after it was handed to a reader; siblings stay shared), so a reader holding state read
earlier never sees the write, and a run of writes with no read between them costs the path's
length each; a container on the path that cannot be copied (an arbitrary object) is written
through.

Values the store's serializer cannot encode (a client, a lock), written by ``set()``,
``set_state()`` or the exit of ``edit_state()``: with ``keep_unserializable=True`` (what a
context chooses under the in-memory runtime when no serializer was chosen) the value is kept by
reference with a one-time ``UnserializableStateWarning`` naming its path, and ``to_dict()`` then
fails with that path, as in llama-index-workflows.  Otherwise (a durable runtime, an explicit
serializer, or a store built directly) the write is refused at once with a
``SerializationError`` naming the path (``state.customer.client``) and the state is left as it
was.
"""

from __future__ import annotations

import asyncio
import copy
import warnings
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Generic, Protocol, cast, runtime_checkable

from pydantic import BaseModel, ValidationError
from typing_extensions import TypeVar

from reflow._type_names.resolution import TypeRegistry, register_framework_types
from reflow.context import _state_paths as paths
from reflow.context._dict_state import DictState
from reflow.context._plain_models import copy_plain, is_plain
from reflow.context._serializability import check_serializable, child_path
from reflow.context._state_snapshot import (
    KNOWN_UNSERIALIZABLE_KEYS,
    UnserializableKeyWarning,
    decode_state,
    encode_state,
)
from reflow.context.serializers import BaseSerializer, JsonSerializer
from reflow.errors import SerializationError
from reflow.events import DictLikeModel

MAX_DEPTH = paths.MAX_PATH_SEGMENTS
_ROOT = "state"


class UnserializableStateWarning(UserWarning):
    """A value that cannot be serialized was stored by reference (in-memory runtime, no
    serializer chosen); ``Context.to_dict()`` fails, naming its path, until it is replaced."""


register_framework_types(DictState)

MODEL_T = TypeVar("MODEL_T", bound=BaseModel, default=DictState)


@runtime_checkable
class StateStore(Protocol[MODEL_T]):
    """What the context needs from a state store."""

    state_type: type[MODEL_T]

    async def get_state(self) -> MODEL_T: ...

    async def set_state(self, state: MODEL_T) -> None: ...

    async def get(self, path: str, default: Any = ...) -> Any: ...

    async def set(self, path: str, value: Any) -> None: ...

    async def clear(self) -> None: ...

    def edit_state(self) -> AbstractAsyncContextManager[MODEL_T]: ...

    def to_dict(self, serializer: BaseSerializer) -> dict[str, Any]: ...


class InMemoryStateStore(Generic[MODEL_T]):
    """A :class:`StateStore` keeping the state model in memory.

    ``serializer`` is used by ``to_dict()`` when none is given and to check written values
    (``check_values``); the engine passes the workflow's serializer.
    """

    def __init__(
        self,
        initial_state: MODEL_T,
        *,
        serializer: BaseSerializer | None = None,
        check_values: bool = True,
        keep_unserializable: bool = False,
    ) -> None:
        if not isinstance(initial_state, BaseModel):
            raise TypeError(
                f"State must be a pydantic model instance, got {type(initial_state).__name__}"
            )
        self.state_type: type[MODEL_T] = type(initial_state)
        self._state: MODEL_T = initial_state
        self._serializer = serializer if serializer is not None else JsonSerializer()
        self._check_values = check_values
        # In memory with no serializer chosen, a value that cannot be serialized is kept by
        # reference (with a warning naming its path) as the peer does; snapshots then fail.
        self._keep_unserializable = keep_unserializable
        self._warned_paths: set[str] | None = None  # made by the first warning
        # Whether a reader may hold the root model or a DictState's key dict (the caller
        # passed it in, or get_state() handed out a copy sharing its keys); the next set()
        # then writes to a copy of the root instead of the root itself.
        self._root_shared = True
        # Created on first write, so a store can be built outside a running event loop.
        self._lock_instance: asyncio.Lock | None = None
        # The task inside an edit_state() block: its own writes would wait forever for the lock
        # it holds, so they fail instead.  Other tasks simply wait (as in the peer).
        self._edit_owner: asyncio.Task[Any] | None = None

    @property
    def serializer(self) -> BaseSerializer:
        return self._serializer

    # -- reads -------------------------------------------------------------------------------

    async def get_state(self) -> MODEL_T:
        """A shallow copy of the state: nested objects (and a DictState's keys) are shared
        until the next write, which leaves them as they were (see ``set``)."""
        self._root_shared = True
        return self._state.model_copy()

    async def get(self, path: str, default: Any = ...) -> Any:
        """The value at a dot path; ``default`` if absent, else ``ValueError``."""
        return self.get_sync(path, default)

    def get_sync(self, path: str, default: Any = ...) -> Any:
        """Synchronous :meth:`get`."""
        if path == "":
            self._root_shared = True
            return self._state
        segments = paths.split_path(path)
        value, missing_at = paths.find(self._state, segments)
        if missing_at < 0:
            return value
        if default is not ...:
            return default
        raise ValueError(f"Path {path!r} not found in state")

    # -- writes ------------------------------------------------------------------------------

    async def set(self, path: str, value: Any) -> None:
        """Write ``value`` at a dot path, creating missing intermediate dicts."""
        segments = self._write_segments(path)
        async with self._lock():
            self._set_unlocked(path, segments, value)

    def set_sync(self, path: str, value: Any) -> None:
        """Synchronous :meth:`set`, for code on the event loop's thread that cannot await.

        Raises ``RuntimeError`` while another writer holds the lock rather than racing it.
        """
        segments = self._write_segments(path)
        if self._lock_instance is not None and self._lock_instance.locked():
            raise RuntimeError("Cannot set state synchronously while another write is in progress")
        self._set_unlocked(path, segments, value)

    async def set_state(self, state: BaseModel) -> None:
        """Replace the state, or merge a parent model's fields over it.

        The same type (or a subclass of ``state_type``) replaces the state.  An instance of a
        parent class of the current state overwrites the fields it declares and keeps the rest.
        """
        self._refuse_inside_edit()
        async with self._lock():
            current = self._state
            if type(state) is not type(current) and isinstance(current, type(state)):
                update = {name: getattr(state, name) for name in type(state).model_fields}
                new_state = current.model_copy(update=update)
            elif isinstance(state, self.state_type):
                new_state = state
            else:
                raise ValueError(
                    f"State must be of type {self.state_type.__name__} or a parent type, "
                    f"got {type(state).__name__}"
                )
            self._check_state(new_state)
            self._state = new_state
            self._root_shared = True

    async def clear(self) -> None:
        """Reset the state to its type's defaults."""
        self._refuse_inside_edit()
        async with self._lock():
            state_type = type(self._state)
            try:
                self._state = state_type()
            except ValidationError as exc:
                missing = [e["loc"][0] for e in exc.errors() if e["type"] == "missing" and e["loc"]]
                raise ValueError(
                    f"Cannot clear the state: {state_type.__name__} has fields without defaults "
                    f"({', '.join(map(str, missing)) or exc})"
                ) from exc

    @asynccontextmanager
    async def edit_state(self) -> AsyncIterator[MODEL_T]:
        """Edit a copy of the state; it replaces the state when the block exits normally.

        Other writers wait until the block ends; readers see the old state meanwhile.  Calling
        a writer of this store from the task running the block raises ``RuntimeError``.
        """
        self._refuse_inside_edit()
        async with self._lock():
            self._edit_owner = asyncio.current_task()
            try:
                draft = _copy_for_edit(self._state)
                yield draft
                self._check_state(draft)
                self._state = draft
                self._root_shared = True
            finally:
                self._edit_owner = None

    # -- snapshots ---------------------------------------------------------------------------

    def to_dict(self, serializer: BaseSerializer | None = None) -> dict[str, Any]:
        """The snapshot form: ``{"store_type", "state_type", "state_module", "state_data"}``."""
        return encode_state(self._state, serializer if serializer is not None else self._serializer)

    @classmethod
    def from_dict(
        cls,
        serialized_state: dict[str, Any],
        serializer: BaseSerializer | None = None,
        *,
        type_registry: TypeRegistry | None = None,
        check_values: bool = True,
    ) -> InMemoryStateStore[Any]:
        """Rebuild a store from :meth:`to_dict` output (reflow's or the peer's).

        ``type_registry`` (``{qualified name: class}``) resolves model classes that cannot be
        imported by name.  Malformed input raises ``ValueError``.
        """
        serializer = serializer if serializer is not None else JsonSerializer()
        state = decode_state(serialized_state, serializer, type_registry)
        # The decoded model's type is only known at run time.
        return cls(cast(Any, state), serializer=serializer, check_values=check_values)

    # -- internals ---------------------------------------------------------------------------

    def _lock(self) -> asyncio.Lock:
        if self._lock_instance is None:
            self._lock_instance = asyncio.Lock()
        return self._lock_instance

    def _refuse_inside_edit(self) -> None:
        if self._edit_owner is not None and self._edit_owner is asyncio.current_task():
            raise RuntimeError(
                "This state store is being edited by an enclosing edit_state() block; "
                "change the state object it yielded instead of calling set/set_state/clear "
                "or opening another edit_state()"
            )

    def _write_segments(self, path: str) -> list[str]:
        if not path:
            raise ValueError("Path cannot be empty")
        segments = paths.split_path(path)
        self._refuse_inside_edit()
        return segments

    def _set_unlocked(self, path: str, segments: list[str], value: Any) -> None:
        previous = self._state
        if self._root_shared:
            # A reader may hold the root (or a DictState's key dict): write a copy of it.
            self._state = paths.shallow_copy(previous)
            self._root_shared = False
        state = self._state
        assignment = paths.plan_copy_on_write(state, segments, value, _ROOT)
        try:
            paths.apply(assignment, path)
        except BaseException:
            self._restore(previous, assignment, path, applied=False)
            raise
        if not self._check_values or (
            isinstance(state, DictState) and segments[0] in KNOWN_UNSERIALIZABLE_KEYS
        ):
            return
        try:
            if (
                isinstance(state, DictState)
                and assignment.plain_chain
                and type(self._serializer) is JsonSerializer
            ):
                # Below a DictState key only dicts and lists: JsonSerializer encodes the new
                # value the same way wherever it sits, so checking it alone is enough (and cheap).
                check_serializable(assignment.value, assignment.display_path, self._serializer)
            elif isinstance(state, DictState):
                key = segments[0]
                check_serializable(
                    state[key], child_path(_ROOT, key, attribute=True), self._serializer
                )
            else:
                check_serializable(state, _ROOT, self._serializer)
        except SerializationError as error:
            if not self._keep_unserializable:
                self._restore(previous, assignment, path)
                raise
            self._warn_kept(error)

    def _restore(
        self, previous: MODEL_T, assignment: paths.Assignment, path: str, *, applied: bool = True
    ) -> None:
        """Undo a refused or failed write (and the copying of its spine)."""
        if previous is not self._state:
            self._state = previous
            self._root_shared = True
        if applied:
            paths.undo(assignment, path)
        else:
            paths.undo_spine(assignment, path)

    def _check_state(self, state: BaseModel) -> None:
        if not self._check_values:
            return
        try:
            if isinstance(state, DictState):
                for key, value in state.items():
                    if key not in KNOWN_UNSERIALIZABLE_KEYS:
                        check_serializable(
                            value, child_path(_ROOT, key, attribute=True), self._serializer
                        )
            else:
                check_serializable(state, _ROOT, self._serializer)
        except SerializationError as error:
            if not self._keep_unserializable:
                raise
            self._warn_kept(error)

    def _warn_kept(self, error: SerializationError) -> None:
        """Warn once per path that a value is held by reference and blocks snapshots."""
        if self._warned_paths is None:
            self._warned_paths = set()
        elif error.path in self._warned_paths:
            return
        self._warned_paths.add(error.path)
        warnings.warn(
            UnserializableStateWarning(
                f"{error.path} holds a value that cannot be serialized ({error.reason}). It is "
                "kept by reference in memory; Context.to_dict() fails until it is replaced. "
                "Choose a serializer or a durable runtime to refuse such values when stored."
            ),
            stacklevel=5,
        )


def _copy_for_edit(state: MODEL_T) -> MODEL_T:
    """A deep copy; values that refuse to be copied (locks, clients) are shared instead."""
    if is_plain(state):
        return cast(MODEL_T, copy_plain(state))
    try:
        return state.model_copy(deep=True)
    except Exception:
        pass
    update = {name: _deepcopy_or_share(getattr(state, name)) for name in type(state).model_fields}
    draft = state.model_copy(update=update)
    if isinstance(state, DictLikeModel) and isinstance(draft, DictLikeModel):
        draft._data = {key: _deepcopy_or_share(value) for key, value in state.items()}
    return draft


def _deepcopy_or_share(value: Any) -> Any:
    try:
        return copy.deepcopy(value)
    except Exception:
        return value


__all__ = [
    "KNOWN_UNSERIALIZABLE_KEYS",
    "MODEL_T",
    "DictState",
    "InMemoryStateStore",
    "StateStore",
    "UnserializableKeyWarning",
    "UnserializableStateWarning",
]
