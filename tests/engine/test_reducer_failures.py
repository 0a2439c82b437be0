"""The reducer's failure path: retry policy, then ``@catch_error`` within budget, else fail."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from reflow.engine import (
    CommandCancelStep,
    CommandCancelTimer,
    CommandFailRun,
    CommandRunStep,
    CommandSchedule,
    TickAddEvent,
)
from reflow.engine.state import TimerAddEvent, TimerStepDeadline
from reflow.errors import StepTimeoutError
from reflow.events import (
    StepFailedEvent,
    StepState,
    StepStateChanged,
    WorkflowFailedEvent,
)

from ._harness import (
    Begin,
    Driver,
    FixedRetry,
    Ping,
    Pong,
    config,
    only,
    published_of,
    runs,
    spec,
)


def _retrying(delay: float, max_failures: int, **options: object) -> Driver:
    driver = Driver(
        config(spec("work", Ping, retry_policy=FixedRetry(delay, max_failures), **options))
    )
    driver.start(None)
    driver.now = 10.0
    driver.submit(TickAddEvent(10.0, Ping(n=1)))
    return driver


def test_a_failure_the_policy_retries_is_scheduled_then_rerun_with_retry_info() -> None:
    driver = _retrying(2.0, 3)
    error = ValueError("first")
    driver.now = 11.0
    cmds = driver.fail(1, error)
    schedule = only(cmds, CommandSchedule)
    assert schedule.due == 13.0
    action = driver.state.timers[schedule.timer_id].action
    assert isinstance(action, TimerAddEvent) and action.step_name == "work"
    assert runs(cmds) == []
    changed = published_of(cmds, StepStateChanged)
    assert [(c.step_state, c.worker_id) for c in changed] == [(StepState.NOT_RUNNING, "0")]

    rerun = only(driver.fire(schedule.timer_id), CommandRunStep)
    assert rerun.attempt_id == 2 and rerun.event == Ping(n=1)
    assert rerun.retry.retry_number == 1
    assert rerun.retry.first_attempt_at == 10.0
    assert rerun.retry.last_exception is error
    assert rerun.retry.last_failed_at == 11.0


def test_a_zero_delay_retry_runs_again_in_the_same_tick() -> None:
    driver = _retrying(0.0, 3)
    cmds = driver.fail(1, ValueError("x"))
    assert [c for c in cmds if isinstance(c, CommandSchedule)] == []
    assert only(cmds, CommandRunStep).retry.retry_number == 1


def test_when_retries_run_out_the_run_fails_with_the_step_error() -> None:
    driver = _retrying(0.0, 3)
    errors = [ValueError(f"e{i}") for i in range(3)]
    for error in errors[:2]:
        (attempt_id,) = driver.running
        driver.now += 1.0
        driver.fail(attempt_id, error)
    (attempt_id,) = driver.running
    driver.now += 1.0
    cmds = driver.fail(attempt_id, errors[2])
    (failed,) = published_of(cmds, WorkflowFailedEvent)
    assert (failed.step_name, failed.exception, failed.attempts) == ("work", errors[2], 3)
    assert failed.elapsed_seconds == 3.0
    assert only(cmds, CommandFailRun) == CommandFailRun(step_name="work", exception=errors[2])
    assert (driver.state.status, driver.state.is_running) == ("failed", False)


def test_base_exceptions_are_not_offered_to_the_retry_policy() -> None:
    driver = _retrying(0.0, 5)
    cmds = driver.fail(1, asyncio.CancelledError())
    assert driver.state.status == "failed"
    assert isinstance(only(cmds, CommandFailRun).exception, asyncio.CancelledError)


def _rescued(max_recoveries: int = 1) -> Driver:
    driver = Driver(
        config(
            spec("begin", Begin),
            spec("work", Ping),
            spec("rescue", StepFailedEvent, is_catch_error=True, max_recoveries=max_recoveries),
            handler_for_step={"work": "rescue"},
        )
    )
    driver.start(Begin())
    return driver


def test_an_exhausted_failure_goes_to_the_catch_error_handler() -> None:
    driver = _rescued()
    ping = Ping(n=4)
    driver.now = 2.0
    driver.finish(1, ping)
    driver.now = 5.0
    error = RuntimeError("broken")
    cmds = driver.fail(2, error)
    handled = only(cmds, CommandRunStep)
    assert handled.step_name == "rescue"
    assert handled.recovery_counts == {"rescue": 1}
    failed = handled.event
    assert isinstance(failed, StepFailedEvent)
    assert (failed.step_name, failed.input_event, failed.exception) == ("work", ping, error)
    assert (failed.attempts, failed.elapsed_seconds) == (1, 3.0)
    assert failed.failed_at == datetime.fromtimestamp(5.0, tz=timezone.utc)
    assert driver.state.status == "running"


def test_the_recovery_budget_follows_the_event_lineage() -> None:
    driver = _rescued(max_recoveries=1)
    driver.finish(1, Ping())
    driver.fail(2, RuntimeError("first"))
    recovered = driver.finish(3, Ping(n=1))  # the handler's output carries the budget used
    assert only(recovered, CommandRunStep).recovery_counts == {"rescue": 1}
    cmds = driver.fail(4, RuntimeError("second"))
    assert driver.state.status == "failed"
    assert only(cmds, CommandFailRun).step_name == "work"


def test_a_larger_budget_allows_more_recoveries() -> None:
    driver = _rescued(max_recoveries=2)
    driver.finish(1, Ping())
    driver.fail(2, RuntimeError("first"))
    driver.finish(3, Ping())
    cmds = driver.fail(4, RuntimeError("second"))
    assert only(cmds, CommandRunStep).recovery_counts == {"rescue": 2}


def test_a_step_deadline_times_the_attempt_out_as_a_failure() -> None:
    driver = Driver(config(spec("slow", Ping, timeout=5.0)))
    driver.start(None)
    cmds = driver.submit(TickAddEvent(1.0, Ping()))
    schedule = only(cmds, CommandSchedule)
    assert schedule.due == 6.0
    assert driver.state.timers[schedule.timer_id].action == TimerStepDeadline("slow", 1, 5.0)
    cmds = driver.fire(schedule.timer_id)
    assert only(cmds, CommandCancelStep) == CommandCancelStep("slow", 1)
    error = only(cmds, CommandFailRun).exception
    assert isinstance(error, StepTimeoutError)
    assert str(error) == "Step 'slow' timed out after 5 seconds"
    assert published_of(cmds, WorkflowFailedEvent)[0].exception is error


def test_a_step_deadline_goes_through_the_retry_policy() -> None:
    driver = Driver(config(spec("slow", Ping, timeout=5.0, retry_policy=FixedRetry(0.0, 2))))
    driver.start(None)
    driver.submit(TickAddEvent(0.0, Ping()))
    (deadline,) = driver.timers
    cmds = driver.fire(deadline)
    rerun = only(cmds, CommandRunStep)
    assert rerun.attempt_id == 2 and isinstance(rerun.retry.last_exception, StepTimeoutError)
    assert driver.state.status == "running"


def test_finishing_in_time_cancels_the_deadline() -> None:
    driver = Driver(config(spec("slow", Ping, timeout=5.0), spec("next", Pong)))
    driver.start(None)
    driver.submit(TickAddEvent(0.0, Ping()))
    (deadline,) = driver.timers
    cmds = driver.finish(1, Pong())
    assert CommandCancelTimer(deadline) in cmds
    assert driver.state.timers == {} and driver.timers == {}
