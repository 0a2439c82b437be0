"""reflow: an event-driven, async-first, step-based workflow engine."""

from reflow._version import __version__
from reflow.context import Context
from reflow.decorators import catch_error, step
from reflow.observability._auto import watch_llama_index_instrumentation
from reflow.workflow import Workflow

# Runs report to llama-index-instrumentation's handlers, when there are any, as the peer's do.
watch_llama_index_instrumentation()

__all__ = ["Context", "Workflow", "__version__", "catch_error", "step"]
