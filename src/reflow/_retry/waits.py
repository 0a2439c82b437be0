"""Wait strategies: how long to sleep before the next attempt.

A wait strategy is called as ``strategy(attempts, *, seed=None)`` and returns seconds.  The
composable policy passes ``attempts`` as the number of retries already scheduled (0 before the
first retry).  Random strategies draw from ``random.Random(seed)`` when a seed is given, so the
same seed always gives the same delay; with ``seed=None`` they use the module-level generator.

Public names are re-exported by :mod:`reflow.retry_policy`, which also gives them its module name.
"""

from __future__ import annotations

import random
from datetime import timedelta
from numbers import Real
from typing import Protocol, TypeAlias

__all__ = [
    "WaitStrategy",
    "time_unit_type",
    "wait_chain",
    "wait_combine",
    "wait_exponential",
    "wait_exponential_jitter",
    "wait_fixed",
    "wait_full_jitter",
    "wait_incrementing",
    "wait_none",
    "wait_random",
    "wait_random_exponential",
]

time_unit_type: TypeAlias = int | float | timedelta


class WaitStrategy(Protocol):
    """Anything called as ``(attempts, *, seed=None)`` that returns a delay in seconds."""

    def __call__(self, attempts: int, *, seed: int | None = None) -> float: ...


def _to_seconds(value: object, where: str) -> float:
    """Seconds in ``value`` (a number, a numeric string or a timedelta); ``where`` names it."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    try:
        return float(value)  # type: ignore[arg-type]  # float() itself rejects bad types
    except TypeError as exc:
        raise TypeError(f"{where} must be an int, float or timedelta, got {value!r}") from exc
    except ValueError as exc:  # a string float() cannot read, as in the peer
        raise ValueError(f"{where} must be a number of seconds, got {value!r}") from exc


def _to_float(value: object, where: str) -> float:
    """A plain number such as a multiplier or base; timedeltas make no sense here."""
    if isinstance(value, timedelta):
        raise TypeError(f"{where} must be an int or float, got a timedelta")
    try:
        return float(value)  # type: ignore[arg-type]
    except TypeError as exc:
        raise TypeError(f"{where} must be an int or float, got {value!r}") from exc
    except ValueError as exc:
        raise ValueError(f"{where} must be a number, got {value!r}") from exc


def _raw_seconds(value: object, where: str) -> float:
    """Keep a real number exactly as given (an int stays an int); convert a timedelta."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Real):
        return value  # type: ignore[return-value]  # any Real works in the arithmetic
    raise TypeError(f"{where} must be an int, float or timedelta, got {value!r}")


def _raw_number(value: object, where: str) -> float:
    """Keep a real number exactly as given; reject anything else, timedeltas included."""
    if isinstance(value, Real):
        return value  # type: ignore[return-value]
    raise TypeError(f"{where} must be an int or float, got {value!r}")


def _require_strategies(owner: str, strategies: tuple[object, ...]) -> None:
    for index, strategy in enumerate(strategies):
        if not callable(strategy):
            raise TypeError(
                f"{owner}() argument {index} must be a wait strategy (a callable), got {strategy!r}"
            )


def _uniform(low: float, high: float, seed: int | None) -> float:
    """``uniform(low, high)`` from ``random.Random(seed)``, or the shared generator if unseeded."""
    if seed is None:
        return random.uniform(low, high)
    return random.Random(seed).uniform(low, high)


class _WaitStrategyBase:
    """Adds ``+`` (and so ``sum()``) to wait strategies; the result is a ``wait_combine``."""

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        raise NotImplementedError

    def __add__(self, other: WaitStrategy) -> wait_combine:
        if not callable(other):
            return NotImplemented
        return wait_combine(self, other)

    def __radd__(self, other: object) -> object:
        # sum() starts from 0; treating a zero as "no strategy" makes sum([w1, w2]) work.
        if isinstance(other, (int, float)) and other == 0:
            return self
        if not callable(other):
            return NotImplemented
        return wait_combine(self, other)


class wait_fixed(_WaitStrategyBase):
    """Always wait ``wait`` seconds."""

    def __init__(self, wait: time_unit_type) -> None:
        self.wait = _to_seconds(wait, "wait_fixed(wait)")

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        return self.wait


class wait_none(wait_fixed):
    """Do not wait at all."""

    def __init__(self) -> None:
        super().__init__(0)


class _ExponentialParameters(_WaitStrategyBase):
    """The parameters both exponential waits take, checked, in tenacity's order
    (``multiplier, max, exp_base, min``); errors name the class the caller used."""

    def __init__(
        self,
        multiplier: float = 1.0,
        max: time_unit_type = 60.0,
        exp_base: float = 2.0,
        min: time_unit_type = 0.0,
    ) -> None:
        name = type(self).__name__
        self.multiplier = _to_float(multiplier, f"{name}(multiplier)")
        self.exp_base = _to_float(exp_base, f"{name}(exp_base)")
        self.max = _to_seconds(max, f"{name}(max)")
        self.min = _to_seconds(min, f"{name}(min)")


