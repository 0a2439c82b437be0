"""``@step(timeout=seconds)``: one attempt that runs too long fails with ``StepTimeoutError``.

The peer has only a whole-run timeout and the ``wait_for_event`` timeout.  In reflow a timed
out attempt is cancelled and fails like any other step failure: the retry policy sees it
first, then ``@catch_error``.
"""

from __future__ import annotations

import asyncio
import math
import threading
from typing import Any

import pytest

from reflow import Context, Workflow, catch_error, step
from reflow.errors import StepTimeoutError, WorkflowTimeoutError, WorkflowValidationError
from reflow.events import (
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StepFailedEvent,
    StopEvent,
    WorkflowFailedEvent,
)
from reflow.retry_policy import (
    retry_if_exception_type,
    retry_policy,
    stop_after_attempt,
    wait_fixed,
)


class RetriedThenCaught(Workflow):
    def __init__(self) -> None:
        super().__init__(timeout=5)
        self.attempts: list[int] = []
        self.cancelled: list[int] = []

    @step(timeout=0.05, retry_policy=retry_policy(stop=stop_after_attempt(2), wait=wait_fixed(0)))
    async def slow(self, ctx: Context, ev: StartEvent) -> StopEvent:
        attempt = ctx.retry_info().retry_number
        self.attempts.append(attempt)
        try:
            await asyncio.Event().wait()  # never set: only the step timeout ends this
        except asyncio.CancelledError:
            self.cancelled.append(attempt)
            raise
        return StopEvent(result="unreachable")

    @catch_error
    async def recover(self, ev: StepFailedEvent) -> StopEvent:
        return StopEvent(result=ev)


async def test_a_step_timeout_is_retried_by_the_policy_then_caught_by_catch_error() -> None:
    workflow = RetriedThenCaught()
    failed = await workflow.run()
    assert isinstance(failed, StepFailedEvent)
    assert failed.step_name == "slow"
    assert failed.attempts == 2
    error = failed.exception
    assert isinstance(error, StepTimeoutError)
    assert isinstance(error, TimeoutError)
    assert (error.step_name, error.timeout) == ("slow", 0.05)
    assert str(error) == "Step 'slow' timed out after 0.05 seconds"
    assert workflow.attempts == [0, 1]
    # Each timed-out attempt was really stopped, not left running in the background.
    assert workflow.cancelled == [0, 1]


class Unhandled(Workflow):
    @step(timeout=0.05)
    async def slow(self, ev: StartEvent) -> StopEvent:
        await asyncio.Event().wait()
        return StopEvent(result="unreachable")


async def test_an_uncaught_step_timeout_fails_the_run_with_step_timeout_error() -> None:
    handler = Unhandled(timeout=5).run()
    published = [ev async for ev in handler.stream_events()]
    with pytest.raises(StepTimeoutError, match=r"Step 'slow' timed out after 0\.05 seconds"):
        await handler
    assert isinstance(published[-1], WorkflowFailedEvent)
    assert not issubclass(StepTimeoutError, WorkflowTimeoutError)  # a step's, not the run's


class SyncSlow(Workflow):
    release = threading.Event()

    @step(timeout=0.05)
    def slow(self, ev: StartEvent) -> StopEvent:
        self.release.wait(10)
        return StopEvent(result="too late")


async def test_a_plain_function_step_times_out_too() -> None:
    try:
        with pytest.raises(StepTimeoutError):
            await SyncSlow(timeout=5).run()
    finally:
        SyncSlow.release.set()  # a thread cannot be killed: let the worker thread finish


def retrying_only(retry_on: type[BaseException], attempts: list[int]) -> Workflow:
    """A workflow whose timed-out step is retried only when the error is a ``retry_on``."""

    class RetriesSome(Workflow):
        @step(
            timeout=0.05,
            retry_policy=retry_policy(
                retry=retry_if_exception_type(retry_on),
                stop=stop_after_attempt(3),
                wait=wait_fixed(0),
            ),
        )
        async def slow(self, ev: StartEvent) -> StopEvent:
            attempts.append(len(attempts))
            await asyncio.Event().wait()
            return StopEvent(result="unreachable")

    return RetriesSome(timeout=5)


@pytest.mark.parametrize(("retry_on", "expected"), [(TimeoutError, [0, 1, 2]), (ValueError, [0])])
async def test_the_retry_policy_sees_a_timeout_error(
    retry_on: type[BaseException], expected: list[int]
) -> None:
    attempts: list[int] = []
    with pytest.raises(StepTimeoutError):
        await retrying_only(retry_on, attempts).run()
    assert attempts == expected


class WaitsLongerThanItsTimeout(Workflow):
    @step(timeout=0.3)
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        reply = await ctx.wait_for_event(HumanResponseEvent, waiter_event=InputRequiredEvent())
        return StopEvent(result=reply.response)


async def test_time_suspended_in_wait_for_event_does_not_count_against_the_timeout() -> None:
    handler = WaitsLongerThanItsTimeout(timeout=5).run()
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent):
            await asyncio.sleep(0.6)  # twice the step's timeout, spent waiting
            await handler.send_event(HumanResponseEvent(response="late but fine"))
    assert await handler == "late but fine"


class FastEnough(Workflow):
    @step(timeout=5)
    async def quick(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result="done")


async def test_an_attempt_within_its_timeout_is_unaffected() -> None:
    assert await FastEnough(timeout=5).run() == "done"


@pytest.mark.parametrize("timeout", [0, -1, math.nan, "1", True])
def test_an_invalid_step_timeout_is_refused_at_decoration(timeout: Any) -> None:
    with pytest.raises(WorkflowValidationError, match="timeout must be a positive number"):

        class Refused(Workflow):
            @step(timeout=timeout)
            async def slow(self, ev: StartEvent) -> StopEvent:
                return StopEvent()
