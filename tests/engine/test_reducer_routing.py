"""The reducer: starting a run, routing events, worker slots and waiters taking events first."""

from __future__ import annotations

from reflow.engine import (
    CommandRunStep,
    CommandSchedule,
    RunState,
    TickAddEvent,
    TickStartRun,
    reduce,
)
from reflow.engine.state import TimerRunTimeout
from reflow.events import StepState, StepStateChanged, UnhandledEvent

from ._harness import (
    Answer,
    Ask,
    Begin,
    Driver,
    Ping,
    PingChild,
    Pong,
    Stray,
    config,
    only,
    published,
    published_of,
    runs,
    spec,
)


def test_start_routes_the_start_event_and_runs_the_step() -> None:
    state = RunState.initial(config(spec("begin", Begin)))
    begin = Begin(n=1)
    state, cmds = reduce(state, TickStartRun(at=3.0, start_event=begin))
    assert (state.status, state.is_running, state.started_at, state.now) == (
        "running",
        True,
        3.0,
        3.0,
    )
    run = only(cmds, CommandRunStep)
    assert (run.step_name, run.worker_id, run.attempt_id, run.event) == ("begin", 0, 1, begin)
    assert run.retry.retry_number == 0 and run.retry.first_attempt_at == 3.0
    assert run.resolved == {} and run.resume_waiter is None
    changed = published_of(cmds, StepStateChanged)
    assert [(c.name, c.step_state, c.worker_id, c.input_event_name) for c in changed] == [
        ("begin", StepState.RUNNING, "0", "Begin")
    ]
    assert not [c for c in cmds if isinstance(c, CommandSchedule)]
    assert state.run_timer is None and state.timers == {}


def test_start_with_a_timeout_arms_the_run_timer() -> None:
    state = RunState.initial(config(spec("begin", Begin), timeout=30.0))
    state, cmds = reduce(state, TickStartRun(at=5.0, start_event=Begin()))
    schedule = only(cmds, CommandSchedule)
    assert schedule.due == 35.0
    assert state.run_timer == schedule.timer_id
    assert state.timers[schedule.timer_id].action == TimerRunTimeout(30.0)


def test_start_without_an_event_routes_nothing() -> None:
    state = RunState.initial(config(spec("begin", Begin)))
    state, cmds = reduce(state, TickStartRun(at=0.0))
    assert state.status == "running" and runs(cmds) == []


def test_exact_type_routing_ignores_subclasses_unless_accepted() -> None:
    exact = Driver(config(spec("begin", Begin), spec("work", Ping)))
    exact.start(None)
    cmds = exact.submit(TickAddEvent(1.0, PingChild()))
    assert runs(cmds) == []
    assert len(published_of(cmds, UnhandledEvent)) == 1

    loose = Driver(config(spec("begin", Begin), spec("work", Ping, accept_subclasses=True)))
    loose.start(None)
    child = PingChild()
    cmds = loose.submit(TickAddEvent(1.0, child))
    assert [(r.step_name, r.event) for r in runs(cmds)] == [("work", child)]


def test_an_event_goes_to_every_accepting_step_in_step_order() -> None:
    driver = Driver(config(spec("a", Ping), spec("skip", Pong), spec("b", Ping)))
    driver.start(None)
    ping = Ping()
    cmds = driver.submit(TickAddEvent(0.0, ping))
    assert [(r.step_name, r.attempt_id, r.event) for r in runs(cmds)] == [
        ("a", 1, ping),
        ("b", 2, ping),
    ]


def test_a_targeted_event_goes_only_to_its_step() -> None:
    driver = Driver(config(spec("a", Ping), spec("b", Ping)))
    driver.start(None)
    cmds = driver.submit(TickAddEvent(0.0, Ping(), step_name="b"))
    assert [r.step_name for r in runs(cmds)] == ["b"]


def test_an_unaccepted_event_is_reported_unhandled() -> None:
    driver = Driver(config(spec("begin", Begin)))
    driver.start(Begin())
    cmds = driver.submit(TickAddEvent(0.0, Stray()))
    assert published_of(cmds, UnhandledEvent) == [
        UnhandledEvent(
            event_type="Stray",
            qualified_name=f"{Stray.__module__}.Stray",
            step_name=None,
            idle=False,  # the begin step is still running
        )
    ]
    (attempt_id,) = driver.running
    driver.finish(attempt_id, None)
    cmds = driver.submit(TickAddEvent(1.0, Stray()))
    assert published_of(cmds, UnhandledEvent)[0].idle is True


