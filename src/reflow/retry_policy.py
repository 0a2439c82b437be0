"""Retry policies for steps, compatible with ``workflows.retry_policy``.

A step's retry policy decides, after each failure, whether to run the step again and after how
long.  :func:`retry_policy` builds one from three tenacity-style parts: a retry condition
(which errors to retry), a wait strategy (how long to sleep) and a stop condition (when to give
up).  Any object with a matching ``next`` method is a policy too.

The engine is a pure reducer, so it never calls ``next`` directly: it goes through
:func:`compute_retry_delay` with a seed from :func:`retry_seed`, which makes random waits
reproducible when a run is replayed.
"""

from __future__ import annotations

import hashlib
import inspect
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from numbers import Real
from typing import Protocol, runtime_checkable

from reflow._retry.conditions import (
    RetryCondition,
    retry_all,
    retry_always,
    retry_any,
    retry_if_exception,
    retry_if_exception_cause_type,
    retry_if_exception_message,
    retry_if_exception_type,
    retry_if_not_exception_message,
    retry_if_not_exception_type,
    retry_never,
    retry_unless_exception_type,
)
from reflow._retry.stops import (
    StopCondition,
    stop_after_attempt,
    stop_after_delay,
    stop_all,
    stop_any,
    stop_before_delay,
    stop_never,
)
from reflow._retry.waits import (
    WaitStrategy,
    time_unit_type,
    wait_chain,
    wait_combine,
    wait_exponential,
    wait_exponential_jitter,
    wait_fixed,
    wait_full_jitter,
    wait_incrementing,
    wait_none,
    wait_random,
    wait_random_exponential,
)

__all__ = [
    "ConstantDelayRetryPolicy",
    "ExponentialBackoffRetryPolicy",
    "RetryCondition",
    "RetryInfo",
    "RetryPolicy",
    "StopCondition",
    "WaitStrategy",
    "compute_retry_delay",
    "retry_all",
    "retry_always",
    "retry_any",
    "retry_if_exception",
    "retry_if_exception_cause_type",
    "retry_if_exception_message",
    "retry_if_exception_type",
    "retry_if_not_exception_message",
    "retry_if_not_exception_type",
    "retry_never",
    "retry_policy",
    "retry_seed",
    "retry_unless_exception_type",
    "stop_after_attempt",
    "stop_after_delay",
    "stop_all",
    "stop_any",
    "stop_before_delay",
    "stop_never",
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


@runtime_checkable
class RetryPolicy(Protocol):
    """Decides what happens after a step fails.

    ``attempts`` is the number of failures so far (1 on the first failure), ``elapsed_time``
    the seconds since the first attempt began.  Return the delay in seconds before the next
    attempt, or ``None`` to give up.  ``seed`` is only passed to policies whose ``next``
    declares it; random waits use it so a replayed run sleeps the same amounts.
    """

    def next(
        self, elapsed_time: float, attempts: int, error: Exception, *, seed: int | None = None
    ) -> float | None: ...


@dataclass(frozen=True)
class RetryInfo:
    """The running step's retry state, as returned by ``Context.retry_info()``.

    ``retry_number`` is 0 on the first attempt, 1 on the first retry and so on.
    ``elapsed_seconds`` counts from the start of the first attempt.  ``last_exception`` and
    ``last_failed_at`` (an aware UTC datetime) describe the latest earlier failure and are
    ``None`` on the first attempt.  After a replay from stored state the exception has no
    traceback.
    """

    retry_number: int
    elapsed_seconds: float
    last_exception: Exception | None
    last_failed_at: datetime | None


class _ComposableRetryPolicy:
    """The policy :func:`retry_policy` returns; see there."""

    def __init__(
        self,
        retry: RetryCondition | None = None,
        wait: WaitStrategy = wait_fixed(5),
        stop: StopCondition = stop_after_attempt(3),
    ) -> None:
        if retry is not None and not callable(retry):
            raise TypeError(f"retry_policy(retry) must be a retry condition or None, got {retry!r}")
        if not callable(wait):
            raise TypeError(f"retry_policy(wait) must be a wait strategy, got {wait!r}")
        if not callable(stop):
            raise TypeError(f"retry_policy(stop) must be a stop condition, got {stop!r}")
        self.retry = retry
        self.wait = wait
        self.stop = stop

    def next(
        self, elapsed_time: float, attempts: int, error: Exception, *, seed: int | None = None
    ) -> float | None:
        if self.retry is not None and not self.retry(error):
            return None
        # Waits count retries already scheduled (0 before the first retry), so that
        # wait_exponential() gives 1, 2, 4, ... and wait_chain's first strategy comes first.
        sleep = self.wait(max(0, attempts - 1), seed=seed)
        if self.stop(attempts, elapsed_time, upcoming_sleep=sleep):
            return None
        return sleep


def retry_policy(
    retry: RetryCondition | None = None,
    wait: WaitStrategy = wait_fixed(5),
    stop: StopCondition = stop_after_attempt(3),
) -> RetryPolicy:
    """Build a policy from a retry condition, a wait strategy and a stop condition.

    After a failure: if ``retry`` is given and rejects the error, give up.  Otherwise ask
    ``wait`` for the delay, then give up if ``stop(attempts, elapsed_time,
    upcoming_sleep=delay)`` is true, else retry after ``delay``.  ``retry=None`` retries every
    error.  The defaults retry every error 5 s apart, for 3 attempts in total.
    """
    return _ComposableRetryPolicy(retry=retry, wait=wait, stop=stop)


def ConstantDelayRetryPolicy(maximum_attempts: int = 3, delay: float = 5) -> RetryPolicy:
    """Deprecated: ``retry_policy(wait=wait_fixed(delay), stop=stop_after_attempt(n))``."""
    warnings.warn(
        "ConstantDelayRetryPolicy is deprecated, use "
        "retry_policy(wait=wait_fixed(delay), stop=stop_after_attempt(n)) instead",
        DeprecationWarning,
        stacklevel=2,
    )
    wait = wait_fixed(delay)
    return retry_policy(wait=wait, stop=stop_after_attempt(maximum_attempts))


def ExponentialBackoffRetryPolicy(
    maximum_attempts: int = 5,
    initial_delay: float = 1.0,
    multiplier: float = 2.0,
    max_delay: float = 60.0,
    jitter: bool = True,
) -> RetryPolicy:
    """Deprecated: ``retry_policy(wait=wait_exponential(...), stop=stop_after_attempt(n))``.

    The n-th retry waits ``initial_delay * multiplier ** (n - 1)`` capped at ``max_delay``;
    with ``jitter`` it waits a uniform draw between 0 and that instead.
    """
    warnings.warn(
        "ExponentialBackoffRetryPolicy is deprecated, use "
        "retry_policy(wait=wait_exponential(...), stop=stop_after_attempt(n)) instead",
        DeprecationWarning,
        stacklevel=2,
    )
    strategy = wait_random_exponential if jitter else wait_exponential
    wait = strategy(multiplier=initial_delay, exp_base=multiplier, max=max_delay)
    return retry_policy(wait=wait, stop=stop_after_attempt(maximum_attempts))


def retry_seed(run_id: str, step_name: str, failures: int) -> int:
    """The seed a retry decision gets: sha256 of ``"{run_id}:{step_name}:{failures}"``, low 32 bits.

    ``failures`` is the same number passed as ``attempts`` (1 on the first failure).
    """
    digest = hashlib.sha256(f"{run_id}:{step_name}:{failures}".encode()).digest()
    return int.from_bytes(digest, "big") & 0xFFFFFFFF


# Keyed by the function behind ``policy.next`` (for methods, the class's function), so every
# instance of a policy class shares one entry and a re-assigned ``next`` is inspected afresh.
_ACCEPTS_SEED: weakref.WeakKeyDictionary[object, bool] = weakref.WeakKeyDictionary()


def _declares_seed(next_method: Callable[..., object]) -> bool:
    try:
        parameters = inspect.signature(next_method).parameters
    except (TypeError, ValueError):  # no introspectable signature: call it the old way
        return False
    seed = parameters.get("seed")
    return seed is not None and seed.kind not in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.VAR_POSITIONAL,
    )


