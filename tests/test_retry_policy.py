"""reflow.retry_policy: the tenacity-style primitives, the composed policy and the engine hooks.

The ``PEER_*`` tables hold values measured from llama-index-workflows 2.26.1
(``workflows.retry_policy``); reflow must reproduce them exactly, types included.
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import math
import pickle
import random
import re
import typing
import warnings
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import reflow.retry_policy as rp
from reflow.retry_policy import (
    ConstantDelayRetryPolicy,
    ExponentialBackoffRetryPolicy,
    RetryCondition,
    RetryInfo,
    RetryPolicy,
    StopCondition,
    WaitStrategy,
    compute_retry_delay,
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
    retry_seed,
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
    wait_full_jitter,
    wait_incrementing,
    wait_none,
    wait_random,
    wait_random_exponential,
)

ERR = ValueError("boom")
SEEDS = st.integers(min_value=0, max_value=2**32 - 1)
SMALL = st.floats(min_value=0, max_value=100, allow_nan=False)


def seq(wait: Any, attempts: Any = range(8), seed: Any = None) -> list[Any]:
    return [wait(a, seed=seed) for a in attempts]


def pol(policy: Any, seed: int | None = None) -> list[float | None]:
    return [policy.next(0.0, a, ERR, seed=seed) for a in range(7)]


def deprecated(factory: Callable[..., Any], *args: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return factory(*args)


# --------------------------------------------------------------------------------------------
# Measured from the peer.

PEER_PUBLIC_NAMES = {
    "ConstantDelayRetryPolicy", "ExponentialBackoffRetryPolicy", "RetryCondition", "RetryInfo",
    "RetryPolicy", "StopCondition", "WaitStrategy", "retry_all", "retry_always", "retry_any",
    "retry_if_exception", "retry_if_exception_cause_type", "retry_if_exception_message",
    "retry_if_exception_type", "retry_if_not_exception_message", "retry_if_not_exception_type",
    "retry_never", "retry_policy", "retry_unless_exception_type", "stop_after_attempt",
    "stop_after_delay", "stop_all", "stop_any", "stop_before_delay", "stop_never",
    "time_unit_type", "wait_chain", "wait_combine", "wait_exponential",
    "wait_exponential_jitter", "wait_fixed", "wait_full_jitter", "wait_incrementing",
    "wait_none", "wait_random", "wait_random_exponential",
}  # fmt: skip

# name -> ((parameter, kind, default), ...); kinds: pk positional-or-keyword, kw keyword-only,
# var *args; REQ marks "no default".  Defaults that are objects are given by type name.
REQ = "<required>"
PEER_SIGNATURES: dict[str, tuple[tuple[str, str, Any], ...]] = {
    "ConstantDelayRetryPolicy": (("maximum_attempts", "pk", 3), ("delay", "pk", 5)),
    "ExponentialBackoffRetryPolicy": (
        ("maximum_attempts", "pk", 5), ("initial_delay", "pk", 1.0), ("multiplier", "pk", 2.0),
        ("max_delay", "pk", 60.0), ("jitter", "pk", True),
    ),
    "RetryInfo": (
        ("retry_number", "pk", REQ), ("elapsed_seconds", "pk", REQ),
        ("last_exception", "pk", REQ), ("last_failed_at", "pk", REQ),
    ),
    "RetryPolicy.next": (
        ("self", "pk", REQ), ("elapsed_time", "pk", REQ), ("attempts", "pk", REQ),
        ("error", "pk", REQ), ("seed", "kw", None),
    ),
    "RetryCondition.__call__": (("self", "pk", REQ), ("error", "pk", REQ)),
    "StopCondition.__call__": (
        ("self", "pk", REQ), ("attempts", "pk", REQ), ("elapsed_time", "pk", REQ),
        ("upcoming_sleep", "kw", 0.0),
    ),
    "WaitStrategy.__call__": (("self", "pk", REQ), ("attempts", "pk", REQ), ("seed", "kw", None)),
    "retry_all": (("retries", "var", REQ),),
    "retry_any": (("retries", "var", REQ),),
    "retry_always": (),
    "retry_never": (),
    "retry_if_exception": (("predicate", "pk", REQ),),
    "retry_if_exception_cause_type": (("exception_types", "pk", "Exception"),),
    "retry_if_exception_message": (("message", "pk", None), ("match", "pk", None)),
    "retry_if_exception_type": (("exception_types", "pk", "Exception"),),
    "retry_if_not_exception_message": (("message", "pk", None), ("match", "pk", None)),
    "retry_if_not_exception_type": (("exception_types", "pk", "Exception"),),
    "retry_unless_exception_type": (("exception_types", "pk", "Exception"),),
    "retry_policy": (
        ("retry", "pk", None), ("wait", "pk", "wait_fixed"), ("stop", "pk", "stop_after_attempt"),
    ),
    "stop_after_attempt": (("max_attempt_number", "pk", REQ),),
    "stop_after_delay": (("max_delay", "pk", REQ),),
    "stop_before_delay": (("max_delay", "pk", REQ),),
    "stop_all": (("stops", "var", REQ),),
    "stop_any": (("stops", "var", REQ),),
    "stop_never": (),
    "wait_chain": (("strategies", "var", REQ),),
    "wait_combine": (("strategies", "var", REQ),),
    # Tenacity's parameter order (the peer's own differs; item 9 of issue 9).
    "wait_exponential": (
        ("multiplier", "pk", 1.0), ("max", "pk", 60.0), ("exp_base", "pk", 2.0), ("min", "pk", 0.0),
    ),
    "wait_exponential_jitter": (
        ("initial", "pk", 1.0), ("max", "pk", 60.0), ("exp_base", "pk", 2.0), ("jitter", "pk", 1.0),
        ("min", "pk", 0.0), ("multiplier", "pk", 1.0),
    ),
    "wait_fixed": (("wait", "pk", REQ),),
    "wait_full_jitter": (
        ("multiplier", "pk", 1.0), ("max", "pk", 60.0), ("exp_base", "pk", 2.0), ("min", "pk", 0.0),
    ),
    "wait_incrementing": (
        ("start", "pk", 0.0), ("increment", "pk", 100.0), ("max", "pk", math.inf),
    ),
    "wait_none": (),
    "wait_random": (("min", "pk", 0.0), ("max", "pk", 1.0)),
    "wait_random_exponential": (
        ("multiplier", "pk", 1.0), ("max", "pk", 60.0), ("exp_base", "pk", 2.0), ("min", "pk", 0.0),
    ),
}  # fmt: skip

# (id, computation, exact result).  Results are compared by repr, so 3 and 3.0 differ.
PEER_VALUES: list[tuple[str, Callable[[], Any], list[Any]]] = [
    ("fixed", lambda: seq(wait_fixed(5), range(3)), [5.0, 5.0, 5.0]),
    ("fixed-timedelta", lambda: seq(wait_fixed(timedelta(seconds=1.5)), range(2)), [1.5, 1.5]),
    ("fixed-str", lambda: seq(wait_fixed("2.5"), range(1)), [2.5]),  # type: ignore[arg-type]
    ("none", lambda: seq(wait_none(), range(3)), [0.0, 0.0, 0.0]),
    ("exp", lambda: seq(wait_exponential()), [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]),
    ("exp-3-3-100-5", lambda: seq(wait_exponential(3, exp_base=3, max=100, min=5)),
     [5.0, 9.0, 27.0, 81.0, 100.0, 100.0, 100.0, 100.0]),
    ("exp-fractional", lambda: seq(wait_exponential(0.3, exp_base=1.7, max=7.7, min=0.2)),
     [0.3, 0.51, 0.8669999999999999, 1.4738999999999998, 2.5056299999999996,
      4.259570999999999, 7.2412706999999985, 7.7]),
    ("exp-negative-floor", lambda: seq(wait_exponential(-1, min=-5), range(3)), [0.0, 0.0, 0.0]),
    ("exp-min-above-max", lambda: seq(wait_exponential(min=10, max=5), range(3)),
     [10.0, 10.0, 10.0]),
    ("exp-timedelta-max", lambda: seq(wait_exponential(max=timedelta(seconds=9)), range(6)),
     [1.0, 2.0, 4.0, 8.0, 9.0, 9.0]),
    ("exp-negative-attempts", lambda: seq(wait_exponential(), [-1, -2]), [0.5, 0.25]),
    ("inc", lambda: seq(wait_incrementing(), range(4)), [0.0, 100.0, 200.0, 300.0]),
    ("inc-1-2-7", lambda: seq(wait_incrementing(1, 2, 7), range(6)),
     [1.0, 3.0, 5.0, 7.0, 7.0, 7.0]),
    ("inc-negative-start", lambda: seq(wait_incrementing(-5, 2, 3), range(6)),
     [0.0, 0.0, 0.0, 1.0, 3.0, 3.0]),
    ("inc-fractional", lambda: seq(wait_incrementing(0.1, 0.2), range(6)),
     [0.1, 0.30000000000000004, 0.5, 0.7000000000000001, 0.9, 1.1]),
    ("random-seed-1", lambda: seq(wait_random(), range(3), seed=1),
     [0.13436424411240122, 0.13436424411240122, 0.13436424411240122]),
    ("random-seed-2", lambda: seq(wait_random(), range(1), seed=2), [0.9560342718892494]),
    ("random-5-10", lambda: seq(wait_random(5, 10), range(1), seed=42), [8.19713399228942]),
    ("random-10-5", lambda: seq(wait_random(10, 5), range(1), seed=42), [6.802866007710581]),
    ("random-seeds", lambda: [wait_random(0.25, 3.5)(1, seed=s)
                              for s in (0, 1, 2, 2**31, 4294967295)],
     [2.994371017456406, 0.6866837933653039, 3.3571113836400603, 1.3510865157564882,
      2.314911693435881]),
    ("expj-seed-1", lambda: seq(wait_exponential_jitter(), seed=1),
     [1.134364244112401, 2.134364244112401, 4.134364244112401, 8.134364244112401,
      16.1343642441124, 32.134364244112405, 60.0, 60.0]),
    ("expj-seed-2", lambda: seq(wait_exponential_jitter(), seed=2),
     [1.9560342718892494, 2.9560342718892496, 4.95603427188925, 8.95603427188925,
      16.956034271889248, 32.95603427188925, 60.0, 60.0]),
    ("expj-fractional", lambda: seq(wait_exponential_jitter(1.3, 9.1, 1.7, 0.7), seed=12345),
     [1.5916339107817388, 2.501633910781739, 4.048633910781739, 6.678533910781739,
      9.1, 9.1, 9.1, 9.1]),
    ("expj-int-max", lambda: seq(wait_exponential_jitter(3, 500, 3, 0), seed=1),
     [3.0, 9.0, 27.0, 81.0, 243.0, 500.0, 500.0, 500.0]),
    # Tenacity's ``min`` (default 0) floors the result; the peer returned negative delays here.
    ("expj-negative-initial", lambda: seq(wait_exponential_jitter(-5), range(3), seed=3),
     [0.0, 0.0, 0.0]),
    ("expj-int-huge-attempts", lambda: seq(wait_exponential_jitter(1, 3, 2, 4), [5000], seed=1),
     [3]),
    ("expj-int-huge-no-jitter", lambda: seq(wait_exponential_jitter(1, 3, 2, 0), [5000], seed=1),
     [3.0]),
    ("rexp-seed-1", lambda: seq(wait_random_exponential(), seed=1),
     [0.13436424411240122, 0.26872848822480244, 0.5374569764496049, 1.0749139528992098,
      2.1498279057984195, 4.299655811596839, 8.061854646744074, 8.061854646744074]),
    ("rexp-seed-7", lambda: seq(wait_random_exponential(), seed=7),
     [0.32383276483316237, 0.6476655296663247, 1.2953310593326495, 2.590662118665299,
      5.181324237330598, 10.362648474661196, 19.42996588998974, 19.42996588998974]),
    ("rexp-min-3", lambda: seq(wait_random_exponential(min=3), seed=7),
     [3.0, 3.0, 3.3238327648331625, 4.6191638241658115, 7.2098259428311104,
      12.39115018016171, 21.458467595490255, 21.458467595490255]),
    ("rexp-0.5-3-10", lambda: seq(wait_random_exponential(0.5, exp_base=3, max=10, min=0), seed=7),
     [0.16191638241658118, 0.48574914724974355, 1.4572474417492307, 3.238327648331624,
      3.238327648331624, 3.238327648331624, 3.238327648331624, 3.238327648331624]),
    ("rexp-fractional", lambda: seq(wait_random_exponential(0.3, 7.7, 1.7, 0.2), seed=99),
     [0.24039780749436662, 0.32523320323253657, 0.46945337598742537, 0.7146276696707365,
      1.131423968932365, 1.8399776776771342, 3.0445189825432415, 3.229835562077498]),
    ("rexp-min-above-max", lambda: seq(wait_random_exponential(min=10, max=5), range(2), seed=99),
     [10.0, 10.0]),
    ("full-jitter", lambda: seq(wait_full_jitter(), range(4), seed=7),
     [0.32383276483316237, 0.6476655296663247, 1.2953310593326495, 2.590662118665299]),
    ("chain", lambda: seq(wait_chain(wait_fixed(1), wait_fixed(2), wait_fixed(3)), range(5)),
     [1.0, 2.0, 3.0, 3.0, 3.0]),
    ("chain-seeded", lambda: seq(wait_chain(wait_random(), wait_random(2, 3)), range(3), seed=8),
     [0.2267058593810488, 2.226705859381049, 2.226705859381049]),
    ("plus", lambda: seq(wait_fixed(1) + wait_exponential()),
     [2.0, 3.0, 5.0, 9.0, 17.0, 33.0, 61.0, 61.0]),
    ("plus-same-seed", lambda: seq(wait_random() + wait_random(), range(2), seed=1),
     [0.26872848822480244, 0.26872848822480244]),
    ("sum", lambda: seq(sum([wait_fixed(1), wait_fixed(2), wait_fixed(3)]), range(2)),
     [6.0, 6.0]),
    ("combine-empty", lambda: seq(wait_combine(), range(2)), [0, 0]),
    ("policy-default", lambda: pol(retry_policy()), [5.0, 5.0, 5.0, None, None, None, None]),
    ("policy-exp", lambda: pol(retry_policy(wait=wait_exponential(), stop=stop_never())),
     [1.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]),
    ("policy-chain", lambda: pol(retry_policy(
        wait=wait_chain(wait_fixed(1), wait_fixed(2), wait_fixed(3)), stop=stop_never())),
     [1.0, 1.0, 2.0, 3.0, 3.0, 3.0, 3.0]),
    ("policy-inc", lambda: pol(retry_policy(wait=wait_incrementing(1, 2), stop=stop_never())),
     [1.0, 1.0, 3.0, 5.0, 7.0, 9.0, 11.0]),
    ("policy-rexp-seeded", lambda: pol(retry_policy(
        wait=wait_random_exponential(), stop=stop_after_attempt(5)), seed=3585569204),
     [0.19500672284005316, 0.19500672284005316, 0.3900134456801063, 0.7800268913602126,
      1.5600537827204253, None, None]),
    ("policy-before-delay", lambda: [
        retry_policy(wait=wait_fixed(2), stop=stop_before_delay(10)).next(el, 1, ERR)
        for el in (0.0, 7.9, 8.0, 10.0)], [2.0, 2.0, None, None]),
    ("policy-after-delay", lambda: [
        retry_policy(wait=wait_fixed(2), stop=stop_after_delay(10)).next(el, 1, ERR)
        for el in (0.0, 9.9, 10.0)], [2.0, 2.0, None]),
    ("constant-default", lambda: pol(deprecated(ConstantDelayRetryPolicy)),
     [5.0, 5.0, 5.0, None, None, None, None]),
    ("constant-4-2", lambda: pol(deprecated(ConstantDelayRetryPolicy, 4, 2)),
     [2.0, 2.0, 2.0, 2.0, None, None, None]),
    ("backoff-no-jitter", lambda: pol(deprecated(ExponentialBackoffRetryPolicy, 5, 1.0, 2.0,
                                                 60.0, False)),
     [1.0, 1.0, 2.0, 4.0, 8.0, None, None]),
    ("backoff-jitter", lambda: pol(deprecated(ExponentialBackoffRetryPolicy), seed=5),
     [0.6229016948897019, 0.6229016948897019, 1.2458033897794039, 2.4916067795588077,
      4.983213559117615, None, None]),
    ("backoff-4-0.5-3-10", lambda: pol(deprecated(ExponentialBackoffRetryPolicy, 4, 0.5, 3.0,
                                                  10.0, False)),
     [0.5, 0.5, 1.5, 4.5, None, None, None]),
]  # fmt: skip

# retry_seed for run "WK35cECWn1", step "flaky", failures 1..3, as the peer passed it to next().
PEER_SEEDS = [3585569204, 1007110498, 950589230]


@pytest.mark.parametrize(("compute", "expected"), [p[1:] for p in PEER_VALUES],
                         ids=[p[0] for p in PEER_VALUES])  # fmt: skip
def test_values_match_the_peer_exactly(compute: Callable[[], Any], expected: list[Any]) -> None:
    assert repr(compute()) == repr(expected)


def test_retry_seed_matches_what_the_peer_passed_to_next() -> None:
    assert [retry_seed("WK35cECWn1", "flaky", n) for n in (1, 2, 3)] == PEER_SEEDS


def test_public_names_match_the_peer() -> None:
    public = {n for n in vars(rp) if not n.startswith("_")}
    assert public >= PEER_PUBLIC_NAMES
    assert set(rp.__all__) == PEER_PUBLIC_NAMES | {"compute_retry_delay", "retry_seed"}


_KINDS: dict[inspect._ParameterKind, str] = {
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "pk",
    inspect.Parameter.KEYWORD_ONLY: "kw",
    inspect.Parameter.VAR_POSITIONAL: "var",
}


def _describe(default: Any) -> Any:
    if default is inspect.Parameter.empty:
        return REQ
    if isinstance(default, type):
        return default.__name__
    if default is None or isinstance(default, (int, float, str, bool)):
        return default
    return type(default).__name__


@pytest.mark.parametrize("name", sorted(PEER_SIGNATURES))
def test_signatures_match_the_peer(name: str) -> None:
    obj: Any = rp
    for part in name.split("."):
        obj = getattr(obj, part)
    params = inspect.signature(obj).parameters.values()
    got = tuple((p.name, _KINDS[p.kind], _describe(p.default)) for p in params)
    assert got == PEER_SIGNATURES[name]


def test_class_hierarchy_and_module_name_match_the_peer() -> None:
    assert issubclass(retry_if_exception_type, retry_if_exception)
    assert issubclass(retry_if_not_exception_type, retry_if_exception)
    assert issubclass(retry_unless_exception_type, retry_if_not_exception_type)
    assert issubclass(retry_if_not_exception_message, retry_if_exception_message)
    assert issubclass(wait_none, wait_fixed)
    assert not issubclass(wait_random_exponential, wait_exponential)
    assert isinstance(wait_full_jitter(), wait_random_exponential)  # a subclass, as in tenacity
    assert type(retry_policy()).__name__ == "_ComposableRetryPolicy"
    for name in PEER_PUBLIC_NAMES - {"time_unit_type"}:
        assert getattr(rp, name).__module__ == "reflow.retry_policy", name
    assert repr(wait_fixed(1)).startswith("<reflow.retry_policy.wait_fixed object at 0x")


def test_attributes_keep_the_peers_names_and_conversions() -> None:
    assert vars(wait_fixed(3)) == {"wait": 3.0}
    assert vars(wait_none()) == {"wait": 0.0}
    assert vars(wait_exponential(2, timedelta(seconds=9), 3, 1)) == {
        "multiplier": 2.0, "exp_base": 3.0, "max": 9.0, "min": 1.0,
    }  # fmt: skip
    assert vars(wait_incrementing(timedelta(seconds=1), 2, 3)) == {
        "start": 1.0, "increment": 2.0, "max": 3.0,
    }  # fmt: skip
    assert vars(wait_random(timedelta(seconds=1), 2)) == {"min": 1.0, "max": 2.0}
    jitter = wait_exponential_jitter(1, 3, 2, 4)
    assert vars(jitter) == {"initial": 1, "exp_base": 2, "max": 3, "jitter": 4, "min": 0.0}
    assert type(jitter.initial) is int
    assert vars(stop_after_attempt(3)) == {"max_attempt_number": 3}
    assert vars(stop_after_delay(timedelta(seconds=3))) == {"max_delay": 3.0}
    assert vars(stop_before_delay("4")) == {"max_delay": 4.0}  # type: ignore[arg-type]
    a, b = wait_fixed(1), wait_fixed(2)
    assert wait_chain(a, b).strategies == (a, b)
    assert stop_any(stop_never()).stops[0].__class__ is stop_never
    message = retry_if_exception_message(match="x")
    assert (message.message, message.match) == (None, "x")
    policy: Any = retry_policy()
    assert (policy.retry, type(policy.wait), type(policy.stop)) == (
        None, wait_fixed, stop_after_attempt,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# Wait strategies.


@given(
    st.integers(min_value=-20, max_value=60),
    st.floats(min_value=-10, max_value=10, allow_nan=False),
    st.floats(min_value=0.1, max_value=4, allow_nan=False),
    SMALL,
    SMALL,
)
def test_wait_exponential_stays_within_its_clamp(
    attempts: int, multiplier: float, base: float, low: float, high: float
) -> None:
    value = wait_exponential(multiplier, exp_base=base, max=high, min=low)(attempts)
    assert isinstance(value, float)
    if low <= high:
        assert max(0.0, low) <= value <= max(high, 0.0)
    raw = multiplier * base**attempts
    if max(0.0, low) <= raw <= high:
        assert value == raw


@given(st.integers(min_value=0, max_value=30), SMALL, SMALL, SMALL)
def test_wait_incrementing_is_linear_then_clamped(
    attempts: int, start: float, increment: float, cap: float
) -> None:
    value = wait_incrementing(start, increment, cap)(attempts)
    assert value == max(0.0, min(start + increment * attempts, cap))
    assert 0.0 <= value <= cap


@given(SMALL, SMALL, st.integers(min_value=0, max_value=50), SEEDS)
def test_wait_random_is_in_range_and_fixed_by_the_seed(
    low: float, width: float, attempts: int, seed: int
) -> None:
    wait = wait_random(low, low + width)
    value = wait(attempts, seed=seed)
    assert low <= value <= low + width
    assert wait(attempts + 1, seed=seed) == value  # the attempt number plays no part
    assert value == random.Random(seed).uniform(low, low + width)


@given(st.integers(min_value=0, max_value=12), SEEDS, SMALL, st.floats(0, 5))
def test_random_waits_are_reproducible_and_bounded(
    attempts: int, seed: int, cap: float, jitter: float
) -> None:
    full = wait_random_exponential(max=cap)
    value = full(attempts, seed=seed)
    assert full(attempts, seed=seed) == value
    assert 0.0 <= value <= min(max(cap, 0.0), 2.0**attempts) or value == 0.0
    jittered = wait_exponential_jitter(jitter=jitter, max=cap)
    noisy = jittered(attempts, seed=seed)
    assert jittered(attempts, seed=seed) == noisy
    assert noisy <= cap
    assert noisy >= min(2.0**attempts, cap)


@given(SEEDS, SEEDS)
def test_different_seeds_usually_give_different_random_waits(first: int, second: int) -> None:
    assume(first != second)
    assert wait_random(0, 1)(1, seed=first) != wait_random(0, 1)(1, seed=second)


def test_unseeded_random_waits_use_the_shared_generator() -> None:
    state = random.getstate()
    try:
        random.seed(1)
        first = wait_random()(1)
        random.seed(1)
        assert wait_random()(1) == first == random.Random(1).random()
        random.seed(1)
        assert wait_exponential_jitter()(1) == 2.134364244112401
    finally:
        random.setstate(state)


def test_seed_accepts_what_random_random_accepts() -> None:
    assert wait_random()(1, seed="abc") == 0.7720246314157545  # type: ignore[arg-type]
    assert wait_random()(1, seed=1.5) == 0.551763726942059  # type: ignore[arg-type]
    assert wait_random()(1, seed=True) == wait_random()(1, seed=1)
    with pytest.raises(TypeError):
        wait_random()(1, seed=(1, 2))  # type: ignore[arg-type]


def test_wait_chain_picks_by_attempt_and_repeats_the_last() -> None:
    calls: list[tuple[int, int | None]] = []

    def recording(attempts: int, *, seed: int | None = None) -> float:
        calls.append((attempts, seed))
        return 0.5

    chain = wait_chain(wait_fixed(1), recording)
    assert [chain(a, seed=3) for a in (0, 1, 5)] == [1.0, 0.5, 0.5]
    assert calls == [(1, 3), (5, 3)]
    with pytest.raises(ValueError, match=r"^wait_chain requires at least one strategy$"):
        wait_chain()


@given(st.lists(SMALL, min_size=1, max_size=6), st.integers(min_value=0, max_value=10))
def test_adding_waits_adds_their_delays(delays: list[float], attempts: int) -> None:
    parts = [wait_fixed(d) for d in delays]
    total = 0.0
    for d in delays:
        total += d
    assert sum(parts)(attempts) == total  # type: ignore[operator]
    assert wait_combine(*parts)(attempts) == sum(delays)


def test_wait_addition_operators() -> None:
    a, b = wait_fixed(1), wait_fixed(2)

    def plain(attempts: int, *, seed: int | None = None) -> float:
        return 10.0

    assert (0 + a) is a and (0.0 + a) is a
    combined: Any = a + b
    assert type(combined) is wait_combine and combined.strategies == (a, b)
    nested: Any = a + b + wait_fixed(3)
    assert type(nested.strategies[0]) is wait_combine  # no flattening, as in the peer
    right: Any = plain + a
    assert right.strategies == (a, plain) and right(1) == 11.0
    assert (a + plain)(1) == 11.0
    with pytest.raises(TypeError):
        _ = 5 + a
    with pytest.raises(TypeError):
        _ = a + 5  # type: ignore[operator]
    with pytest.raises(TypeError):
        _ = None + a


def test_huge_attempt_numbers_overflow_like_the_peer() -> None:
    with pytest.raises(OverflowError):
        wait_exponential()(2000)
    with pytest.raises(OverflowError):
        wait_exponential_jitter()(5000, seed=1)
    with pytest.raises(OverflowError):
        wait_random_exponential()(5000, seed=1)
    assert wait_exponential()(1000) == 60.0


def test_wait_arguments_are_validated() -> None:
    with pytest.raises(TypeError, match=r"wait_fixed\(wait\)"):
        wait_fixed(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"wait_fixed\(wait\).*'soon'"):
        wait_fixed("soon")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"wait_exponential\(multiplier\).*timedelta"):
        wait_exponential(multiplier=timedelta(seconds=1))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"wait_exponential_jitter\(initial\)"):
        wait_exponential_jitter("1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"wait_exponential_jitter\(exp_base\)"):
        wait_exponential_jitter(exp_base=timedelta(1))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"wait_chain\(\) argument 1"):
        wait_chain(wait_fixed(1), 5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"wait_combine\(\) argument 0"):
        wait_combine(None)  # type: ignore[arg-type]
    as_seconds: Any = timedelta(minutes=1)
    assert wait_exponential_jitter(max=as_seconds).max == 60.0
    as_fraction: Any = Fraction(500)
    assert wait_exponential_jitter(3, as_fraction, 3, 0)(6, seed=1) == 500.0


# --------------------------------------------------------------------------------------------
# Stop conditions.


@given(st.integers(min_value=0, max_value=50), st.integers(min_value=-5, max_value=60), SMALL)
def test_stop_after_attempt_stops_exactly_at_n(n: int, attempts: int, elapsed: float) -> None:
    assert stop_after_attempt(n)(attempts, elapsed) is (attempts >= n)


@given(SMALL, SMALL, SMALL)
def test_delay_stops(limit: float, elapsed: float, sleep: float) -> None:
    assert stop_after_delay(limit)(1, elapsed, upcoming_sleep=sleep) is (elapsed >= limit)
    assert stop_before_delay(limit)(1, elapsed, upcoming_sleep=sleep) is (elapsed + sleep >= limit)
    assert stop_before_delay(limit)(1, elapsed) is (elapsed >= limit)


@given(st.lists(st.booleans(), max_size=5))
def test_stop_any_and_all_combine_their_votes(votes: list[bool]) -> None:
    seen: list[tuple[int, float, float]] = []

    def voter(vote: bool) -> StopCondition:
        def stop(attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
            seen.append((attempts, elapsed_time, upcoming_sleep))
            return vote

        return stop

    conditions = [voter(v) for v in votes]
    assert stop_any(*conditions)(3, 1.5, upcoming_sleep=2.0) is any(votes)
    assert stop_all(*conditions)(3, 1.5, upcoming_sleep=2.0) is all(votes)
    assert set(seen) <= {(3, 1.5, 2.0)}


def test_stop_operators_and_short_circuit() -> None:
    assert (stop_after_attempt(2) | stop_after_delay(10))(2, 0.0) is True
    assert (stop_after_attempt(2) & stop_after_delay(10))(2, 0.0) is False
    either: Any = stop_never() | stop_after_attempt(2)
    assert type(either) is stop_any and type(either.stops[1]) is stop_after_attempt

    def plain(attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        return True

    left: Any = plain | stop_never()
    assert left.stops[0] is plain and left(1, 0.0) is True
    both: Any = plain & stop_never()
    assert type(both) is stop_all and both(1, 0.0) is False
    with pytest.raises(TypeError):
        _ = 5 | stop_never()  # type: ignore[operator]
    with pytest.raises(TypeError):
        _ = stop_never() & None  # type: ignore[operator]
    assert stop_any()(1, 0.0) is False and stop_all()(1, 0.0) is True
    assert stop_never()(10**9, 1e9, upcoming_sleep=1e9) is False


def test_stop_arguments_are_validated() -> None:
    with pytest.raises(TypeError, match=r"stop_after_attempt\(max_attempt_number\).*'3'"):
        stop_after_attempt("3")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"stop_after_delay\(max_delay\)"):
        stop_after_delay(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"stop_any\(\) argument 0"):
        stop_any(3)  # type: ignore[arg-type]
    assert stop_after_attempt(0)(0, 0.0) is True  # zero and floats are accepted, as by the peer
    assert stop_after_attempt(2.5)(2, 0.0) is False  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Retry conditions.


def test_type_conditions() -> None:
    assert [retry_if_exception_type(ValueError)(e) for e in (ERR, KeyError(), UnicodeError())] == [
        True, False, True,
    ]  # fmt: skip
    assert retry_if_exception_type()(KeyboardInterrupt()) is False
    assert retry_if_exception_type((KeyError, TypeError))(KeyError()) is True
    union: Any = KeyError | TypeError
    assert retry_if_exception_type(union)(TypeError()) is True
    assert retry_if_not_exception_type(ValueError)(ERR) is False
    assert retry_if_not_exception_type()(KeyboardInterrupt()) is True
    assert retry_unless_exception_type((KeyError, ValueError))(TypeError()) is True
    assert retry_unless_exception_type((KeyError, ValueError))(ERR) is False
    assert retry_if_exception_type(ValueError).predicate(ERR) is True
    assert retry_if_exception_type(KeyError).exception_types is KeyError


def test_predicate_results_pass_through_unchanged() -> None:
    def text(error: BaseException) -> Any:
        return "x"

    def one(error: BaseException) -> Any:
        return 1

    def zero(error: BaseException) -> Any:
        return 0

    result: Any = retry_if_exception(text)(ERR)
    assert result == "x"
    assert retry_any(one, zero)(ERR) is True
    assert retry_all(one, text)(ERR) is True


def test_message_conditions() -> None:
    assert retry_if_exception_message(message="boom")(ERR) is True
    assert retry_if_exception_message(message="boo")(ERR) is False
    assert retry_if_exception_message(message="")(ValueError()) is True
    assert retry_if_exception_message(message="'k'")(KeyError("k")) is True
    assert retry_if_exception_message(match="oo")(ERR) is True
    assert retry_if_exception_message(match="^oo")(ERR) is False
    assert retry_if_exception_message(match="")(ERR) is True
    assert retry_if_exception_message(match=re.compile("O", re.I))(ERR) is True
    assert retry_if_not_exception_message(message="boom")(ERR) is False
    assert retry_if_not_exception_message(match="zz")(ERR) is True


@pytest.mark.parametrize("cls", [retry_if_exception_message, retry_if_not_exception_message])
def test_message_conditions_need_exactly_one_argument(cls: Any) -> None:
    with pytest.raises(TypeError) as missing:
        cls()
    assert str(missing.value) == (
        "retry_if_exception_message() missing 1 required argument 'message' or 'match'"
    )
    with pytest.raises(TypeError) as both:
        cls("", "x")
    assert str(both.value) == (
        "retry_if_exception_message() takes either 'message' or 'match', not both"
    )
    with pytest.raises(re.error):
        cls(match="(")
    with pytest.raises(TypeError, match=r"\(match\) must be a str"):
        cls(match=b"x")
    with pytest.raises(TypeError, match=r"\(message\) must be a str"):
        cls(message=5)


def _chained(*errors: BaseException, context: bool = False) -> BaseException:
    for outer, inner in itertools.pairwise(errors):
        if context:
            outer.__context__ = inner
        else:
            outer.__cause__ = inner
    return errors[0]


def test_cause_condition_walks_the_cause_chain_only() -> None:
    on_value = retry_if_exception_cause_type(ValueError)
    assert on_value(ValueError()) is False  # the error itself is not its own cause
    assert on_value(_chained(KeyError(), ValueError())) is True
    assert on_value(_chained(KeyError(), TypeError(), ValueError())) is True
    assert on_value(_chained(KeyError(), ValueError(), context=True)) is False
    assert retry_if_exception_cause_type()(_chained(KeyError(), ValueError())) is True
    assert retry_if_exception_cause_type()(KeyError()) is False
    assert (
        retry_if_exception_cause_type(BaseException)(_chained(KeyError(), KeyboardInterrupt()))
        is True
    )


def test_cause_condition_terminates_on_a_cycle() -> None:
    first, second = KeyError(), ValueError()
    first.__cause__, second.__cause__ = second, first
    assert retry_if_exception_cause_type(TypeError)(first) is False
    assert retry_if_exception_cause_type(KeyError)(first) is True


@given(st.lists(st.booleans(), max_size=5))
def test_retry_any_and_all_short_circuit(votes: list[bool]) -> None:
    calls: list[int] = []

    def voter(index: int, vote: bool) -> RetryCondition:
        def condition(error: BaseException) -> bool:
            calls.append(index)
            return vote

        return condition

    conditions = [voter(i, v) for i, v in enumerate(votes)]
    assert retry_any(*conditions)(ERR) is any(votes)
    expected = votes.index(True) + 1 if True in votes else len(votes)
    assert calls == list(range(expected))
    calls.clear()
    assert retry_all(*conditions)(ERR) is all(votes)
    expected = votes.index(False) + 1 if False in votes else len(votes)
    assert calls == list(range(expected))


def test_retry_operators() -> None:
    either = retry_if_exception_type(KeyError) | retry_if_exception_type(ValueError)
    both = retry_if_exception_type(Exception) & retry_if_exception_type(KeyError)
    assert type(either) is retry_any and either(ERR) is True
    assert type(both) is retry_all and both(ERR) is False
    chained: Any = retry_always() | retry_never() | retry_never()
    assert type(chained.retries[0]) is retry_any  # binary nesting, as in the peer

    def plain(error: BaseException) -> bool:
        return False

    left: Any = plain | retry_always()
    assert left.retries[0] is plain and left(ERR) is True
    right: Any = retry_always() & plain
    assert right.retries == (right.retries[0], plain) and right(ERR) is False
    assert (plain & retry_always())(ERR) is False
    with pytest.raises(TypeError):
        _ = True | retry_always()  # type: ignore[operator]
    with pytest.raises(TypeError):
        _ = retry_always() | 5  # type: ignore[operator]
    assert retry_any()(ERR) is False and retry_all()(ERR) is True
    assert retry_always()(ERR) is True and retry_never()(ERR) is False


def test_retry_arguments_are_validated() -> None:
    with pytest.raises(TypeError, match=r"retry_if_exception\(predicate\) must be callable"):
        retry_if_exception(5)  # type: ignore[arg-type]
    for cls in (
        retry_if_exception_type,
        retry_if_not_exception_type,
        retry_unless_exception_type,
        retry_if_exception_cause_type,
    ):
        with pytest.raises(TypeError, match=rf"^{cls.__name__}\(exception_types\)"):
            cls([ValueError])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"retry_any\(\) argument 1"):
        retry_any(retry_always(), "x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"retry_all\(\) argument 0"):
        retry_all(None)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# The composed policy and the deprecated factories.


def test_policy_consults_retry_then_wait_then_stop() -> None:
    log: list[tuple[Any, ...]] = []

    def retry(error: BaseException) -> bool:
        log.append(("retry", error))
        return True

    def wait(attempts: int, *, seed: int | None = None) -> float:
        log.append(("wait", attempts, seed))
        return 4.0

    def stop(attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        log.append(("stop", attempts, elapsed_time, upcoming_sleep))
        return attempts >= 3

    policy = retry_policy(retry=retry, wait=wait, stop=stop)
    assert policy.next(1.25, 2, ERR, seed=11) == 4.0
    assert log == [("retry", ERR), ("wait", 1, 11), ("stop", 2, 1.25, 4.0)]
    assert policy.next(1.25, 3, ERR) is None
    log.clear()
    assert retry_policy(retry=retry_never(), wait=wait, stop=stop).next(0.0, 1, ERR) is None
    assert log == []  # a rejected error is never waited on


def test_policy_clamps_the_wait_index_at_zero_and_returns_the_wait_unchanged() -> None:
    seen: list[int] = []

    def wait(attempts: int, *, seed: int | None = None) -> float:
        seen.append(attempts)
        return 3  # an int stays an int

    policy = retry_policy(wait=wait, stop=stop_never())
    assert [policy.next(0.0, a, ERR) for a in (-3, 0, 1, 2, 5)] == [3, 3, 3, 3, 3]
    assert type(policy.next(0.0, 1, ERR)) is int
    assert seen[:5] == [0, 0, 0, 1, 4]


def test_policy_retries_any_exception_when_retry_is_none() -> None:
    assert retry_policy().next(0.0, 1, KeyboardInterrupt()) == 5.0  # type: ignore[arg-type]
    assert retry_policy().next(elapsed_time=0.0, attempts=1, error=ERR) == 5.0


def test_policy_arguments_are_validated() -> None:
    with pytest.raises(TypeError, match=r"retry_policy\(retry\)"):
        retry_policy(retry=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"retry_policy\(wait\)"):
        retry_policy(wait=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"retry_policy\(stop\)"):
        retry_policy(stop=None)  # type: ignore[arg-type]


def test_policies_satisfy_the_runtime_checkable_protocol() -> None:
    class OldStyle:
        def next(self, elapsed_time: float, attempts: int, error: Exception) -> float | None:
            return None

    assert isinstance(retry_policy(), RetryPolicy)
    assert isinstance(OldStyle(), RetryPolicy)
    assert not isinstance(object(), RetryPolicy)
    for protocol in (WaitStrategy, StopCondition, RetryCondition):
        with pytest.raises(TypeError):
            isinstance(wait_fixed(1), protocol)


def test_deprecated_factories_warn_at_the_call_site() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        constant = ConstantDelayRetryPolicy(maximum_attempts=2, delay=0.1)
        backoff = ExponentialBackoffRetryPolicy(jitter=False)
    assert [w.category for w in caught] == [DeprecationWarning, DeprecationWarning]
    assert [w.filename for w in caught] == [__file__, __file__]
    assert str(caught[0].message) == (
        "ConstantDelayRetryPolicy is deprecated, use "
        "retry_policy(wait=wait_fixed(delay), stop=stop_after_attempt(n)) instead"
    )
    assert str(caught[1].message) == (
        "ExponentialBackoffRetryPolicy is deprecated, use "
        "retry_policy(wait=wait_exponential(...), stop=stop_after_attempt(n)) instead"
    )
    assert type(constant) is type(retry_policy()) is type(backoff)
    parts: Any = deprecated(ExponentialBackoffRetryPolicy, 4, 0.5, 3.0, 10.0, True)
    assert type(parts.wait) is wait_random_exponential
    assert vars(parts.wait) == {"multiplier": 0.5, "exp_base": 3.0, "max": 10.0, "min": 0.0}
    assert vars(parts.stop) == {"max_attempt_number": 4}
    with pytest.raises(ValueError):  # the delay is converted before the attempt count is seen
        deprecated(ConstantDelayRetryPolicy, "a", "b")


def test_policies_pickle() -> None:
    policy = retry_policy(
        retry=retry_if_exception_type(KeyError) | retry_if_exception_message(match="again"),
        wait=wait_exponential(max=10) + wait_random(0, 1),
        stop=stop_after_attempt(4) | stop_before_delay(30),
    )
    clone: Any = pickle.loads(pickle.dumps(policy))
    for attempts in range(1, 6):
        assert clone.next(1.0, attempts, KeyError(), seed=9) == policy.next(
            1.0, attempts, KeyError(), seed=9
        )
    assert clone.next(1.0, 1, ValueError("try again")) is not None
    assert clone.next(1.0, 1, ValueError("no")) is None


# --------------------------------------------------------------------------------------------
# RetryInfo.


def test_retry_info_is_a_frozen_dataclass() -> None:
    failed_at = datetime(2024, 1, 2, tzinfo=timezone.utc)
    info = RetryInfo(1, 2.5, ERR, failed_at)
    assert (info.retry_number, info.elapsed_seconds, info.last_exception, info.last_failed_at) == (
        1, 2.5, ERR, failed_at,
    )  # fmt: skip
    assert info == RetryInfo(1, 2.5, ERR, failed_at)
    assert hash(info) == hash(RetryInfo(1, 2.5, ERR, failed_at))
    assert repr(RetryInfo(0, 0.0, None, None)) == (
        "RetryInfo(retry_number=0, elapsed_seconds=0.0, last_exception=None, last_failed_at=None)"
    )
    with pytest.raises(AttributeError, match="retry_number"):
        info.retry_number = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        RetryInfo(1)  # type: ignore[call-arg]


# --------------------------------------------------------------------------------------------
# Engine hooks.


@given(st.text(max_size=20), st.text(max_size=20), st.integers(min_value=0, max_value=10**6))
def test_retry_seed_is_the_low_32_bits_of_a_sha256(run_id: str, step: str, failures: int) -> None:
    seed = retry_seed(run_id, step, failures)
    digest = hashlib.sha256(f"{run_id}:{step}:{failures}".encode()).hexdigest()
    assert seed == int(digest, 16) % 2**32
    assert 0 <= seed < 2**32
    assert retry_seed(run_id, step, failures) == seed


class _Seeded:
    def next(
        self, elapsed_time: float, attempts: int, error: Exception, *, seed: int | None = None
    ) -> float | None:
        return float(seed) if seed is not None else -1.0


class _PositionalSeed:
    def next(
        self, elapsed_time: float, attempts: int, error: Exception, seed: int | None = None
    ) -> float | None:
        return float(seed) if seed is not None else -1.0


class _OldStyle:
    def next(self, elapsed_time: float, attempts: int, error: Exception) -> float | None:
        return elapsed_time + attempts


class _KeywordsOnly:
    def next(self, elapsed_time: float, attempts: int, error: Exception, **extra: Any) -> Any:
        return float(len(extra))


class _PositionalOnlySeed:
    def next(
        self, elapsed_time: float, attempts: int, error: Exception, seed: int = -1, /
    ) -> float | None:
        return float(seed)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (_Seeded(), 77.0),
        (_PositionalSeed(), 77.0),
        (_OldStyle(), 3.5),  # three-argument policies are called without seed
        (_KeywordsOnly(), 0.0),  # **kwargs does not count as declaring seed (as in the peer)
        (_PositionalOnlySeed(), -1.0),  # cannot be passed by keyword
    ],
    ids=["keyword-only", "positional", "old-style", "var-keyword", "positional-only"],
)
def test_compute_retry_delay_passes_seed_only_when_declared(policy: Any, expected: float) -> None:
    delay = compute_retry_delay(policy, elapsed_time=1.5, attempts=2, error=ERR, seed=77)
    assert delay == expected


def test_compute_retry_delay_handles_next_set_on_the_instance() -> None:
    class Bare:
        pass

    seeded, old = Bare(), Bare()
    seeded.next = lambda e, a, err, *, seed=None: float(seed)  # type: ignore[attr-defined]
    old.next = lambda e, a, err: 0.25  # type: ignore[attr-defined]
    assert compute_retry_delay(seeded, elapsed_time=0, attempts=1, error=ERR, seed=4) == 4.0  # type: ignore[arg-type]
    assert compute_retry_delay(old, elapsed_time=0, attempts=1, error=ERR, seed=4) == 0.25  # type: ignore[arg-type]


def test_compute_retry_delay_notices_a_replaced_next_method() -> None:
    class Policy:
        def next(self, elapsed_time: float, attempts: int, error: Exception) -> float | None:
            return 1.0

    policy: Any = Policy()
    assert compute_retry_delay(policy, elapsed_time=0, attempts=1, error=ERR, seed=4) == 1.0

    def seeded(
        self: Any, elapsed_time: float, attempts: int, error: Exception, *, seed: int = 0
    ) -> float:
        return float(seed)

    Policy.next = seeded  # type: ignore[method-assign]
    assert compute_retry_delay(policy, elapsed_time=0, attempts=1, error=ERR, seed=4) == 4.0


def test_compute_retry_delay_matches_the_composed_policy() -> None:
    policy = retry_policy(wait=wait_random_exponential(), stop=stop_after_attempt(5))
    delays = [
        compute_retry_delay(
            policy, elapsed_time=0.0, attempts=n, error=ERR, seed=retry_seed("WK35cECWn1", "s", n)
        )
        for n in range(1, 6)
    ]
    again = [policy.next(0.0, n, ERR, seed=retry_seed("WK35cECWn1", "s", n)) for n in range(1, 6)]
    assert delays == again and delays[-1] is None
    assert all(isinstance(d, float) for d in delays[:-1])


def test_compute_retry_delay_rejects_non_numeric_results_and_propagates_errors() -> None:
    class Wordy:
        def next(self, elapsed_time: float, attempts: int, error: Exception) -> Any:
            return "soon"

    class Broken:
        def next(self, elapsed_time: float, attempts: int, error: Exception) -> Any:
            raise RuntimeError("policy bug")

    wordy: Any = Wordy()
    broken: Any = Broken()
    with pytest.raises(TypeError, match=r"Wordy\.next\(\) returned 'soon'"):
        compute_retry_delay(wordy, elapsed_time=0, attempts=1, error=ERR, seed=0)
    with pytest.raises(RuntimeError, match="policy bug"):
        compute_retry_delay(broken, elapsed_time=0, attempts=1, error=ERR, seed=0)


# --------------------------------------------------------------------------------------------
# Parameter names, order and annotations are tenacity's (9.2), so code written against
# tenacity's constructors (positionally or by keyword) means the same here.

_TIME = int | float | timedelta
_EXC_TYPES = type[BaseException] | tuple[type[BaseException], ...]
TENACITY_PARAMETERS: dict[str, tuple[tuple[str, Any], ...]] = {
    "stop_after_attempt": (("max_attempt_number", int),),
    "stop_after_delay": (("max_delay", _TIME),),
    "stop_before_delay": (("max_delay", _TIME),),
    "wait_fixed": (("wait", _TIME),),
    "wait_exponential": (
        ("multiplier", float), ("max", _TIME), ("exp_base", float), ("min", _TIME),
    ),
    "wait_random_exponential": (
        ("multiplier", float), ("max", _TIME), ("exp_base", float), ("min", _TIME),
    ),
    "wait_full_jitter": (
        ("multiplier", float), ("max", _TIME), ("exp_base", float), ("min", _TIME),
    ),
    "wait_exponential_jitter": (
        ("initial", float), ("max", _TIME), ("exp_base", float), ("jitter", _TIME),
        ("min", _TIME), ("multiplier", float),
    ),
    "wait_incrementing": (("start", _TIME), ("increment", _TIME), ("max", _TIME)),
    "wait_random": (("min", _TIME), ("max", _TIME)),
    "retry_if_exception_type": (("exception_types", _EXC_TYPES),),
    "retry_if_not_exception_type": (("exception_types", _EXC_TYPES),),
    "retry_unless_exception_type": (("exception_types", _EXC_TYPES),),
    "retry_if_exception_cause_type": (("exception_types", _EXC_TYPES),),
    "retry_if_exception_message": (
        ("message", str | None), ("match", str | re.Pattern[str] | None),
    ),
    "retry_if_not_exception_message": (
        ("message", str | None), ("match", str | re.Pattern[str] | None),
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(TENACITY_PARAMETERS))
def test_parameter_names_order_and_annotations_are_tenacitys(name: str) -> None:
    cls = getattr(rp, name)
    hints = typing.get_type_hints(cls.__init__)
    names = [p for p in inspect.signature(cls).parameters]
    assert tuple((p, hints[p]) for p in names) == TENACITY_PARAMETERS[name]


def test_wait_exponential_jitter_takes_min_and_multiplier() -> None:
    tripled = wait_exponential_jitter(multiplier=3, jitter=0)
    assert seq(tripled, range(4)) == [3.0, 6.0, 12.0, 24.0]
    assert seq(wait_exponential_jitter(jitter=0, min=20, max=10), range(2)) == [20.0, 20.0]
    assert wait_exponential_jitter(initial=3).multiplier == 3
    with pytest.raises(ValueError, match="'initial' or 'multiplier'"):
        wait_exponential_jitter(initial=2, multiplier=3)


def test_positional_arguments_mean_what_they_mean_in_tenacity() -> None:
    # tenacity: wait_exponential(multiplier, max, exp_base, min)
    assert seq(wait_exponential(1, 10), range(6)) == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert wait_random_exponential(1, 5).max == 5.0
