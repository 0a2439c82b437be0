"""reflow: an event-driven, async-first, step-based workflow engine."""

from reflow._version import __version__
from reflow.context import Context
from reflow.decorators import catch_error, step
from reflow.workflow import Workflow

__all__ = ["Context", "Workflow", "__version__", "catch_error", "step"]
