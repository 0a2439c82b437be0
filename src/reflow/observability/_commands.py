"""``start_command_span``: what the runners call around every process they start.

Import-light on purpose (no OpenTelemetry at import time): ``reflow.runners`` imports it, and
a process that never loaded OpenTelemetry cannot have a span to continue, so then the call is
one dictionary lookup and returns None.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reflow.observability._command_span import CommandSpan


def start_command_span(command: str, kind: str = "shell") -> CommandSpan | None:
    """Open a span for one command as a child of the current span (a step attempt's).

    None when nothing is being traced: OpenTelemetry not loaded, or no traced run and no
    current span.  ``command`` must already be masked.  The caller puts the returned span's
    ``traceparent`` into the command's environment as ``TRACEPARENT`` and calls ``finish``.
    """
    if "opentelemetry.trace" not in sys.modules:
        return None
    from reflow.observability._command_span import open_command_span

    return open_command_span(command, kind)
