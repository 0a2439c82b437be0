"""The span of one command a step ran (``run_shell``, ``run_plugin``), under its attempt."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from reflow._version import __version__
from reflow.observability import _attributes as attr
from reflow.observability._logs import current_log_fields
from reflow.observability._masking import mask
from reflow.observability._propagation import current_traceparent, traceparent_of

command_tracer: ContextVar[Any] = ContextVar("reflow_command_tracer", default=None)
"""The tracer of the run listener that opened the current attempt's span (set per attempt)."""

# A command that ran and did not succeed; "cancelled" is the caller's choice, not an error.
_ERROR_STATUSES = frozenset({"failed", "timed_out"})


class CommandSpan:
    """An open command span and the ``traceparent`` the command gets."""

    __slots__ = ("span", "traceparent")

    def __init__(self, span: Span, traceparent: str | None) -> None:
        self.span = span
        self.traceparent = traceparent

    def finish(
        self,
        status: str,
        exit_code: int | None,
        duration: float,
        error_code: str | None = None,
        message: str | None = None,
    ) -> None:
        span = self.span
        span.set_attribute(attr.COMMAND_STATUS, status)
        span.set_attribute(attr.COMMAND_DURATION, duration)
        if exit_code is not None:
            span.set_attribute(attr.COMMAND_EXIT_CODE, exit_code)
        if status in _ERROR_STATUSES:
            span.set_attribute(attr.ERROR_TYPE, error_code or status)
            span.set_status(Status(StatusCode.ERROR, mask(message or status)))
        span.end()

    def abandon(self, error: BaseException) -> None:
        """The caller's task ended before the command's result (cancelled, most often)."""
        self.span.set_attribute(attr.COMMAND_STATUS, "cancelled")
        self.span.set_attribute(attr.ERROR_TYPE, type(error).__qualname__)
        self.span.end()


def open_command_span(command: str, kind: str) -> CommandSpan | None:
    tracer = command_tracer.get()
    if tracer is None:
        # Outside a traced run: continue the application's own span, if it has one.
        if not trace.get_current_span().get_span_context().is_valid:
            return None
        tracer = trace.get_tracer(attr.INSTRUMENTATION_SCOPE, __version__)
    # Already masked by the command's own Secrets; this also hides any other Secrets' values.
    attributes: dict[str, str | int] = {attr.COMMAND: mask(command), attr.COMMAND_KIND: kind}
    fields = current_log_fields.get()
    if fields is not None:
        attributes[attr.RUN_ID] = fields.run_id
        if fields.step is not None:
            attributes[attr.STEP] = fields.step
        if fields.attempt is not None:
            attributes[attr.ATTEMPT] = fields.attempt
    span = tracer.start_span(f"{kind} command", attributes=attributes)
    # A no-op tracer gives an invalid span: the command still continues the current one.
    return CommandSpan(span, traceparent_of(span) or current_traceparent())
