"""Commands: what the reducer asks the imperative shell to do.

Commands are plain frozen data.  Executing them is the only way a run touches the world:
starting and cancelling step attempts, publishing events, arming timers and ending the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reflow.engine._notices import StepNotice, notice_event
from reflow.events import Event, StopEvent


@dataclass(slots=True)
class RetryState:
    """What ``ctx.retry_info()`` reports to an attempt."""

    retry_number: int = 0
    first_attempt_at: float | None = None
    last_exception: BaseException | None = None
    last_failed_at: float | None = None


@dataclass(slots=True)
class CommandRunStep:
    """Run one attempt of ``step_name`` on ``event`` in worker slot ``worker_id``.

    ``attempt_id`` is unique within the run and stable across replay: it is the attempt's
    idempotency key.  ``resolved`` holds the outcomes of ``wait_for_event`` calls the attempt
    already made (``None`` for a timeout); a resumed attempt whose coroutine still exists
    continues instead of starting over.
    """

    step_name: str
    worker_id: int
    attempt_id: int
    event: Event
    retry: RetryState
    recovery_counts: dict[str, int] = field(default_factory=dict)
    resolved: dict[str, Event | None] = field(default_factory=dict)
    resume_waiter: str | None = None
    join: tuple[Event, ...] | None = None


@dataclass(slots=True)
class CommandCancelStep:
    """Cancel the attempt ``attempt_id`` (it timed out, or the run ended)."""

    step_name: str
    attempt_id: int


class CommandPublish:
    """Publish ``event`` to the run's stream.

    The engine's own ``StepStateChanged`` notices (two or three per step) are carried as a
    ``StepNotice`` tuple and built as events only when something reads ``event``: a stream
    nobody reads (or reads later) then holds five plain values per notice instead of a
    pydantic model and its dicts, which the cyclic garbage collector would scan over and over
    in a long run (see ``docs/performance.md``).
    """

    __slots__ = ("_event", "notice")
    __match_args__ = ("event",)

    def __init__(self, event: Event | None = None, *, notice: StepNotice | None = None) -> None:
        if event is None and notice is None:
            raise TypeError("CommandPublish needs an event or a notice")
        self._event = event
        self.notice = notice

    @property
    def event(self) -> Event:
        event = self._event
        if event is None:
            assert self.notice is not None
            event = self._event = notice_event(self.notice)
        return event

    def unbuilt_notice(self) -> StepNotice | None:
        """The notice, while nothing has built its event yet (the shell may pass it on as is)."""
        return self.notice if self._event is None else None

    def __eq__(self, other: object) -> bool:
        if type(other) is not CommandPublish:
            return NotImplemented
        return self.event == other.event

    __hash__ = None  # type: ignore[assignment]  # as a dataclass with eq: unhashable

    def __repr__(self) -> str:
        return f"CommandPublish(event={self.event!r})"


@dataclass(slots=True)
class CommandSchedule:
    """Arm timer ``timer_id`` to fire at ``due`` (epoch seconds) as a ``TickTimerFired``."""

    timer_id: int
    due: float


@dataclass(slots=True)
class CommandCancelTimer:
    timer_id: int


@dataclass(slots=True)
class CommandIdleCheck:
    """Submit a ``TickIdleCheck`` after the current loop iteration."""


@dataclass(slots=True)
class CommandReply:
    """The answer to a tick that asks a question (``TickCollect``)."""

    value: Any


@dataclass(slots=True)
class CommandCompleteRun:
    result: StopEvent


@dataclass(slots=True)
class CommandFailRun:
    step_name: str | None
    exception: BaseException


@dataclass(slots=True)
class CommandHaltRun:
    """End the run with ``exception`` (timeout, cancellation)."""

    exception: BaseException


Command = (
    CommandRunStep
    | CommandCancelStep
    | CommandPublish
    | CommandSchedule
    | CommandCancelTimer
    | CommandIdleCheck
    | CommandReply
    | CommandCompleteRun
    | CommandFailRun
    | CommandHaltRun
)

TERMINAL_COMMANDS = (CommandCompleteRun, CommandFailRun, CommandHaltRun)
