"""The names reflow puts on spans and metric points.

OpenTelemetry's semantic conventions name what they cover (``error.type``, the ``exception.*``
event that ``record_exception`` writes); everything specific to workflows lives under
``reflow.*``.  docs/observability.md lists each one.
"""

from __future__ import annotations

INSTRUMENTATION_SCOPE = "reflow"

# OpenTelemetry semantic conventions
ERROR_TYPE = "error.type"
PROCESS_PID = "process.pid"

# reflow namespace
RUN_ID = "reflow.run.id"
WORKFLOW = "reflow.workflow.name"
RUN_OUTCOME = "reflow.run.outcome"
RUN_RESUMED = "reflow.run.resumed"
START_EVENT = "reflow.run.start_event"
STEP = "reflow.step.name"
ATTEMPT = "reflow.step.attempt"
ATTEMPT_ID = "reflow.step.attempt_id"
WORKER = "reflow.step.worker_id"
INPUT_EVENT = "reflow.step.input_event"
OUTPUT_EVENTS = "reflow.step.output_events"
STEP_OUTCOME = "reflow.step.outcome"
RETRY_DELAY = "reflow.retry.delay"
WAIT_EVENT = "reflow.wait.event_type"
WAITER_ID = "reflow.wait.waiter_id"
WAIT_OUTCOME = "reflow.wait.outcome"
COMMAND = "reflow.command.line"
COMMAND_KIND = "reflow.command.kind"
COMMAND_STATUS = "reflow.command.status"
COMMAND_EXIT_CODE = "reflow.command.exit_code"
COMMAND_DURATION = "reflow.command.duration"
DBOS_QUEUE = "reflow.dbos.queue"
DBOS_EXECUTOR = "reflow.dbos.executor_id"

# Span names: low-cardinality verbs; what they act on is in the attributes.
RUN_SPAN = "reflow.run"
STEP_SPAN = "reflow.step"
WAIT_SPAN = "reflow.wait"
RETRY_SPAN = "reflow.retry_delay"
