"""Correlated logs: every record logged inside a run carries its run, step, attempt and trace.

The fields come from a context variable the run listener sets in the run's context and in each
attempt's context, so they follow the code that logs, not a global "current run".  Two ways to
get them onto records: ``RunContextFilter`` on a handler, or ``enable_log_context()``, which
installs a record factory so every record (and so every handler and formatter) has them.
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace

from reflow.observability._masking import active_masker


@dataclass(frozen=True, slots=True)
class LogFields:
    run_id: str
    workflow: str
    step: str | None = None
    attempt: int | None = None


current_log_fields: contextvars.ContextVar[LogFields | None] = contextvars.ContextVar(
    "reflow_log_fields", default=None
)

FIELDS = (
    "reflow_run_id",
    "reflow_workflow",
    "reflow_step",
    "reflow_attempt",
    "otelTraceID",
    "otelSpanID",
)


def annotate(record: logging.LogRecord) -> logging.LogRecord:
    """Set the run and trace fields on ``record`` (None outside a run or a span)."""
    fields = current_log_fields.get()
    record.reflow_run_id = fields.run_id if fields else None
    record.reflow_workflow = fields.workflow if fields else None
    record.reflow_step = fields.step if fields else None
    record.reflow_attempt = fields.attempt if fields else None
    # The same names OpenTelemetry's logging instrumentation uses, for formats written for it.
    span = trace.get_current_span().get_span_context()
    record.otelTraceID = format(span.trace_id, "032x") if span.is_valid else "0"
    record.otelSpanID = format(span.span_id, "016x") if span.is_valid else "0"
    masker = active_masker()
    if masker is not None:
        _mask_record(record, masker)
    return record


def _mask_record(record: logging.LogRecord, masker: Any) -> None:
    """Hide secret values in the message and the exception text (formatted once, here)."""
    message = record.getMessage()
    masked = masker.mask(message)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = masker.mask(record.exc_text)


class RunContextFilter(logging.Filter):
    """A handler filter that adds the run and trace fields and lets every record through."""

    def filter(self, record: logging.LogRecord) -> bool:
        annotate(record)
        return True


_previous_factory: Callable[..., logging.LogRecord] | None = None


def enable_log_context() -> None:
    """Add the run and trace fields to every log record made from now on (idempotent)."""
    global _previous_factory
    if _previous_factory is not None:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return annotate(previous(*args, **kwargs))

    _previous_factory = previous
    logging.setLogRecordFactory(factory)


def disable_log_context() -> None:
    global _previous_factory
    if _previous_factory is not None:
        logging.setLogRecordFactory(_previous_factory)
        _previous_factory = None


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, run fields, trace ids.

    Fields that are None are left out; an exception is rendered under ``exception``.
    """

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "reflow_run_id"):
            annotate(record)
        fields = vars(record)
        entry: dict[str, Any] = {
            "time": self.formatTime(record, self.datefmt),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "run_id": fields["reflow_run_id"],
            "workflow": fields["reflow_workflow"],
            "step": fields["reflow_step"],
            "attempt": fields["reflow_attempt"],
        }
        if fields["otelTraceID"] != "0":
            entry["trace_id"] = fields["otelTraceID"]
            entry["span_id"] = fields["otelSpanID"]
        if record.exc_text:  # annotate() masked it
            entry["exception"] = record.exc_text
        elif record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps({k: v for k, v in entry.items() if v is not None}, default=str)
