"""Events: the messages steps accept, return, send and stream.

``Event`` is a pydantic model that also behaves like a dict for fields it does not declare:
``Event(topic="x").topic == Event(topic="x")["topic"] == "x"``.  Only ``StopEvent`` subclasses end
a run; ``InternalDispatchEvent`` subclasses are the engine's own notices, hidden from
``handler.stream_events()`` unless ``expose_internal=True``.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    PrivateAttr,
    model_serializer,
)

from reflow._events.fast_init import construct_trusted, install_fast_private_init
from reflow._events.mapping import DataMapping
from reflow._type_names.qualname import import_qualified_name, qualified_name
from reflow._type_names.resolution import register_framework_types, resolve_serialized_class


class DictLikeModel(DataMapping, BaseModel):  # type: ignore[misc]  # mapping-style __iter__, as the peer
    """A pydantic model whose undeclared keyword arguments live in a private ``_data`` dict."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    _data: dict[str, Any] = PrivateAttr(default_factory=dict)

    def __init__(self, **params: Any) -> None:
        cls = type(self)
        declared = cls.__pydantic_fields__
        split = False
        for key in params:
            if key not in declared:
                split = True
                break
        if not split:
            self.__pydantic_validator__.validate_python(params, self_instance=self)
            return
        fields: dict[str, Any] = {}
        private: dict[str, Any] = {}
        data: dict[str, Any] = {}
        private_names = cls.__private_attributes__
        for key, value in params.items():
            if key in declared:
                fields[key] = value
            elif key in private_names:
                private[key] = value
            else:
                data[key] = value
        self.__pydantic_validator__.validate_python(fields, self_instance=self)
        for key, value in private.items():
            setattr(self, key, value)
        if data:
            self._data.update(data)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        install_fast_private_init(cls)

    @model_serializer(mode="wrap")
    def _dump_with_data(self, handler: Any) -> Any:
        dumped = handler(self)
        data = self._read_data()
        if isinstance(dumped, dict) and data:
            dumped["_data"] = dict(data)
        return dumped

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(obj, dict) and "_data" in obj:
            obj = dict(obj)
            data = obj.pop("_data") or {}
            instance = super().model_validate(obj, *args, **kwargs)
            instance._data.update(data)
            return instance
        return super().model_validate(obj, *args, **kwargs)


install_fast_private_init(DictLikeModel)


class Event(DictLikeModel):
    """Base class of every event."""


EventType = type[Event]


class StartEvent(Event):
    """Begins a run; ``workflow.run(**kwargs)`` turns the kwargs into its fields."""


class StopEvent(Event):
    """Ends a run.  ``result`` is what ``await handler`` returns for a plain ``StopEvent``."""

    _result: Any = PrivateAttr(default=None)

    def __init__(self, result: Any = None, **params: Any) -> None:
        if "result" in type(self).__pydantic_fields__:
            # A subclass that declares ``result`` as a field gets it as a field.
            params["result"] = result
        super().__init__(**params)
        # Straight into pydantic's private storage: its attribute hooks cost more than the
        # rest of building a StopEvent.
        self.__pydantic_private__["_result"] = result  # type: ignore[index]

    def _get_result(self) -> Any:
        return self.__pydantic_private__["_result"]  # type: ignore[index]

    @property
    def result(self) -> Any:
        return self._get_result()

    @model_serializer(mode="wrap")
    def _dump_with_result(self, handler: Any) -> Any:
        dumped = handler(self)
        if (
            isinstance(dumped, dict)
            and self._result is not None
            and "result" not in type(self).__pydantic_fields__
        ):
            dumped["result"] = self._result
        return dumped

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(obj, dict) and "result" in obj and "result" not in cls.model_fields:
            obj = dict(obj)
            result = obj.pop("result")
            instance = super().model_validate(obj, *args, **kwargs)
            instance._result = result
            return instance
        return super().model_validate(obj, *args, **kwargs)

    def __str__(self) -> str:
        return str(self._result)

    def __repr_args__(self) -> Any:
        # Dynamic fields first, then declared ones, then the result (the peer's order).
        yield from self._data.items()
        yield from super().__repr_args__()
        if self._result is not None and "result" not in type(self).__pydantic_fields__:
            yield "result", self._result


class InputRequiredEvent(Event):
    """Asks a human for input; published to the stream when a step returns it."""


class HumanResponseEvent(Event):
    """Carries a human's answer back into the run."""


class InternalDispatchEvent(Event):
    """Marker base of the engine's own notices."""


class StepState(str, Enum):
    PREPARING = "preparing"
    RUNNING = "running"
    NOT_RUNNING = "not_running"


class StepStateChanged(InternalDispatchEvent):
    name: str = Field(description="Name of the step.")
    step_state: StepState = Field(description="The step's new state.")
    worker_id: str = Field(description="Worker slot, or '<enqueued>' while waiting for one.")
    input_event_name: str = Field(description="The input event's type.")
    output_event_name: str | None = Field(default=None, description="The output event's type.")


class UnhandledEvent(InternalDispatchEvent):
    event_type: str = Field(description="Class name of the unhandled event.")
    qualified_name: str = Field(description="Fully qualified name of the event type.")
    step_name: str | None = Field(
        default=None, description="Target step name if the event was addressed to a step."
    )
    idle: bool = Field(description="Whether the workflow is idle after processing.")


class WorkflowIdleEvent(InternalDispatchEvent):
    """The run is running and no step has queued or active work."""


class UnreconstructedException(Exception):
    """Stands in for an exception whose class could not be rebuilt from a snapshot."""

    def __init__(self, *args: Any, original_type: str | None = None) -> None:
        super().__init__(*args)
        self.original_type = original_type

    def __repr__(self) -> str:
        message = ", ".join(repr(a) for a in self.args)
        return f"UnreconstructedException(original_type={self.original_type!r}, {message})"