def test_input_required_events_are_never_reported_unhandled() -> None:
    driver = Driver(config(spec("begin", Begin)))
    driver.start(None)
    assert published(driver.submit(TickAddEvent(0.0, Ask()))) == []


def test_a_returned_input_required_event_is_published_and_routed() -> None:
    driver = Driver(config(spec("begin", Begin), spec("human", Ask)))
    driver.start(Begin())
    ask = Ask(n=7)
    cmds = driver.finish(1, ask)
    assert ask in published(cmds)
    assert [(r.step_name, r.event) for r in runs(cmds)] == [("human", ask)]


def test_a_returned_input_required_event_nobody_accepts_is_only_published() -> None:
    driver = Driver(config(spec("begin", Begin)))
    driver.start(Begin())
    ask = Ask()
    cmds = driver.finish(1, ask)
    assert ask in published(cmds)
    assert published_of(cmds, UnhandledEvent) == []


def test_num_workers_queues_surplus_work_as_preparing() -> None:
    driver = Driver(config(spec("work", Ping, num_workers=2)))
    driver.start(None)
    pings = [Ping(n=i) for i in range(3)]
    started = [runs(driver.submit(TickAddEvent(0.0, p))) for p in pings]
    assert [[r.worker_id for r in s] for s in started] == [[0], [1], []]
    assert len(driver.state.steps["work"].queue) == 1
    cmds = driver.commands[-1]
    preparing = published_of(cmds, StepStateChanged)
    assert [(c.step_state, c.worker_id, c.input_event_name) for c in preparing] == [
        (StepState.PREPARING, "<enqueued>", "Ping")
    ]


def test_new_work_takes_the_lowest_free_worker_id() -> None:
    driver = Driver(config(spec("work", Ping, num_workers=3)))
    driver.start(None)
    for i in range(3):
        driver.submit(TickAddEvent(0.0, Ping(n=i)))
    by_worker = {cmd.worker_id: attempt_id for attempt_id, cmd in driver.running.items()}
    driver.finish(by_worker[1], None)
    driver.finish(by_worker[0], None)
    first = only(driver.submit(TickAddEvent(1.0, Ping(n=3))), CommandRunStep)
    second = only(driver.submit(TickAddEvent(1.0, Ping(n=4))), CommandRunStep)
    assert (first.worker_id, second.worker_id) == (0, 1)


def test_a_freed_slot_runs_the_oldest_queued_work() -> None:
    driver = Driver(config(spec("work", Ping, num_workers=1)))
    driver.start(None)
    for i in range(3):
        driver.submit(TickAddEvent(0.0, Ping(n=i)))
    cmds = driver.finish(1, None)
    assert [(r.worker_id, r.event.n) for r in runs(cmds)] == [(0, 1)]


def test_a_matching_waiter_takes_the_event_before_the_steps() -> None:
    cfg = config(spec("asker", Begin, Answer), spec("join", Answer))
    driver = Driver(cfg)
    driver.start(Begin())
    driver.park(1, Answer, requirements={"key": "a"})
    answer = Answer(key="a")
    cmds = driver.submit(TickAddEvent(1.0, answer))
    resumed, joined = runs(cmds)
    assert (resumed.step_name, resumed.attempt_id) == ("asker", 1)
    assert resumed.resolved == {"w#0": answer} and resumed.resume_waiter == "w#0"
    assert resumed.event == Begin()  # the attempt's own input event, not the answer
    assert (joined.step_name, joined.event) == ("join", answer)
    assert driver.state.waiters == {}


def test_requirements_and_exact_type_decide_whether_a_waiter_matches() -> None:
    driver = Driver(config(spec("asker", Begin)))
    driver.start(Begin())
    driver.park(1, Ping, requirements={"n": 1})
    for event in (Ping(n=2), PingChild(n=1), Pong(n=1)):
        cmds = driver.submit(TickAddEvent(1.0, event))
        assert runs(cmds) == [] and len(driver.state.waiters) == 1, event
    assert runs(driver.submit(TickAddEvent(2.0, Ping(n=1))))[0].attempt_id == 1


def test_a_targeted_event_only_resolves_waiters_of_its_step() -> None:
    driver = Driver(config(spec("a", Begin), spec("b", Answer), spec("c", Begin)))
    driver.start(Begin())
    driver.park(1, Answer)
    driver.park(2, Answer)
    cmds = driver.submit(TickAddEvent(1.0, Answer(), step_name="c"))
    assert [(r.step_name, r.attempt_id) for r in runs(cmds)] == [("c", 2)]
    assert [w.step_name for w in driver.state.waiters.values()] == ["a"]
