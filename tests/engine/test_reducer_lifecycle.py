"""The reducer's run lifecycle: completion, publishing, cancel, idle, run timeout, late ticks,
delayed events and resuming a restored state."""

from __future__ import annotations

from reflow.engine import (
    CommandCancelStep,
    CommandCancelTimer,
    CommandCompleteRun,
    CommandHaltRun,
    CommandIdleCheck,
    CommandPublish,
    CommandRunStep,
    CommandSchedule,
    RunState,
    TickAddEvent,
    TickCancelRun,
    TickCollect,
    TickIdleCheck,
    TickPublishEvent,
    TickStartRun,
    TickStepFailed,
    TickStepReturned,
    TickTimerFired,
    WorkflowTick,
    reduce,
)
from reflow.engine.codec import state_from_json, state_to_json
from reflow.engine.state import TimerRunTimeout
from reflow.errors import WorkflowCancelledByUser, WorkflowTimeoutError
from reflow.events import (
    WorkflowCancelledEvent,
    WorkflowIdleEvent,
    WorkflowTimedOutEvent,
)

from ._harness import (
    Answer,
    Begin,
    Driver,
    Finished,
    FixedRetry,
    Ping,
    Pong,
    Stray,
    codec_for,
    config,
    dumps,
    only,
    published,
    published_of,
    runs,
    spec,
)


def _busy() -> Driver:
    """Attempts 2 (work) and 3 (sink) running, a queued Ping, a parked attempt 4, a buffer."""
    driver = Driver(
        config(
            spec("begin", Begin),
            spec("work", Ping, num_workers=1),
            spec("sink", Pong),
            timeout=50.0,
        )
    )
    driver.start(Begin())
    driver.finish(1, None)
    driver.submit(TickAddEvent(0.0, Ping(n=1)))
    driver.submit(TickAddEvent(0.0, Ping(n=2)))
    driver.submit(TickAddEvent(0.0, Pong()))
    driver.submit(TickAddEvent(0.0, Pong(n=1)))
    driver.park(4, Answer, timeout=5.0)
    driver.submit(TickCollect(0.0, "work", "b", Pong(), [Pong, Pong]))
    return driver


def test_a_returned_stop_event_completes_the_run_and_stops_everything() -> None:
    driver = _busy()
    timers = set(driver.state.timers)
    finished = Finished(n=3)
    cmds = driver.finish(3, finished)
    assert published(cmds)[-1] == finished
    assert only(cmds, CommandCompleteRun) == CommandCompleteRun(finished)
    assert [c.attempt_id for c in cmds if isinstance(c, CommandCancelStep)] == [2]
    assert {c.timer_id for c in cmds if isinstance(c, CommandCancelTimer)} == timers
    state = driver.state
    assert (state.status, state.is_running, state.finished) == ("completed", False, True)
    assert state.waiters == {} and state.timers == {} and state.run_timer is None
    assert all(not r.queue and not r.active and not r.collected for r in state.steps.values())


def test_publish_puts_the_event_on_the_stream_only() -> None:
    driver = _busy()
    stray = Stray(n=1)
    cmds = driver.submit(TickPublishEvent(1.0, stray))
    assert cmds == [CommandPublish(stray)]


def test_cancel_publishes_halts_and_keeps_the_work() -> None:
    driver = _busy()
    queued = len(driver.state.steps["work"].queue)
    cmds = driver.submit(TickCancelRun(1.0))
    assert published_of(cmds, WorkflowCancelledEvent) == [WorkflowCancelledEvent()]
    halt = only(cmds, CommandHaltRun)
    assert isinstance(halt.exception, WorkflowCancelledByUser)
    assert sorted(c.attempt_id for c in cmds if isinstance(c, CommandCancelStep)) == [2, 3]
    state = driver.state
    assert (state.status, state.is_running) == ("cancelled", True)
    assert sorted(state.steps["work"].active) == [2] and sorted(state.steps["sink"].active) == [3]
    assert len(state.steps["work"].queue) == queued and len(state.waiters) == 1
    (waiter,) = state.waiters.values()
    assert list(state.timers) == [waiter.timer_id]  # the run timeout is gone
    assert state.steps["work"].collected["b"].events() == [Pong()]


def test_idle_is_published_once_per_quiescent_period() -> None:
    driver = Driver(config(spec("begin", Begin), spec("work", Ping)))
    cmds = driver.start(Begin())
    assert CommandIdleCheck() not in cmds
    cmds = driver.finish(1, None)
    assert cmds.count(CommandIdleCheck()) == 1
    assert published_of(driver.idle_check(), WorkflowIdleEvent) == [WorkflowIdleEvent()]
    assert CommandIdleCheck() not in driver.submit(TickPublishEvent(1.0, Stray()))
    assert published_of(driver.submit(TickIdleCheck(1.0)), WorkflowIdleEvent) == []
    # New work ends the quiescent period; the next one is announced again.
    driver.submit(TickAddEvent(2.0, Ping()))
    assert CommandIdleCheck() in driver.finish(2, None)
    assert published_of(driver.idle_check(), WorkflowIdleEvent) == [WorkflowIdleEvent()]


def test_an_idle_check_after_new_work_publishes_nothing() -> None:
    driver = Driver(config(spec("begin", Begin), spec("work", Ping)))
    driver.start(Begin())
    driver.finish(1, None)
    driver.submit(TickAddEvent(1.0, Ping()))
    assert published_of(driver.idle_check(), WorkflowIdleEvent) == []
    assert driver.state.idle_published is False


