"""Retries at run time: attempt counts, ``ctx.retry_info()``, what the policy is given."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import pytest
from compat_support import drain, step_states

from reflow import Context, Workflow, step
from reflow.errors import ContextStateError
from reflow.events import Event, StartEvent, StopEvent, WorkflowFailedEvent
from reflow.retry_policy import retry_policy, stop_after_attempt, wait_fixed, wait_none


class Attempt(Event):
    retry_number: int
    elapsed: float
    last: str
    failed_at: datetime | None


class FailsTwice(Workflow):
    @step(retry_policy=retry_policy(wait=wait_none(), stop=stop_after_attempt(3)))
    async def flaky(self, ctx: Context, ev: StartEvent) -> StopEvent:
        info = ctx.retry_info()
        ctx.write_event_to_stream(
            Attempt(
                retry_number=info.retry_number,
                elapsed=info.elapsed_seconds,
                last=repr(info.last_exception),
                failed_at=info.last_failed_at,
            )
        )
        if info.retry_number < ev.failures:
            raise ValueError(f"fail {info.retry_number}")
        return StopEvent(result=f"ok after {info.retry_number}")


async def test_step_is_retried_until_it_succeeds() -> None:
    handler = FailsTwice(timeout=2).run(failures=2)
    events = await drain(handler)
    assert await handler == "ok after 2"
    attempts = [ev for ev in events if isinstance(ev, Attempt)]
    assert [a.retry_number for a in attempts] == [0, 1, 2]
    assert [a.last for a in attempts] == ["None", "ValueError('fail 0')", "ValueError('fail 1')"]


async def test_retry_info_on_first_attempt_is_empty() -> None:
    events = await drain(FailsTwice(timeout=2).run(failures=0))
    first = events[0]
    assert isinstance(first, Attempt)
    assert (first.retry_number, first.elapsed, first.last, first.failed_at) == (
        0,
        0.0,
        "None",
        None,
    )


async def test_retry_info_records_when_and_how_long() -> None:
    events = await drain(FailsTwice(timeout=2).run(failures=2))
    later = [ev for ev in events if isinstance(ev, Attempt)][1:]
    for attempt in later:
        assert attempt.failed_at is not None
        assert attempt.failed_at.tzinfo is not None
        assert attempt.failed_at.utcoffset() == timezone.utc.utcoffset(None)
        assert attempt.elapsed > 0
    assert later[0].elapsed <= later[1].elapsed


async def test_exhausted_retries_fail_with_the_last_exception_and_attempt_count() -> None:
    handler = FailsTwice(timeout=2).run(failures=5)
    events = await drain(handler)
    failed = events[-1]
    assert isinstance(failed, WorkflowFailedEvent)
    assert failed.attempts == 3
    assert failed.step_name == "flaky"
    with pytest.raises(ValueError, match=r"^fail 2$"):
        await handler


async def test_each_retry_reruns_the_step_on_worker_zero() -> None:
    handler = FailsTwice(timeout=2).run(failures=1)
    events = await drain(handler, expose_internal=True)
    assert step_states(events) == [
        ("flaky", "running", "0"),
        ("flaky", "not_running", "0"),
        ("flaky", "running", "0"),
        ("flaky", "not_running", "0"),
    ]
    assert await handler == "ok after 1"


_policy_calls: list[tuple[object, ...]] = []


class SeededPolicy:
    def next(
        self, elapsed_time: float, attempts: int, error: Exception, *, seed: int | None = None
    ) -> float | None:
        _policy_calls.append((attempts, seed, type(error).__name__, elapsed_time >= 0))
        return 0.0 if attempts < 3 else None


class ThreeArgPolicy:
    def next(self, elapsed_time: float, attempts: int, error: Exception) -> float | None:
        _policy_calls.append(("three-arg", attempts))
        return 0.0 if attempts < 2 else None


class WithSeededPolicy(Workflow):
    @step(retry_policy=SeededPolicy())
    async def start(self, ev: StartEvent) -> StopEvent:
        raise KeyError("x")


class WithThreeArgPolicy(Workflow):
    @step(retry_policy=ThreeArgPolicy())
    async def start(self, ev: StartEvent) -> StopEvent:
        raise KeyError("x")


def _expected_seed(run_id: str, step_name: str, failures: int) -> int:
    digest = hashlib.sha256(f"{run_id}:{step_name}:{failures}".encode()).hexdigest()
    return int(digest, 16) & 0xFFFFFFFF


async def test_policy_gets_failure_count_and_a_deterministic_seed() -> None:
    _policy_calls.clear()
    with pytest.raises(KeyError):
        await WithSeededPolicy(timeout=2).run(run_id="seeded-run")
    assert _policy_calls == [
        (n, _expected_seed("seeded-run", "start", n), "KeyError", True) for n in (1, 2, 3)
    ]


async def test_three_argument_policies_are_called_without_a_seed() -> None:
    _policy_calls.clear()
    with pytest.raises(KeyError):
        await WithThreeArgPolicy(timeout=2).run()
    assert _policy_calls == [("three-arg", 1), ("three-arg", 2)]


class Ping(Event):
    pass


class RetryTargetsOneStep(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Ping | None:
        await ctx.store.set("observer_runs", 0)
        ctx.send_event(Ping())
        return None

    @step(retry_policy=retry_policy(wait=wait_fixed(0.001), stop=stop_after_attempt(3)))
    async def flaky(self, ctx: Context, ev: Ping) -> StopEvent:
        if ctx.retry_info().retry_number < 2:
            raise RuntimeError("again")
        return StopEvent(result=await ctx.store.get("observer_runs"))

    @step
    async def observer(self, ctx: Context, ev: Ping) -> None:
        async with ctx.store.edit_state() as state:
            state["observer_runs"] += 1


async def test_a_retry_is_delivered_only_to_the_failing_step() -> None:
    assert await RetryTargetsOneStep(timeout=2).run() == 1


async def test_retry_info_outside_a_step_raises_context_state_error() -> None:
    handler = FailsTwice(timeout=2).run(failures=0)
    await handler
    with pytest.raises(ContextStateError) as info:
        handler.ctx.retry_info()
    assert str(info.value) == "retry_info is only available from within step functions."


class NoPolicy(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> StopEvent:
        raise ValueError(str(ctx.retry_info().retry_number))


async def test_without_a_policy_a_step_runs_once() -> None:
    handler = NoPolicy(timeout=2).run()
    events = await drain(handler)
    assert isinstance(events[-1], WorkflowFailedEvent)
    assert events[-1].attempts == 1
    with pytest.raises(ValueError, match=r"^0$"):
        await handler
