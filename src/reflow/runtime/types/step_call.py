"""The contract between the control loop and a workflow's step functions.

The runtime never imports the client side (``Workflow``, ``Context``): a workflow hands the
runtime one ``StepWorkerFunction`` per step, and the loop calls it with a ``StepCall``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from reflow.engine import RetryState, RunConfig
from reflow.events import Event


class RunServices(Protocol):
    """What a running step may ask of its run (the internal face of ``Context`` uses it)."""

    @property
    def run_id(self) -> str: ...

    def now(self) -> float: ...

    def send_event(
        self,
        event: Event,
        step: str | None = None,
        *,
        delay: float | None = None,
        recovery_counts: Mapping[str, int] | None = None,
    ) -> None: ...

    def publish(self, event: Event) -> None: ...

    def collect(
        self, step_name: str, buffer_id: str, event: Event, expected: Sequence[type[Event]]
    ) -> list[Event] | None: ...

    def wait_for(
        self,
        call: StepCall,
        *,
        waiter_id: str,
        slot: str,
        event_type: type[Event],
        requirements: dict[str, Any],
        waiter_event: Event | None,
        timeout: float | None,
    ) -> Awaitable[Event | None]:
        """Park the attempt until an event for ``slot`` arrives; ``None`` means it timed out.

        An awaitable rather than a coroutine, so a waiting step holds no frame of the run's.
        A slot already in ``call.resolved`` (an attempt resumed after a retry) answers at once;
        the caller records the outcome in ``call.resolved``.
        """
        ...

    def get_state_store(self) -> Any: ...

    def is_replaying(self) -> bool: ...


# The ``resolved`` of every attempt that has not waited yet; never written to (see
# ``StepCall.resolved``).
NO_OUTCOMES: Mapping[str, Event | None] = MappingProxyType({})


@dataclass(slots=True)
class StepCall:
    """One attempt of one step, as the control loop hands it to the step function."""

    run: RunServices
    step_name: str
    worker_id: int
    attempt_id: int
    event: Event
    retry: RetryState
    recovery_counts: dict[str, int] = field(default_factory=dict)
    # Outcomes of the attempt's wait_for_event calls so far: replaced, never written to, so
    # calls can share ``NO_OUTCOMES``.
    resolved: Mapping[str, Event | None] = field(default_factory=lambda: NO_OUTCOMES)
    join: tuple[Event, ...] | None = None

    @property
    def idempotency_key(self) -> str:
        """Stable across crash-and-replay: ``{run_id}:{step}:{attempt_id}``."""
        return attempt_key(self.run.run_id, self.step_name, self.attempt_id)


def attempt_key(run_id: str, step_name: str, attempt_id: int) -> str:
    """The idempotency key of one attempt of a step, ``StepCall.idempotency_key``'s value."""
    return f"{run_id}:{step_name}:{attempt_id}"


StepWorkerFunction = Callable[[StepCall], Coroutine[Any, Any, "Event | list[Event] | None"]]


class RunnableWorkflow(Protocol):
    """What a runtime needs from a workflow (``reflow.Workflow`` satisfies it)."""

    @property
    def workflow_name(self) -> str: ...

    def _run_config(self, run_id: str) -> RunConfig: ...

    def _step_workers(self) -> Mapping[str, StepWorkerFunction]: ...