def serialize_exception(exc: BaseException) -> dict[str, str]:
    if isinstance(exc, UnreconstructedException) and exc.original_type:
        name = exc.original_type
    else:
        name = qualified_name(type(exc))
    return {"exception_type": name, "exception_message": str(exc)}


def deserialize_exception(value: Any) -> BaseException:
    if isinstance(value, BaseException):
        return value
    if not isinstance(value, dict) or "exception_type" not in value:
        raise ValueError(f"Expected an exception or its serialized form, got {value!r}")
    name, message = value["exception_type"], value.get("exception_message", "")
    try:
        # Built-in exceptions always; others as the decoding serializer resolves classes, so
        # an import allow-list keeps types it does not name unreconstructed (original type kept).
        if str(name).startswith("builtins."):
            cls = import_qualified_name(name)
        else:
            cls = resolve_serialized_class(name)
        if isinstance(cls, type) and issubclass(cls, BaseException):
            return cls(message)
    except Exception:
        pass
    return UnreconstructedException(message, original_type=name)


def serialize_event(event: Event) -> dict[str, Any]:
    return {
        "__is_pydantic": True,
        "value": event.model_dump(mode="json"),
        "qualified_name": qualified_name(type(event)),
    }


def deserialize_event(value: Any) -> Event:
    if isinstance(value, Event):
        return value
    if isinstance(value, dict) and value.get("__is_pydantic"):
        cls = resolve_serialized_class(value["qualified_name"])
        event: Event = cls.model_validate(value["value"])
        return event
    raise ValueError(f"Expected an Event or its serialized form, got {type(value).__name__}")


def _serialize_event_type(cls: type[Event]) -> str:
    return qualified_name(cls)


def _deserialize_event_type(value: Any) -> type[Event]:
    if isinstance(value, type):
        return value
    cls = resolve_serialized_class(str(value))
    if not (isinstance(cls, type) and issubclass(cls, Event)):
        raise ValueError(f"{value!r} does not name an Event subclass")
    return cls


SerializableEvent = Annotated[
    Event, PlainSerializer(serialize_event), PlainValidator(deserialize_event)
]
SerializableOptionalEvent = Annotated[
    Event | None,
    PlainSerializer(lambda e: None if e is None else serialize_event(e)),
    PlainValidator(lambda v: None if v is None else deserialize_event(v)),
]
SerializableException = Annotated[
    BaseException, PlainSerializer(serialize_exception), PlainValidator(deserialize_exception)
]
SerializableOptionalException = Annotated[
    BaseException | None,
    PlainSerializer(lambda e: None if e is None else serialize_exception(e)),
    PlainValidator(lambda v: None if v is None else deserialize_exception(v)),
]
SerializableEventType = Annotated[
    type[Event],
    PlainSerializer(_serialize_event_type),
    PlainValidator(_deserialize_event_type),
]


class WorkflowTimedOutEvent(StopEvent):
    timeout: float
    active_steps: list[str]


class WorkflowCancelledEvent(StopEvent):
    """Published when a run is cancelled, just before ``WorkflowCancelledByUser`` is raised."""


class WorkflowFailedEvent(StopEvent):
    step_name: str
    exception: SerializableException
    attempts: int | None = None
    elapsed_seconds: float | None = None


class IdleReleasedEvent(StopEvent):
    """Sentinel result of a run released from memory while idle; never published."""


class StepFailedEvent(Event):
    """Delivered to ``@catch_error`` handlers once a step has exhausted its retries."""

    step_name: str
    input_event: SerializableEvent
    exception: SerializableException
    attempts: int
    elapsed_seconds: float
    failed_at: datetime


class StepAttemptFailed(InternalDispatchEvent):
    """reflow's own notice (the peer has none): one attempt of a step raised.

    Published for every failed attempt, retried or not, so a live view and a durable run's
    stored stream show what failed, which attempt it was and when the next one is due.
    """

    step_name: str
    attempt: int = Field(description="Which attempt failed: 1 for the first.")
    exception_type: str
    exception_message: str
    retry_in: float | None = Field(
        default=None, description="Seconds until the next attempt; None: no retry follows."
    )
    traceback: str | None = Field(
        default=None,
        description="The attempt's traceback: each frame's file, line and function (no source).",
    )


class CollectionReleaseEvent(InternalDispatchEvent):
    """Releases a ``list[E]`` fan-in batch to the step that collects it."""

    events: list[SerializableEvent] = Field(default_factory=list)
    stream_id: str = ""
    binding_id: str = ""


__all__ = [
    "CollectionReleaseEvent",
    "DictLikeModel",
    "Event",
    "EventType",
    "HumanResponseEvent",
    "IdleReleasedEvent",
    "InputRequiredEvent",
    "InternalDispatchEvent",
    "SerializableEvent",
    "SerializableEventType",
    "SerializableException",
    "SerializableOptionalEvent",
    "SerializableOptionalException",
    "StartEvent",
    "StepAttemptFailed",
    "StepFailedEvent",
    "StepState",
    "StepStateChanged",
    "StopEvent",
    "UnhandledEvent",
    "UnreconstructedException",
    "WorkflowCancelledEvent",
    "WorkflowFailedEvent",
    "WorkflowIdleEvent",
    "WorkflowTimedOutEvent",
    "construct_trusted",
]

# Every serializer resolves the framework's own event classes, whatever its allowed types.
register_framework_types(
    *(
        obj
        for obj in list(globals().values())
        if isinstance(obj, type) and issubclass(obj, BaseModel) and obj.__module__ == __name__
    )
)
