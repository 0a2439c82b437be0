"""Short, bounded text for an event, the way the peer's instrument tags show one.

``Name(field='value', items=[3 items])``: long strings are cut at 50 characters, sequences
and mappings are counted rather than listed, so a summary stays small whatever the event
holds.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from reflow.events import StopEvent

TEXT_LIMIT = 50
REPR_LIMIT = 100


def _value(value: Any) -> str:
    if isinstance(value, str):
        return repr(value if len(value) <= TEXT_LIMIT else value[:TEXT_LIMIT] + "...")
    if isinstance(value, (list, tuple, set, frozenset)):
        return f"[{len(value)} items]"
    text = repr(value)
    if isinstance(value, dict) and len(text) > REPR_LIMIT:
        return f"{{{len(value)} keys}}"
    return text if len(text) <= REPR_LIMIT else text[:REPR_LIMIT] + "..."


def summarize_event(event: Any) -> str:
    if not isinstance(event, BaseModel):
        return _value(event)
    fields: dict[str, Any] = {name: getattr(event, name) for name in type(event).model_fields}
    extra = getattr(event, "_data", None)  # undeclared keyword fields
    if isinstance(extra, dict):
        fields.update(extra)
    if isinstance(event, StopEvent) and "result" not in fields:
        fields["result"] = event.result
    inner = ", ".join(f"{name}={_value(value)}" for name, value in fields.items())
    return f"{type(event).__name__}({inner})"
