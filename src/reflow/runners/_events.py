"""Events the runners publish to a run's stream."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from reflow.events import Event


class OutputLineEvent(Event):
    """One line a command wrote, as it was produced (secrets masked).

    ``number`` counts lines across stdout and stderr together, from 1, in arrival order; a
    last line without a newline is included.
    """

    stream: Literal["stdout", "stderr"]
    number: int
    line: str
    time: float = Field(description="when reflow read the line (seconds since the epoch)")
    step: str | None = None
    command: str = ""


class StepLogEvent(Event):
    """A structured log record of a step (``StepContext.log``), secrets masked."""

    level: str
    message: str
    time: float
    run_id: str | None = None
    step: str | None = None
    attempt: int | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
