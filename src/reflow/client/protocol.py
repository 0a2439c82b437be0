"""The wire types shared by ``reflow.server`` and ``reflow.client`` (no HTTP in here).

Field names and shapes are the ones llama-agents-client 0.4 reads and writes, so either side can
talk to the peer's counterpart.
"""

from __future__ import annotations

import builtins
import json
import sys
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from reflow.events import Event, StopEvent

Status = Literal["running", "completed", "failed", "cancelled"]
TERMINAL_STATUSES: tuple[Status, ...] = ("completed", "failed", "cancelled")


def is_status_completed(status: Status) -> bool:
    """Whether a handler in ``status`` has finished (completed, failed or cancelled)."""
    return status in TERMINAL_STATUSES


class EventValidationError(ValueError):
    """An event envelope that cannot become an event; the message says which part is wrong."""


def event_ancestors(event_type: type[Event]) -> list[str] | None:
    """Names of the Event subclasses ``event_type`` derives from, nearest first (None if none)."""
    names = [
        base.__name__
        for base in event_type.__mro__[1:]
        if isinstance(base, type) and issubclass(base, Event) and base is not Event
    ]
    return names or None


def _find_loaded(qualified_name: str) -> type[Event] | None:
    """An Event class by ``module.Qualname``, only from modules already imported.

    Importing a module named by a request would run arbitrary code at a client's choosing; a
    class the process has not loaded cannot be one of its workflows' events anyway.
    """
    module_name, _, attr_path = qualified_name.rpartition(".")
    while module_name:
        module = sys.modules.get(module_name)
        if module is not None:
            found: Any = module
            for part in attr_path.split("."):
                found = getattr(found, part, None)
            if isinstance(found, type) and issubclass(found, Event):
                return found
            return None
        module_name, _, head = module_name.rpartition(".")
        attr_path = f"{head}.{attr_path}"
    return None


class EventEnvelope(BaseModel):
    """What a client sends: an event's fields (``value``) and its class (``type``)."""

    model_config = ConfigDict(extra="ignore")

    value: dict[str, Any] = Field(default_factory=dict)
    type: str | None = None
    qualified_name: str | None = None

    @classmethod
    def parse(
        cls,
        data: Any,
        registry: list[builtins.type[Event]] | dict[str, builtins.type[Event]],
        explicit_event: builtins.type[Event] | None = None,
    ) -> Event:
        """An event from an envelope dict or its JSON text; ``EventValidationError`` if not."""
        if isinstance(data, (str, bytes)):
            try:
                data = json.loads(data)
            except ValueError as exc:
                raise EventValidationError(f"event is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise EventValidationError(
                f"event must be an object, got {builtins.type(data).__name__}"
            )
        data = dict(data)
        if "value" not in data and "data" in data:  # the legacy key
            data["value"] = data.pop("data")
        value = data.get("value", {})
        if not isinstance(value, dict):
            raise EventValidationError(
                f"event.value must be an object, got {builtins.type(value).__name__}"
            )
        name, qualified = data.get("type"), data.get("qualified_name")
        for key, item in (("type", name), ("qualified_name", qualified)):
            if item is not None and not isinstance(item, str):
                raise EventValidationError(f"event.{key} must be a string")
        by_name = registry if isinstance(registry, dict) else {e.__name__: e for e in registry}
        event_type = explicit_event
        if event_type is None and name is not None:
            event_type = by_name.get(name)
        if event_type is None and qualified is not None:
            event_type = _find_loaded(qualified)
        if event_type is None:
            if name is None and qualified is None:
                raise EventValidationError("event needs a 'type' (the event class name)")
            known = ", ".join(sorted(by_name)) or "none"
            raise EventValidationError(
                f"unknown event type {name or qualified!r}; this workflow accepts: {known}"
            )
        try:
            event: Event = event_type.model_validate(value)
        except Exception as exc:  # pydantic's ValidationError, or a model's own check
            raise EventValidationError(
                f"invalid fields for {event_type.__name__}: {_one_line(exc)}"
            ) from None
        return event


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:500]


class EventEnvelopeWithMetadata(BaseModel):
    """What the server sends: an event, its class name, its ancestors and its import path."""

    value: dict[str, Any] = Field(default_factory=dict)
    type: str
    types: list[str] | None = None
    qualified_name: str | None = None

    @classmethod
    def from_event(
        cls, event: Event, include_qualified_name: bool = True
    ) -> EventEnvelopeWithMetadata:
        event_type = builtins.type(event)
        return cls(
            value=event.model_dump(mode="json"),
            type=event_type.__name__,
            types=event_ancestors(event_type),
            qualified_name=(
                f"{event_type.__module__}.{event_type.__qualname__}"
                if include_qualified_name
                else None
            ),
        )

    def load_event(self, registry: list[builtins.type[Event]] | None = None) -> Event:
        """The event back, by class name in ``registry`` or else by its loaded import path."""
        return EventEnvelope.parse(self.model_dump(), list(registry or []))

    def is_terminal(self) -> bool:
        return self.type == "StopEvent" or "StopEvent" in (self.types or ())


class HandlerData(BaseModel):
    handler_id: str
    workflow_name: str
    run_id: str | None = None
    status: Status
    started_at: str
    updated_at: str | None = None
    completed_at: str | None = None
    error: str | None = None
    result: EventEnvelopeWithMetadata | None = None


class ArtifactData(BaseModel):
    """One file a step of a run published (``reflow.runners`` artifacts); reflow's addition."""

    step: str
    path: str
    size: int
    modified_at: float


class ArtifactsListResponse(BaseModel):
    artifacts: list[ArtifactData]


class HandlersListResponse(BaseModel):
    handlers: list[HandlerData]


class HealthResponse(BaseModel):
    status: Literal["healthy", "unhealthy"]


class WorkflowsListResponse(BaseModel):
    workflows: list[str]


class WorkflowSchemaResponse(BaseModel):
    start: dict[str, Any]
    stop: dict[str, Any]


class WorkflowEventsListResponse(BaseModel):
    events: list[dict[str, Any]]


class WorkflowGraphResponse(BaseModel):
    graph: dict[str, Any]


class SendEventResponse(BaseModel):
    status: Literal["sent"]


class CancelHandlerResponse(BaseModel):
    status: Literal["cancelled", "deleted"]


def result_value(result: EventEnvelopeWithMetadata | None) -> Any:
    """What ``/results`` answers: a plain StopEvent's bare result, else the value dict."""
    if result is None:
        return None
    if result.type == StopEvent.__name__ and set(result.value) <= {"result"}:
        return result.value.get("result")
    return result.value


__all__ = [
    "CancelHandlerResponse",
    "EventEnvelope",
    "EventEnvelopeWithMetadata",
    "EventValidationError",
    "HandlerData",
    "HandlersListResponse",
    "HealthResponse",
    "SendEventResponse",
    "Status",
    "WorkflowEventsListResponse",
    "WorkflowGraphResponse",
    "WorkflowSchemaResponse",
    "WorkflowsListResponse",
    "is_status_completed",
]
