"""Span helpers the run listener and the distributed step spans share: clock times to span
timestamps, and marking a span failed with its (masked) exception."""

from __future__ import annotations

import traceback
from typing import Any

from opentelemetry.trace import Span, Status, StatusCode

from reflow.observability import _attributes as attr
from reflow.observability._masking import active_masker


def ns(at: float) -> int:
    return int(at * 1e9)


def type_name(value: Any) -> str:
    return type(value).__qualname__


def fail_span(span: Span, error: BaseException, at: float) -> None:
    message = str(error)
    masked: dict[str, Any] | None = None
    masker = active_masker()
    if masker is not None:  # a step's error may quote a secret: the event must not
        trace_text = "".join(traceback.format_exception(error))
        masker_text = masker.mask
        message = masker_text(message)
        masked = {"exception.message": message, "exception.stacktrace": masker_text(trace_text)}
    span.record_exception(error, attributes=masked, timestamp=ns(at))
    span.set_attribute(attr.ERROR_TYPE, type_name(error))
    span.set_status(Status(StatusCode.ERROR, message or type_name(error)))