def test_the_run_timeout_names_the_active_steps_sorted() -> None:
    driver = _busy()
    cmds = driver.fire(driver.state.run_timer or 0)
    assert published_of(cmds, WorkflowTimedOutEvent) == [
        WorkflowTimedOutEvent(timeout=50.0, active_steps=["sink", "work"])
    ]
    error = only(cmds, CommandHaltRun).exception
    assert isinstance(error, WorkflowTimeoutError)
    assert str(error) == (
        "Operation timed out after 50.0 seconds. Currently active steps: sink, work"
    )
    assert (driver.state.status, driver.state.is_running) == ("timed_out", False)


def test_the_run_timeout_without_active_steps() -> None:
    driver = Driver(config(spec("begin", Begin), timeout=2))
    driver.start(None)
    cmds = driver.fire(driver.state.run_timer or 0)
    assert str(only(cmds, CommandHaltRun).exception) == (
        "Operation timed out after 2.0 seconds. No steps active"
    )
    assert published_of(cmds, WorkflowTimedOutEvent)[0].active_steps == []


def test_ticks_after_the_end_are_ignored() -> None:
    driver = _busy()
    timer_ids = list(driver.state.timers)
    driver.finish(3, Finished())
    codec = codec_for(driver.config)
    before = dumps(state_to_json(driver.state, codec))
    late: list[WorkflowTick] = [
        TickStepReturned(9.0, "work", 2, Pong()),
        TickStepFailed(9.0, "work", 2, ValueError()),
        TickAddEvent(9.0, Ping()),
        TickTimerFired(9.0, timer_ids[0]),
        TickCancelRun(9.0),
        TickIdleCheck(9.0),
        TickPublishEvent(9.0, Stray()),
    ]
    for tick in late:
        assert reduce(driver.state, tick) == (driver.state, []), tick
    assert dumps(state_to_json(driver.state, codec)) == before


def test_a_delayed_event_is_routed_when_its_timer_fires() -> None:
    driver = Driver(config(spec("work", Ping)))
    driver.start(None)
    ping = Ping()
    cmds = driver.submit(TickAddEvent(2.0, ping, delay=3.0))
    assert runs(cmds) == [] and only(cmds, CommandSchedule).due == 5.0
    (timer_id,) = driver.timers
    assert [r.event for r in runs(driver.fire(timer_id))] == [ping]


def test_an_added_event_carries_its_retry_bookkeeping() -> None:
    driver = Driver(config(spec("work", Ping)))
    driver.start(None)
    error = ValueError("before")
    tick = TickAddEvent(
        5.0,
        Ping(),
        step_name="work",
        attempts=2,
        first_attempt_at=1.0,
        last_exception=error,
        last_failed_at=4.0,
        recovery_counts={"rescue": 1},
    )
    run = only(driver.submit(tick), CommandRunStep)
    assert (run.retry.retry_number, run.retry.first_attempt_at) == (2, 1.0)
    assert (run.retry.last_exception, run.retry.last_failed_at) == (error, 4.0)
    assert run.recovery_counts == {"rescue": 1}


def _restored(driver: Driver) -> RunState:
    codec = codec_for(driver.config)
    return state_from_json(state_to_json(driver.state, codec), driver.config, codec)


def test_resuming_requeues_in_flight_attempts_first_and_rearms_timers() -> None:
    driver = _busy()
    state = _restored(driver)
    waiter_timer = next(iter(state.waiters.values())).timer_id
    state, cmds = reduce(state, TickStartRun(at=100.0))
    started = runs(cmds)
    assert [(r.step_name, r.attempt_id, r.event) for r in started] == [
        ("work", 2, Ping(n=1)),
        ("sink", 3, Pong()),
    ]
    armed = {c.timer_id: c.due for c in cmds if isinstance(c, CommandSchedule)}
    assert armed[waiter_timer or 0] == 5.0  # restored as it was
    assert state.status == "running" and state.started_at == 0.0  # the first start


def test_resuming_arms_a_fresh_run_timeout_and_drops_the_old_one() -> None:
    driver = _busy()
    old_timer = driver.state.run_timer
    state, cmds = reduce(_restored(driver), TickStartRun(at=100.0))
    assert old_timer not in state.timers
    run_timers = [t for t in state.timers.values() if isinstance(t.action, TimerRunTimeout)]
    assert [t.due for t in run_timers] == [150.0]
    assert old_timer not in [c.timer_id for c in cmds if isinstance(c, CommandSchedule)]


def test_a_cancelled_run_keeps_its_pending_timers_for_a_resume() -> None:
    driver = Driver(
        config(
            spec("work", Ping, retry_policy=FixedRetry(3.0, 5)),
            spec("slow", Pong, timeout=9.0),
            timeout=20.0,
        )
    )
    driver.start(None)
    driver.submit(TickAddEvent(0.0, Ping(n=1)))
    driver.fail(1, ValueError("retry me"))  # a retry timer is pending
    (retry_timer,) = [t for t in driver.timers if t != driver.state.run_timer]
    driver.submit(TickAddEvent(0.0, Pong()))  # attempt 2, with a deadline
    (deadline,) = [t for t in driver.timers if t not in (retry_timer, driver.state.run_timer)]
    cmds = driver.submit(TickCancelRun(1.0))
    assert CommandCancelTimer(retry_timer) in cmds  # disarmed in the shell...
    assert CommandCancelTimer(deadline) in cmds
    assert list(driver.state.timers) == [retry_timer]
    state, cmds = reduce(_restored(driver), TickStartRun(at=10.0))
    assert CommandSchedule(retry_timer, 3.0) in cmds  # ...and armed again on resume
    state, cmds = reduce(state, TickTimerFired(10.0, retry_timer))
    assert only(cmds, CommandRunStep).retry.retry_number == 1
