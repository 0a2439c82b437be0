"""The composable retry policy primitives, checked as plain functions."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reflow.retry_policy import (
    ConstantDelayRetryPolicy,
    ExponentialBackoffRetryPolicy,
    RetryInfo,
    RetryPolicy,
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
    retry_policy,
    retry_unless_exception_type,
    stop_after_attempt,
    stop_after_delay,
    stop_all,
    stop_any,
    stop_before_delay,
    stop_never,
    wait_chain,
    wait_combine,
    wait_exponential,
    wait_exponential_jitter,
    wait_fixed,
    wait_incrementing,
    wait_none,
    wait_random,
    wait_random_exponential,
)

ERR = ValueError("boom")


@given(st.integers(min_value=1, max_value=20), st.integers(min_value=1, max_value=30))
def test_policy_with_stop_after_attempt_gives_up_once_failures_reach_n(
    n: int, failures: int
) -> None:
    policy = retry_policy(wait=wait_fixed(0.5), stop=stop_after_attempt(n))
    delay = policy.next(0.0, failures, ERR)
    assert delay == (None if failures >= n else 0.5)


def test_default_policy_waits_five_seconds_and_allows_three_tries() -> None:
    policy = retry_policy()
    assert [policy.next(0.0, a, ERR) for a in (1, 2, 3)] == [5.0, 5.0, None]


def test_policies_satisfy_the_runtime_checkable_protocol() -> None:
    class OldStyle:
        def next(self, elapsed_time: float, attempts: int, error: Exception) -> float | None:
            return None

    assert isinstance(retry_policy(), RetryPolicy)
    assert isinstance(OldStyle(), RetryPolicy)


def test_retry_condition_filters_exceptions() -> None:
    policy = retry_policy(retry=retry_if_exception_type(KeyError), wait=wait_fixed(1))
    assert policy.next(0.0, 1, ValueError()) is None
    assert policy.next(0.0, 1, KeyError()) == 1.0


def test_stop_before_delay_accounts_for_the_upcoming_sleep() -> None:
    policy = retry_policy(wait=wait_fixed(3), stop=stop_before_delay(5))
    assert [policy.next(t, 1, ERR) for t in (1.0, 2.0, 2.1)] == [3.0, None, None]
    assert stop_before_delay(1)(1, 0.5) is False
    assert stop_before_delay(1)(1, 0.5, upcoming_sleep=0.4) is False
    assert stop_before_delay(1)(1, 0.5, upcoming_sleep=0.5) is True


def test_stop_after_delay_compares_elapsed_time() -> None:
    policy = retry_policy(wait=wait_fixed(1), stop=stop_after_delay(2))
    assert [policy.next(t, 1, ERR) for t in (0.0, 1.9, 2.0, 3.0)] == [1.0, 1.0, None, None]


def test_policy_feeds_zero_based_attempt_index_to_wait_strategies() -> None:
    def delays(wait: object) -> list[float | None]:
        policy = retry_policy(wait=wait, stop=stop_never())  # type: ignore[arg-type]
        return [policy.next(0.0, a, ERR) for a in (1, 2, 3, 4)]

    assert delays(wait_incrementing(start=1, increment=2)) == [1.0, 3.0, 5.0, 7.0]
    assert delays(wait_chain(wait_fixed(1), wait_fixed(2), wait_fixed(3))) == [1.0, 2.0, 3.0, 3.0]
    assert delays(wait_exponential()) == [1.0, 2.0, 4.0, 8.0]
    assert delays(wait_exponential_jitter(initial=1, jitter=0)) == [1.0, 2.0, 4.0, 8.0]


def test_wait_strategies_called_directly() -> None:
    assert [wait_exponential()(a) for a in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert [wait_exponential(multiplier=0.5, min=1, max=5)(a) for a in range(6)] == [
        1,
        1,
        2,
        4,
        5,
        5,
    ]
    assert [wait_incrementing(start=1, increment=2, max=6)(a) for a in range(5)] == [1, 3, 5, 6, 6]
    assert wait_none()(3) == 0.0
    assert wait_fixed(timedelta(seconds=2))(1) == 2.0


def test_wait_strategies_add_up() -> None:
    assert (wait_fixed(1) + wait_fixed(2))(1) == 3.0
    assert sum([wait_fixed(1), wait_fixed(2)])(1) == 3.0  # type: ignore[operator]
    assert wait_combine(wait_fixed(1), wait_fixed(0.5))(1) == 1.5


def test_wait_chain_needs_a_strategy() -> None:
    with pytest.raises(ValueError, match=r"^wait_chain requires at least one strategy$"):
        wait_chain()


@given(
    st.floats(min_value=0, max_value=10),
    st.floats(min_value=0, max_value=10),
    st.integers(min_value=0, max_value=10),
    st.integers(min_value=0, max_value=2**32 - 1),
)
def test_wait_random_stays_in_range_and_is_fixed_by_the_seed(
    low: float, width: float, attempt: int, seed: int
) -> None:
    wait = wait_random(low, low + width)
    value = wait(attempt, seed=seed)
    assert low <= value <= low + width
    assert wait(attempt, seed=seed) == value


@given(st.integers(min_value=0, max_value=8), st.integers(min_value=0, max_value=2**32 - 1))
def test_random_exponential_is_bounded_by_the_exponential_cap(attempt: int, seed: int) -> None:
    value = wait_random_exponential(max=5)(attempt, seed=seed)
    assert 0 <= value <= min(5, 2**attempt)
    assert wait_random_exponential(max=5)(attempt, seed=seed) == value


@given(st.integers(min_value=1, max_value=5), st.integers(min_value=0, max_value=2**32 - 1))
def test_exponential_jitter_adds_at_most_the_jitter(attempt: int, seed: int) -> None:
    value = wait_exponential_jitter(initial=1, jitter=1)(attempt, seed=seed)
    assert 2**attempt <= value <= 2**attempt + 1
    assert wait_exponential_jitter(initial=1, jitter=1)(attempt + 5, seed=seed) == 60.0


def test_retry_if_exception_type_and_its_negation() -> None:
    assert retry_if_exception_type(ValueError)(ValueError()) is True
    assert retry_if_exception_type(ValueError)(KeyError()) is False
    assert retry_if_exception_type((KeyError, TypeError))(KeyError()) is True
    assert retry_if_not_exception_type(ValueError)(ValueError()) is False
    assert retry_if_not_exception_type(ValueError)(KeyError()) is True
    assert retry_unless_exception_type(ValueError)(KeyError()) is True


def test_retry_if_exception_message_matches_exactly_or_by_search() -> None:
    assert retry_if_exception_message(message="boom")(ValueError("boom")) is True
    assert retry_if_exception_message(message="boom")(ValueError("boom!")) is False
    assert retry_if_exception_message(match="oo")(ValueError("boom")) is True
    assert retry_if_exception_message(match=re.compile("^b"))(ValueError("boom")) is True
    assert retry_if_not_exception_message(message="boom")(ValueError("boom")) is False
    assert retry_if_not_exception_message(message="boom")(ValueError("x")) is True


def test_retry_if_exception_message_needs_exactly_one_argument() -> None:
    with pytest.raises(TypeError, match="not both"):
        retry_if_exception_message(message="x", match="y")
    with pytest.raises(TypeError, match="missing"):
        retry_if_exception_message()


def test_retry_if_exception_cause_type_follows_cause_not_context() -> None:
    def raised(explicit_cause: bool) -> ValueError:
        try:
            try:
                raise KeyError("k")
            except KeyError as inner:
                if explicit_cause:
                    raise ValueError("v") from inner
                raise ValueError("v")  # noqa: B904
        except ValueError as outer:
            return outer
        raise AssertionError("unreachable")

    assert retry_if_exception_cause_type(KeyError)(raised(True)) is True
    assert retry_if_exception_cause_type(KeyError)(raised(False)) is False
    assert retry_if_exception_cause_type(KeyError)(ValueError()) is False


def test_retry_conditions_combine() -> None:
    either = retry_if_exception_type(KeyError) | retry_if_exception_type(ValueError)
    both = retry_if_exception_type(Exception) & retry_if_exception_type(KeyError)
    assert either(ValueError()) is True
    assert both(ValueError()) is False
    assert retry_any(retry_never(), retry_always())(ERR) is True
    assert retry_all(retry_never(), retry_always())(ERR) is False
    assert retry_if_exception(lambda e: "x" in str(e))(ValueError("xx")) is True


def test_stop_conditions_combine() -> None:
    assert [stop_after_attempt(3)(a, 0.0) for a in range(5)] == [False, False, False, True, True]
    assert stop_never()(100, 1e9) is False
    assert (stop_after_attempt(2) | stop_after_delay(10))(2, 0.0) is True
    assert (stop_after_attempt(2) & stop_after_delay(10))(2, 0.0) is False
    assert stop_any(stop_after_attempt(2))(2, 0.0) is True
    assert stop_all(stop_after_attempt(2), stop_never())(2, 0.0) is False


def test_deprecated_factories_warn_and_return_composable_policies() -> None:
    with pytest.warns(DeprecationWarning):
        constant = ConstantDelayRetryPolicy(maximum_attempts=2, delay=0.1)
    assert [constant.next(0.0, a, ERR) for a in (1, 2)] == [0.1, None]
    with pytest.warns(DeprecationWarning):
        backoff = ExponentialBackoffRetryPolicy(
            maximum_attempts=4, initial_delay=1.0, multiplier=2.0, max_delay=5.0, jitter=False
        )
    assert [backoff.next(0.0, a, ERR) for a in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, None]
    assert type(constant) is type(retry_policy())


def test_retry_info_is_a_frozen_dataclass() -> None:
    info = RetryInfo(retry_number=0, elapsed_seconds=0.0, last_exception=None, last_failed_at=None)
    assert info.retry_number == 0
    with pytest.raises(AttributeError):
        info.retry_number = 3  # type: ignore[misc]
