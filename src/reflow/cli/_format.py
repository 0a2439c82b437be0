"""Turning events and results into short text and into JSON-ready values."""

from __future__ import annotations

import re
import reprlib
from typing import Any

from pydantic_core import to_jsonable_python

from reflow.events import Event, InputRequiredEvent, StopEvent

_CLASS_REPR = re.compile(r"^<class '([^']+)'>$")
_PROMPT_FIELDS = ("prefix", "prompt", "question", "message")
_NO_OUTPUT = "NoneType"

_short_repr = reprlib.Repr()
_short_repr.maxstring = 60
_short_repr.maxother = 60
_short_repr.maxlist = 8
_short_repr.maxdict = 8


def short_type_name(raw: str | None) -> str | None:
    """``"<class 'pkg.mod.Done'>"`` or ``"pkg.mod.Done"`` -> ``"Done"``; ``None`` stays ``None``.

    ``StepStateChanged`` names events either way depending on the step state.
    """
    if raw is None:
        return None
    match = _CLASS_REPR.match(raw)
    qualified = match.group(1) if match else raw
    return qualified.rsplit(".", 1)[-1]


def is_no_output(raw: str | None) -> bool:
    """Whether a step's recorded output type says it returned ``None``."""
    return short_type_name(raw) == _NO_OUTPUT


def event_fields(event: Event) -> dict[str, Any]:
    """Declared fields first, then the dynamic ones (``Event(foo=1)``)."""
    fields = {name: getattr(event, name) for name in type(event).model_fields}
    fields.update(event.items())
    if isinstance(event, StopEvent) and event.result is not None:
        fields.setdefault("result", event.result)
    return fields


def describe_event(event: Event, width: int = 160) -> str:
    """``Progress source='a' done=1 total=5``, cut to ``width`` characters."""
    parts = [type(event).__name__]
    parts.extend(f"{k}={_short_repr.repr(v)}" for k, v in event_fields(event).items())
    text = " ".join(parts)
    return text if len(text) <= width else text[: width - 1] + "…"


def prompt_text(event: InputRequiredEvent) -> str:
    """The question an ``InputRequiredEvent`` asks: its ``prefix`` (or ``prompt``, ...) field."""
    fields = event_fields(event)
    for name in _PROMPT_FIELDS:
        value = fields.get(name)
        if isinstance(value, str) and value.strip():
            return value if value.endswith((" ", "\n")) else value + " "
    others = {k: v for k, v in fields.items() if v is not None}
    if others:
        return f"{describe_event(event)}\n> "
    return "Input required> "


def to_jsonable(value: Any) -> Any:
    """A JSON-ready copy of ``value``; anything JSON cannot hold becomes its ``repr``."""
    return to_jsonable_python(value, fallback=repr)
