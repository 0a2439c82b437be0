"""JSON forms of the values the engine carries: events, exceptions and event types.

Events use the ``reflow.events.serialize_event`` shape, exceptions ``serialize_exception`` and
event types their qualified name.  Classes defined inside functions cannot be imported again,
so an ``EventCodec`` resolves names through a registry (qualified name -> class) first and
only then by import.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from reflow._type_names.qualname import qualified_name
from reflow._type_names.resolution import (
    import_class,
    lookup_framework,
    lookup_type_registry,
    resolver_in_effect,
)
from reflow.engine.state import RunConfig
from reflow.events import (
    CollectionReleaseEvent,
    Event,
    HumanResponseEvent,
    IdleReleasedEvent,
    InputRequiredEvent,
    InternalDispatchEvent,
    StartEvent,
    StepFailedEvent,
    StepStateChanged,
    StopEvent,
    UnhandledEvent,
    UnreconstructedException,
    WorkflowCancelledEvent,
    WorkflowFailedEvent,
    WorkflowIdleEvent,
    WorkflowTimedOutEvent,
    deserialize_exception,
    serialize_event,
    serialize_exception,
)

JSON = Any
"""A value ``json.dumps`` accepts: None, bool, int, float, str, list or dict with str keys."""

BUILTIN_EVENTS: tuple[type[Event], ...] = (
    Event,
    StartEvent,
    StopEvent,
    InputRequiredEvent,
    HumanResponseEvent,
    InternalDispatchEvent,
    StepStateChanged,
    UnhandledEvent,
    WorkflowIdleEvent,
    WorkflowTimedOutEvent,
    WorkflowCancelledEvent,
    WorkflowFailedEvent,
    IdleReleasedEvent,
    StepFailedEvent,
    CollectionReleaseEvent,
)


def _subclasses(cls: type[Any]) -> Iterable[type[Any]]:
    """Every subclass currently defined, depth first in definition order."""
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def registry_for(config: RunConfig) -> dict[str, type]:
    """Every event class reachable from ``config``'s steps, by qualified name.

    Reachable means accepted or collected (``list[E]``) by a step, or a subclass of such a
    type that is currently defined, or one of reflow's built-in events.

    Built-in events first, then subclasses of accepted types, then the accepted types
    themselves, so that when two classes share a qualified name (a class defined in a
    function called twice) the one a step names directly wins.
    """
    registry: dict[str, type] = {qualified_name(cls): cls for cls in BUILTIN_EVENTS}
    accepted = [cls for spec in config.steps.values() for cls in (*spec.accepted, *spec.collects)]
    for cls in accepted:
        for sub in _subclasses(cls):
            registry[qualified_name(sub)] = sub
    for cls in accepted:
        registry[qualified_name(cls)] = cls
    return registry


def _is_event_marker(value: Any) -> bool:
    return isinstance(value, dict) and value.get("__is_pydantic") is True and "value" in value


class ValueEncoder(Protocol):
    """Turns an arbitrary value into text and back (a snapshot's serializer, such as pickle)."""

    def serialize(self, value: Any) -> str: ...

    def deserialize(self, value: str) -> Any: ...


# The one key of the dict standing for a requirement value stored through a ValueEncoder.
_ENCODED = "__reflow_encoded__"


class EventCodec:
    """Encodes and decodes events, exceptions and event types, resolving names via a registry.

    ``values`` encodes waiter requirements that JSON cannot hold (a snapshot taken with the
    pickle serializer); without it such requirements are refused with a clear error.
    """

    def __init__(
        self, registry: Mapping[str, type] | None = None, *, values: ValueEncoder | None = None
    ) -> None:
        self._values = values
        self._registry: dict[str, type] = dict(registry or {})
        self._resolved: dict[str, type] = {}
        self._types: dict[str, type[Event]] = {}

    def resolve(self, name: str) -> type:
        """The class serialized as ``name``: from the registry, else reflow's own, else import."""
        found = self._resolved.get(name)
        if found is None:
            try:
                found = (
                    lookup_type_registry(self._registry, name)
                    or lookup_framework(name)
                    or import_class(name)
                )
            except ImportError as exc:
                raise ValueError(
                    f"Cannot resolve class {name!r}: it is not in the codec's registry and "
                    f"cannot be imported ({exc})"
                ) from None
            self._resolved[name] = found
        return found

    # Event types --------------------------------------------------------------------------

    def type_to_json(self, cls: type[Event]) -> str:
        return qualified_name(cls)

    def type_from_json(self, name: JSON) -> type[Event]:
        if not isinstance(name, str):
            raise ValueError(f"An event type must be encoded as its qualified name, got {name!r}")
        cached = self._types.get(name)
        if cached is not None:
            return cached
        cls = self.resolve(name)
        if not issubclass(cls, Event):
            raise ValueError(f"{name!r} does not name an Event subclass")
        self._types[name] = cls
        return cls

    # Events -------------------------------------------------------------------------------

    def event_to_json(self, event: Event) -> dict[str, Any]:
        return serialize_event(event)

    def event_from_json(self, data: JSON) -> Event:
        if not _is_event_marker(data):
            raise ValueError(f"Expected a serialized event, got {_preview(data)}")
        cls = self.type_from_json(data.get("qualified_name"))
        try:
            # Nested events (StepFailedEvent.input_event, ...) resolve through this codec too.
            with resolver_in_effect(self.resolve):
                event: Event = cls.model_validate(data["value"])
        except Exception as exc:
            raise ValueError(f"Cannot rebuild a {cls.__qualname__} event: {exc}") from exc
        return event

    def optional_event_to_json(self, event: Event | None) -> dict[str, Any] | None:
        return None if event is None else self.event_to_json(event)

    def optional_event_from_json(self, data: JSON) -> Event | None:
        return None if data is None else self.event_from_json(data)

    # Exceptions ---------------------------------------------------------------------------

    def exception_to_json(self, exc: BaseException) -> dict[str, str]:
        return serialize_exception(exc)

    def exception_from_json(self, data: JSON) -> BaseException:
        if not isinstance(data, dict) or not isinstance(data.get("exception_type"), str):
            raise ValueError(f"Expected a serialized exception, got {_preview(data)}")
        cls = self._registry.get(data["exception_type"])
        if cls is not None and issubclass(cls, BaseException):
            message = data.get("exception_message", "")
            try:
                return cls(message)
            except Exception:
                return UnreconstructedException(message, original_type=data["exception_type"])
        return deserialize_exception(data)

    def optional_exception_to_json(self, exc: BaseException | None) -> dict[str, str] | None:
        return None if exc is None else self.exception_to_json(exc)

    def optional_exception_from_json(self, data: JSON) -> BaseException | None:
        return None if data is None else self.exception_from_json(data)

    # Waiter requirements -----------------------------------------------------------------

    def requirements_to_json(self, requirements: Mapping[str, Any], where: str) -> dict[str, Any]:
        """JSON values as they are; others through ``values`` if given, else a ValueError."""
        if self._values is None:
            return check_requirements(requirements, where)
        encoded: dict[str, Any] = {}
        for key, value in requirements.items():
            if _json_problem(value) is None:
                encoded[key] = value
                continue
            try:
                encoded[key] = {_ENCODED: self._values.serialize(value)}
            except Exception as exc:
                raise ValueError(
                    f"{where}: requirement {key!r}={value!r} cannot be serialized: {exc}"
                ) from exc
        return encoded

    def requirements_from_json(self, data: JSON) -> dict[str, Any]:
        decoded: dict[str, Any] = {}
        for key, value in dict(data).items():
            if isinstance(value, dict) and list(value) == [_ENCODED]:
                if self._values is None:
                    raise ValueError(
                        f"requirement {key!r} was stored with a serializer; "
                        "load the snapshot with the same serializer"
                    )
                value = self._values.deserialize(value[_ENCODED])
            decoded[key] = value
        return decoded


def check_requirements(requirements: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Return ``requirements`` unchanged if every value survives JSON; else a clear ValueError.

    Only JSON's own types are accepted (no tuples, sets or objects): a value that came back
    from JSON as something else would no longer compare equal to the event field it matches.
    """
    for key, value in requirements.items():
        problem = _json_problem(value)
        if problem is not None:
            raise ValueError(
                f"{where}: requirement {key!r}={value!r} cannot be stored as JSON ({problem}); "
                "use None, bool, int, float, str, or lists/dicts of them"
            )
    return dict(requirements)


def _json_problem(value: Any) -> str | None:
    if value is None or isinstance(value, (bool, int, str)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else "a non-finite float"
    if isinstance(value, list):
        for item in value:
            problem = _json_problem(item)
            if problem is not None:
                return problem
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"a dict key of type {type(key).__name__}"
            problem = _json_problem(item)
            if problem is not None:
                return problem
        return None
    return f"a value of type {type(value).__name__}"


def _preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