class wait_exponential(_ExponentialParameters):
    """``multiplier * exp_base ** attempts``, clamped to ``[max(0, min), max]``.

    Parameters are tenacity's, in its order (``multiplier, max, exp_base, min``).
    """

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        return _clamped_exponential(self.multiplier, self.exp_base, self.min, self.max, attempts)


def _clamped_exponential(
    multiplier: float, exp_base: float, low: float, high: float, attempts: int
) -> float:
    # Very large ``attempts`` raise OverflowError, exactly as llama-index-workflows does.
    raw = multiplier * exp_base**attempts
    return max(max(0.0, low), min(raw, high))


class wait_incrementing(_WaitStrategyBase):
    """``start + increment * attempts``, clamped to ``[0, max]``."""

    def __init__(
        self,
        start: time_unit_type = 0.0,
        increment: time_unit_type = 100.0,
        max: time_unit_type = float("inf"),
    ) -> None:
        self.start = _to_seconds(start, "wait_incrementing(start)")
        self.increment = _to_seconds(increment, "wait_incrementing(increment)")
        self.max = _to_seconds(max, "wait_incrementing(max)")

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        raw = self.start + self.increment * attempts
        return max(0.0, min(raw, self.max))


class wait_random(_WaitStrategyBase):
    """A uniform draw from ``[min, max]``; the attempt number does not matter."""

    def __init__(self, min: time_unit_type = 0.0, max: time_unit_type = 1.0) -> None:
        self.min = _to_seconds(min, "wait_random(min)")
        self.max = _to_seconds(max, "wait_random(max)")

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        return _uniform(self.min, self.max, seed)


class wait_exponential_jitter(_WaitStrategyBase):
    """``min(initial * exp_base ** attempts, max) + uniform(0, jitter)``, capped at ``max``,
    then raised to at least ``min``.

    Parameters are tenacity's, in its order (``initial, max, exp_base, jitter, min,
    multiplier``); ``multiplier`` is tenacity's newer name for ``initial`` (giving both with
    different values is an error).  int/float arguments are stored exactly as given.
    """

    def __init__(
        self,
        initial: float = 1.0,
        max: time_unit_type = 60.0,
        exp_base: float = 2.0,
        jitter: time_unit_type = 1.0,
        min: time_unit_type = 0.0,
        multiplier: float = 1.0,
    ) -> None:
        initial = _raw_seconds(initial, "wait_exponential_jitter(initial)")
        multiplier = _raw_number(multiplier, "wait_exponential_jitter(multiplier)")
        if initial != 1 and multiplier != 1 and initial != multiplier:
            raise ValueError(
                "wait_exponential_jitter() takes 'initial' or 'multiplier' (the same "
                f"setting), not both: got initial={initial!r}, multiplier={multiplier!r}"
            )
        self.initial = multiplier if multiplier != 1 else initial
        self.exp_base = _raw_number(exp_base, "wait_exponential_jitter(exp_base)")
        self.max = _raw_seconds(max, "wait_exponential_jitter(max)")
        self.jitter = _raw_seconds(jitter, "wait_exponential_jitter(jitter)")
        self.min = _raw_seconds(min, "wait_exponential_jitter(min)")

    @property
    def multiplier(self) -> float:
        return self.initial

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        # Capping before adding the jitter keeps all-int arguments exact for huge attempt
        # numbers, so the result is ``max`` instead of an OverflowError.
        capped = min(self.initial * self.exp_base**attempts, self.max)
        jittered = min(capped + _uniform(0, self.jitter, seed), self.max)
        return jittered if jittered >= self.min else self.min


class wait_random_exponential(_ExponentialParameters):
    """A uniform draw from ``[min, wait_exponential(...)(attempts)]`` ("full jitter").

    Parameters are tenacity's, in its order (``multiplier, max, exp_base, min``).
    """

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        high = _clamped_exponential(self.multiplier, self.exp_base, self.min, self.max, attempts)
        return _uniform(self.min, high, seed)


class wait_full_jitter(wait_random_exponential):
    """Another name for :class:`wait_random_exponential` (a subclass, as in tenacity)."""


class wait_chain(_WaitStrategyBase):
    """Strategy ``i`` serves ``attempts == i``; the last one serves every later attempt."""

    def __init__(self, *strategies: WaitStrategy) -> None:
        if not strategies:
            raise ValueError("wait_chain requires at least one strategy")
        _require_strategies("wait_chain", strategies)
        self.strategies = strategies

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        chosen = self.strategies[min(attempts, len(self.strategies) - 1)]
        return chosen(attempts, seed=seed)


class wait_combine(_WaitStrategyBase):
    """The sum of every strategy's wait; each one receives the same ``attempts`` and ``seed``."""

    def __init__(self, *strategies: WaitStrategy) -> None:
        _require_strategies("wait_combine", strategies)
        self.strategies = strategies

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        return sum(strategy(attempts, seed=seed) for strategy in self.strategies)
