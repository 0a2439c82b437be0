"""The reducer's ``wait_for_event`` parking and ``collect_events`` buffering."""

from __future__ import annotations

from reflow.engine import (
    CommandCancelTimer,
    CommandReply,
    CommandRunStep,
    CommandSchedule,
    TickAddEvent,
    TickCollect,
)
from reflow.engine.state import TimerWaiterTimeout
from reflow.events import Event, StepState, StepStateChanged

from ._harness import (
    Answer,
    Ask,
    Begin,
    Driver,
    Ping,
    Pong,
    config,
    only,
    published,
    published_of,
    runs,
    spec,
)


def _asker(num_workers: int = 1) -> Driver:
    driver = Driver(config(spec("asker", Begin, Ping, num_workers=num_workers)))
    driver.start(Begin())
    return driver


def test_parking_frees_the_slot_publishes_the_waiter_event_and_arms_the_timeout() -> None:
    driver = _asker()
    queued = Ping(n=1)
    driver.submit(TickAddEvent(0.0, queued))
    ask = Ask(n=1)
    driver.now = 4.0
    cmds = driver.park(1, Answer, {"key": "a"}, waiter_event=ask, timeout=2.5)
    assert published(cmds).count(ask) == 1
    changed = published_of(cmds, StepStateChanged)
    assert (changed[0].step_state, changed[0].worker_id) == (StepState.NOT_RUNNING, "0")
    schedule = only(cmds, CommandSchedule)
    assert schedule.due == 6.5
    assert driver.state.timers[schedule.timer_id].action == TimerWaiterTimeout("asker:1:w#0")
    waiter = driver.state.waiters["asker:1:w#0"]
    assert (waiter.waiter_id, waiter.slot, waiter.event_type) == ("w", "w#0", Answer)
    assert waiter.requirements == {"key": "a"} and waiter.timer_id == schedule.timer_id
    assert [(r.attempt_id, r.event) for r in runs(cmds)] == [(2, queued)]  # the freed slot


def test_the_waiter_event_is_published_only_when_the_waiter_is_created() -> None:
    driver = _asker()
    ask = Ask()
    driver.park(1, Answer, waiter_event=ask)
    cmds = driver.submit(TickAddEvent(1.0, Answer()))
    assert ask not in published(cmds)


def test_resolution_resumes_the_attempt_and_cancels_its_timeout() -> None:
    driver = _asker()
    driver.park(1, Answer, timeout=10.0)
    (timer_id,) = driver.timers
    answer = Answer(key="z")
    cmds = driver.submit(TickAddEvent(1.0, answer))
    assert CommandCancelTimer(timer_id) in cmds
    resumed = only(cmds, CommandRunStep)
    assert (resumed.attempt_id, resumed.resume_waiter, resumed.resolved) == (
        1,
        "w#0",
        {"w#0": answer},
    )


def test_a_resolved_waiter_resumes_ahead_of_queued_work() -> None:
    driver = _asker(num_workers=1)
    driver.park(1, Answer)
    driver.submit(TickAddEvent(0.0, Ping(n=1)))  # attempt 2 takes the slot
    driver.submit(TickAddEvent(0.0, Ping(n=2)))  # queued
    driver.submit(TickAddEvent(0.0, Answer()))  # resumption queued in front
    assert [w.attempt_id for w in driver.state.steps["asker"].queue] == [1, None]
    cmds = driver.finish(2, None)
    assert [(r.attempt_id, r.resume_waiter) for r in runs(cmds)] == [(1, "w#0")]


def test_a_waiter_timeout_resumes_the_attempt_with_none() -> None:
    driver = _asker()
    driver.park(1, Answer, timeout=1.0)
    (timer_id,) = driver.timers
    resumed = only(driver.fire(timer_id), CommandRunStep)
    assert resumed.resolved == {"w#0": None} and resumed.resume_waiter == "w#0"
    assert driver.state.waiters == {}


def test_a_second_wait_in_the_same_attempt_keeps_the_first_outcome() -> None:
    driver = _asker()
    first = Answer(key="1")
    driver.park(1, Answer)
    driver.submit(TickAddEvent(0.0, first))
    driver.park(1, Answer)
    second = Answer(key="2")
    resumed = only(driver.submit(TickAddEvent(0.0, second)), CommandRunStep)
    assert resumed.resolved == {"w#0": first, "w#1": second}
    assert resumed.resume_waiter == "w#1"


def test_equal_waiter_ids_in_two_attempts_do_not_collide() -> None:
    driver = _asker(num_workers=2)
    driver.submit(TickAddEvent(0.0, Ping()))
    driver.park(1, Answer)
    driver.park(2, Answer)
    assert sorted(driver.state.waiters) == ["asker:1:w#0", "asker:2:w#0"]
    cmds = driver.submit(TickAddEvent(0.0, Answer()))
    assert sorted(r.attempt_id for r in runs(cmds)) == [1, 2]


def _collect(
    driver: Driver, event: Event, expected: list[type[Event]], buffer_id: str = "b"
) -> object:
    cmds = driver.submit(TickCollect(0.0, "asker", buffer_id, event, expected))
    return only(cmds, CommandReply).value


def test_collect_releases_in_expected_order_once_complete() -> None:
    driver = _asker()
    expected: list[type[Event]] = [Pong, Ping]
    ping, pong = Ping(), Pong()
    assert _collect(driver, ping, expected) is None
    assert _collect(driver, pong, expected) == [pong, ping]
    assert driver.state.steps["asker"].collected["b"].by_type == {}


def test_collect_drops_events_beyond_the_expected_count() -> None:
    # The peer neither buffers a surplus event nor keeps one past a release.
    driver = _asker()
    expected: list[type[Event]] = [Pong, Ping]
    first, surplus, ping = Pong(n=0), Pong(n=1), Ping()
    assert _collect(driver, first, expected) is None
    assert _collect(driver, surplus, expected) is None
    assert _collect(driver, ping, expected) == [first, ping]
    assert driver.state.steps["asker"].collected["b"].by_type == {}


def test_collect_recounts_the_buffer_for_a_new_expected_list() -> None:
    driver = _asker()
    pongs = [Pong(n=i) for i in range(3)]
    assert _collect(driver, pongs[0], [Pong, Ping]) is None
    assert _collect(driver, pongs[1], [Pong, Ping]) is None  # a surplus: dropped
    assert _collect(driver, pongs[2], [Pong, Pong]) == [pongs[0], pongs[2]]


def test_collect_does_not_buffer_unexpected_types() -> None:
    driver = _asker()
    assert _collect(driver, Ping(), [Pong]) is None
    assert Ping not in driver.state.steps["asker"].collected["b"].by_type


def test_collect_with_nothing_expected_returns_an_empty_list() -> None:
    driver = _asker()
    assert _collect(driver, Ping(), []) == []


def test_collect_buffers_are_separate_per_buffer_id() -> None:
    driver = _asker()
    expected: list[type[Event]] = [Pong]
    kept = Pong(n=1)
    assert _collect(driver, Ping(), [Pong, Ping], buffer_id="x") is None
    assert _collect(driver, kept, expected, buffer_id="y") == [kept]
    assert _collect(driver, Pong(), [Pong, Ping], buffer_id="x") is not None