def _accepts_seed(next_method: Callable[..., object]) -> bool:
    key = getattr(next_method, "__func__", next_method)
    try:
        cached = _ACCEPTS_SEED.get(key)
    except TypeError:  # not weak-referenceable or unhashable: inspect every time
        return _declares_seed(next_method)
    if cached is None:
        cached = _declares_seed(next_method)
        _ACCEPTS_SEED[key] = cached
    return cached


def compute_retry_delay(
    policy: RetryPolicy,
    *,
    elapsed_time: float,
    attempts: int,
    error: BaseException,
    seed: int,
) -> float | None:
    """Ask ``policy`` for the delay before the next attempt (``None``: give up).

    ``seed`` is passed only if ``policy.next`` declares a ``seed`` parameter, so policies
    written for the older three-argument protocol keep working.  Errors raised by the policy
    propagate.  A result that is neither ``None`` nor a real number raises ``TypeError``.
    """
    next_method = policy.next
    if _accepts_seed(next_method):
        delay = next_method(elapsed_time, attempts, error, seed=seed)  # type: ignore[arg-type]
    else:
        old_style: Callable[[float, int, BaseException], float | None] = next_method  # type: ignore[assignment]
        delay = old_style(elapsed_time, attempts, error)
    if delay is not None and not isinstance(delay, Real):
        raise TypeError(
            f"retry policy {type(policy).__qualname__}.next() returned {delay!r}; "
            "expected a delay in seconds or None"
        )
    return delay


def _adopt_public_module_name() -> None:
    """Give the re-exported building blocks this module's name, so their reprs and pickles
    use the public import path (``reflow.retry_policy.wait_fixed``) as the original does."""
    for name in __all__:
        obj = globals()[name]
        if getattr(obj, "__module__", "").startswith("reflow._retry."):
            obj.__module__ = __name__


_adopt_public_module_name()
