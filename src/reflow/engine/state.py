"""Run state: everything the reducer knows about one run, as plain data.

``RunConfig`` is static (derived from the workflow's steps and never serialized); the rest
changes tick by tick.  The reducer owns the state it is given: ``reduce`` updates it in place
and returns it, which keeps a tick O(1) even with 100,000 queued events.  A caller that wants
to keep an earlier state takes a ``copy()`` (or a JSON snapshot) first.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from reflow.engine._work_queue import WorkQueue
from reflow.events import Event
from reflow.retry_policy import RetryPolicy


@dataclass(frozen=True, slots=True)
class StepSpec:
    """What the reducer needs to know about one step."""

    name: str
    accepted: tuple[type[Event], ...]
    num_workers: int = 4
    accept_subclasses: bool = False
    retry_policy: RetryPolicy | None = None
    timeout: float | None = None
    is_catch_error: bool = False
    max_recoveries: int = 1
    # list[E] fan-out / fan-in: a producer's streams feed these collector steps ...
    bound_collectors: tuple[str, ...] = ()
    # ... and a collector keeps the events of these types from a stream, up to ``take``.
    collects: tuple[type[Event], ...] = ()
    take: int | None = None
    # A multi-slot join (several event parameters): one event of each type per invocation.
    slots: tuple[type[Event], ...] = ()


@dataclass(slots=True)
class RunConfig:
    """Static description of a run: its steps, timeout and catch_error wiring."""

    run_id: str
    steps: Mapping[str, StepSpec]
    timeout: float | None = None
    handler_for_step: Mapping[str, str] = field(default_factory=dict)
    _routes: dict[type[Event], tuple[str, ...]] = field(default_factory=dict, repr=False)

    def routes_for(self, event_type: type[Event]) -> tuple[str, ...]:
        """Names of the steps that accept ``event_type`` (cached: routing is on the hot path)."""
        found = self._routes.get(event_type)
        if found is None:
            found = tuple(
                spec.name
                for spec in self.steps.values()
                if event_type in spec.accepted
                or (spec.accept_subclasses and issubclass(event_type, spec.accepted))
            )
            self._routes[event_type] = found
        return found


@dataclass(slots=True)
class Work:
    """An event waiting for (or being handled by) a worker of one step."""

    event: Event
    attempts: int = 0
    first_attempt_at: float | None = None
    last_exception: BaseException | None = None
    last_failed_at: float | None = None
    recovery_counts: dict[str, int] = field(default_factory=dict)
    # The list[E] stream whose member lineage this work belongs to, and which member of
    # that stream's list started the lineage (multi-slot joins pair within one member).
    stream: int | None = None
    member: int | None = None
    # Set when this work resumes an attempt that was suspended in wait_for_event.
    attempt_id: int | None = None
    resolved: dict[str, Event | None] = field(default_factory=dict)
    resume_waiter: str | None = None
    # The events of a multi-slot join, in parameter order (``event`` is the last to arrive).
    join: tuple[Event, ...] | None = None


@dataclass(slots=True)
class Attempt:
    """A worker slot in use."""

    attempt_id: int
    worker_id: int
    work: Work
    started_at: float
    deadline_timer: int | None = None


@dataclass(slots=True)
class StepRun:
    """Per-step queues, active attempts and collect_events buffers."""

    queue: WorkQueue[Work] = field(default_factory=WorkQueue)
    active: dict[int, Attempt] = field(default_factory=dict)  # attempt_id -> Attempt
    collected: dict[str, CollectBuffer] = field(default_factory=dict)
    # Multi-slot join arrivals waiting for partners, per stream (None: top level), per slot.
    joins: dict[tuple[int | None, int | None], list[list[Event]]] = field(default_factory=dict)

    def free_worker_id(self) -> int:
        if not self.active:
            return 0
        used = {a.worker_id for a in self.active.values()}
        worker_id = 0
        while worker_id in used:
            worker_id += 1
        return worker_id


@dataclass(slots=True)
class CollectBuffer:
    """Events buffered by ``ctx.collect_events`` for one (step, buffer_id), grouped by type.

    ``need`` is the multiset of the last ``expected`` list.  ``expected_ref`` keeps that list
    (or a copy) so the same list passed again is recognised by identity, O(1), and an equal
    new one by a C-speed comparison, instead of being re-counted in Python.  A list mutated in
    place between calls is not noticed.
    """

    by_type: dict[type[Event], list[Event]] = field(default_factory=dict)
    need: dict[type[Event], int] = field(default_factory=dict)
    missing: int = 0
    expected_ref: object = None
    expected_len: int = -1

    def events(self) -> list[Event]:
        return [event for events in self.by_type.values() for event in events]


class StepRuns(dict[str, StepRun]):
    """Per-step run state, made on first use: an idle step costs nothing.

    A twenty-step workflow would otherwise carry twenty empty queues in every run.
    """

    def __missing__(self, name: str) -> StepRun:
        run = self[name] = StepRun()
        return run


@dataclass(slots=True)
class Waiter:
    """An attempt suspended in ``wait_for_event``."""

    waiter_id: str
    slot: str
    step_name: str
    attempt_id: int
    work: Work
    event_type: type[Event]
    requirements: dict[str, Any]
    timer_id: int | None = None


@dataclass(frozen=True, slots=True)
class TimerAddEvent:
    """Route ``work.event`` (targeted at ``step_name`` if set) when the timer fires."""

    work: Work
    step_name: str | None


@dataclass(frozen=True, slots=True)
class TimerRunTimeout:
    timeout: float


@dataclass(frozen=True, slots=True)
class TimerWaiterTimeout:
    waiter_key: str


@dataclass(frozen=True, slots=True)
class TimerStepDeadline:
    step_name: str
    attempt_id: int
    timeout: float


TimerAction = TimerAddEvent | TimerRunTimeout | TimerWaiterTimeout | TimerStepDeadline


@dataclass(slots=True)
class Timer:
    due: float
    action: TimerAction


@dataclass(slots=True)
class Stream:
    """The members of one returned list, followed until each lineage ends.

    ``live`` counts the stream's work in queues, attempts, waiters and retry timers; when it
    reaches zero every collector still waiting gets what it collected.
    """

    collectors: dict[str, list[Event]]
    parent: int | None = None
    # The member lineage of the parent stream the list was returned in.
    parent_member: int | None = None
    live: int = 0
    released: set[str] = field(default_factory=set)


RunStatus = Literal["pending", "running", "completed", "failed", "cancelled", "timed_out"]


@dataclass(slots=True)
class RunState:
    config: RunConfig
    status: RunStatus = "pending"
    is_running: bool = False
    started_at: float | None = None
    now: float = 0.0
    next_attempt_id: int = 1
    next_timer_id: int = 1
    steps: StepRuns = field(default_factory=StepRuns)
    waiters: dict[str, Waiter] = field(default_factory=dict)
    timers: dict[int, Timer] = field(default_factory=dict)
    streams: dict[int, Stream] = field(default_factory=dict)
    next_stream_id: int = 1
    # Work queued or running across all steps (waiters excluded); kept by the reducer so
    # the idle check after every tick is O(1).
    pending_work: int = 0
    idle_published: bool = False
    idle_check_pending: bool = False
    run_timer: int | None = None

    @property
    def finished(self) -> bool:
        return self.status not in ("pending", "running")

    @classmethod
    def initial(cls, config: RunConfig) -> RunState:
        return cls(config=config)

    def copy(self) -> RunState:
        """A deep copy of the dynamic state; the static config is shared."""
        memo: dict[int, Any] = {id(self.config): self.config}
        return copy.deepcopy(self, memo)

    def is_quiescent(self) -> bool:
        return self.pending_work == 0

    def recount(self) -> None:
        """Recompute ``pending_work`` after the queues were filled from outside the reducer."""
        self.pending_work = sum(len(run.queue) + len(run.active) for run in self.steps.values())

    def step_runs(self) -> list[tuple[str, StepRun]]:
        """The steps that have run state, in the workflow's step order.

        Step state is made on first use, so dict order depends on access order; anything
        whose output order matters iterates in config order instead.
        """
        steps = self.steps
        return [(name, steps[name]) for name in self.config.steps if name in steps]

    def active_step_names(self) -> list[str]:
        steps = self.steps
        return [name for name in self.config.steps if name in steps and steps[name].active]


def waiter_key(step_name: str, attempt_id: int, slot: str) -> str:
    """Waiters are keyed by attempt, so equal ``waiter_id``s in fan-out branches never collide."""
    return f"{step_name}:{attempt_id}:{slot}"
