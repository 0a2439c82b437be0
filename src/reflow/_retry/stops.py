"""Stop conditions: when to give up retrying.

A stop condition is called as ``condition(attempts, elapsed_time, *, upcoming_sleep=0.0)`` and
returns true to stop.  ``attempts`` counts failures so far (1 on the first failure),
``elapsed_time`` is seconds since the first attempt, and ``upcoming_sleep`` is the delay the
wait strategy just proposed.

Public names are re-exported by :mod:`reflow.retry_policy`, which also gives them its module name.
"""

from __future__ import annotations

from numbers import Real
from typing import Protocol

from reflow._retry.waits import _to_seconds, time_unit_type

__all__ = [
    "StopCondition",
    "stop_after_attempt",
    "stop_after_delay",
    "stop_all",
    "stop_any",
    "stop_before_delay",
    "stop_never",
]


class StopCondition(Protocol):
    """Anything called as ``(attempts, elapsed_time, *, upcoming_sleep=0.0)`` returning a bool."""

    def __call__(
        self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0
    ) -> bool: ...


def _require_conditions(owner: str, stops: tuple[object, ...]) -> None:
    for index, stop in enumerate(stops):
        if not callable(stop):
            raise TypeError(
                f"{owner}() argument {index} must be a stop condition (a callable), got {stop!r}"
            )


class _StopConditionBase:
    """Adds ``|`` (stop if either says so) and ``&`` (stop only if both do)."""

    def __call__(self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        raise NotImplementedError

    def __or__(self, other: StopCondition) -> stop_any:
        if not callable(other):
            return NotImplemented
        return stop_any(self, other)

    def __ror__(self, other: StopCondition) -> stop_any:
        if not callable(other):
            return NotImplemented
        return stop_any(other, self)

    def __and__(self, other: StopCondition) -> stop_all:
        if not callable(other):
            return NotImplemented
        return stop_all(self, other)

    def __rand__(self, other: StopCondition) -> stop_all:
        if not callable(other):
            return NotImplemented
        return stop_all(other, self)


class stop_after_attempt(_StopConditionBase):
    """Stop once ``attempts >= max_attempt_number``, i.e. after that many tries in total."""

    def __init__(self, max_attempt_number: int) -> None:
        if not isinstance(max_attempt_number, Real):
            raise TypeError(
                f"stop_after_attempt(max_attempt_number) must be an int, got {max_attempt_number!r}"
            )
        self.max_attempt_number: int = max_attempt_number

    def __call__(self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        return attempts >= self.max_attempt_number


class stop_after_delay(_StopConditionBase):
    """Stop once ``elapsed_time >= max_delay`` seconds; the upcoming sleep is ignored."""

    def __init__(self, max_delay: time_unit_type) -> None:
        self.max_delay = _to_seconds(max_delay, "stop_after_delay(max_delay)")

    def __call__(self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        return elapsed_time >= self.max_delay


class stop_before_delay(_StopConditionBase):
    """Stop if sleeping again would reach the deadline.

    That is, stop when ``elapsed_time + upcoming_sleep >= max_delay``.
    """

    def __init__(self, max_delay: time_unit_type) -> None:
        self.max_delay = _to_seconds(max_delay, "stop_before_delay(max_delay)")

    def __call__(self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        return elapsed_time + upcoming_sleep >= self.max_delay


class stop_any(_StopConditionBase):
    """Stop if any condition says so (none given: never stop)."""

    def __init__(self, *stops: StopCondition) -> None:
        _require_conditions("stop_any", stops)
        self.stops = stops

    def __call__(self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        return any(
            stop(attempts, elapsed_time, upcoming_sleep=upcoming_sleep) for stop in self.stops
        )


class stop_all(_StopConditionBase):
    """Stop only if every condition says so (none given: always stop)."""

    def __init__(self, *stops: StopCondition) -> None:
        _require_conditions("stop_all", stops)
        self.stops = stops

    def __call__(self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        return all(
            stop(attempts, elapsed_time, upcoming_sleep=upcoming_sleep) for stop in self.stops
        )


class stop_never(_StopConditionBase):
    """Never stop; pair it with a retry condition or another stop."""

    def __call__(self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        return False
