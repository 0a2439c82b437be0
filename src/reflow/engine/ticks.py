"""Ticks: the only inputs of the reducer.

Every tick records ``at``, the time (seconds since the epoch, as read by the run's adapter) at
which it happened.  The reducer never reads a clock: anything time-dependent (timeouts, retry
delays, elapsed times) is computed from ``at``, so folding a journal of ticks over the initial
state rebuilds the run exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from reflow.events import Event, StartEvent


@dataclass(slots=True)
class TickStartRun:
    """Start (or resume, when ``start_event`` is None) the run."""

    at: float
    start_event: StartEvent | None = None


@dataclass(slots=True)
class TickAddEvent:
    """An event enters the run: from a step's return value, ``send_event`` or the outside.

    ``step_name`` targets one step.  ``delay`` schedules the event instead of routing it now.
    The retry bookkeeping fields travel with an event that is re-queued after a failure.
    """

    at: float
    event: Event
    step_name: str | None = None
    delay: float | None = None
    attempts: int = 0
    first_attempt_at: float | None = None
    last_exception: BaseException | None = None
    last_failed_at: float | None = None
    recovery_counts: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class TickStepReturned:
    """An attempt of a step finished and returned ``result`` (an event, or None)."""

    at: float
    step_name: str
    attempt_id: int
    result: Event | list[Event] | None


@dataclass(slots=True)
class TickStepFailed:
    """An attempt of a step raised ``exception``."""

    at: float
    step_name: str
    attempt_id: int
    exception: BaseException


@dataclass(slots=True)
class TickStepWaiting:
    """An attempt suspended in ``ctx.wait_for_event``; its worker slot is given back."""

    at: float
    step_name: str
    attempt_id: int
    waiter_id: str
    slot: str  # unique per call within the attempt: ``waiter_id#n``
    event_type: type[Event]
    requirements: dict[str, Any]
    waiter_event: Event | None
    timeout: float | None


@dataclass(slots=True)
class TickCollect:
    """``ctx.collect_events``: buffer ``event`` and release the buffer once ``expected`` is met."""

    at: float
    step_name: str
    buffer_id: str
    event: Event
    expected: Sequence[type[Event]]


@dataclass(slots=True)
class TickPublishEvent:
    """``ctx.write_event_to_stream``: publish ``event`` to observers of the run."""

    at: float
    event: Event


@dataclass(slots=True)
class TickCancelRun:
    """Cancel the run (``handler.cancel_run()``)."""

    at: float


@dataclass(slots=True)
class TickTimerFired:
    """A timer the reducer scheduled earlier (see ``CommandSchedule``) is due."""

    at: float
    timer_id: int


@dataclass(slots=True)
class TickIdleCheck:
    """Re-check quiescence one loop iteration after the run looked idle."""

    at: float


WorkflowTick = (
    TickStartRun
    | TickAddEvent
    | TickStepReturned
    | TickStepFailed
    | TickStepWaiting
    | TickCollect
    | TickPublishEvent
    | TickCancelRun
    | TickTimerFired
    | TickIdleCheck
)
