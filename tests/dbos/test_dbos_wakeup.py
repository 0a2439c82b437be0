"""Queue wake-ups: new work and released slots are claimed at once, not at the next poll."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from conftest import MakeRuntime
from dbos._core import ActiveWorkflowById

from reflow import Workflow, step
from reflow.dbos import _steps, _wakeup
from reflow.dbos._dispatch import enqueue_channel
from reflow.events import Event, StartEvent, StopEvent


class Begin(StartEvent):
    n: int


class Middle(Event):
    n: int


class Chain(Workflow):
    """Two steps without a Context: both go through their DBOS queues."""

    @step
    async def first(self, ev: Begin) -> Middle:
        return Middle(n=ev.n + 1)

    @step
    async def second(self, ev: Middle) -> StopEvent:
        return StopEvent(result=ev.n * 10)


async def test_an_idle_queue_is_claimed_when_work_is_enqueued_not_at_its_poll(
    make_runtime: MakeRuntime, dsn: str, schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every queue polls every 10 minutes here (busy or idle, and DBOS's own interval): runs
    # that finish within their timeout were claimed because each enqueue woke the queue.
    monkeypatch.setattr(_wakeup, "IDLE_POLL_SECONDS", 600.0)
    monkeypatch.setattr(_wakeup, "BUSY_POLL_SECONDS", 600.0)
    runtime = make_runtime(distribute_steps=True)
    workflow = Chain(runtime=runtime, timeout=30)  # built before launch: this process serves it
    await runtime.launch()
    listener = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
    async with listener:
        await listener.execute(f'LISTEN "{enqueue_channel(schema)}"')
        await asyncio.sleep(1.5)  # every queue thread is in its idle wait by now
        for n in range(3):
            assert await workflow.run(run_id=f"chain-{n}", start_event=Begin(n=n)) == (n + 1) * 10
        queues = set()
        async for note in listener.notifies(timeout=5.0, stop_after=6):
            queues.add(note.payload)
    # One notification per queue and enqueue transaction, naming the queue.
    assert queues == {_steps.queue_name(workflow.workflow_name, s) for s in ("first", "second")}


def test_a_woken_wait_returns_at_once_and_a_stopped_one_says_stop() -> None:
    waker = _wakeup.Waker(["q"])
    stop = threading.Event()
    returned: list[bool] = []

    def waiting() -> None:
        returned.append(waker.wait(stop, "q", 600.0))

    thread = threading.Thread(target=waiting)
    thread.start()
    waker.wake("q")
    thread.join(5.0)
    assert not thread.is_alive() and returned == [False]

    thread = threading.Thread(target=waiting)
    thread.start()
    stop.set()
    waker.stop()  # as Cluster.close does around DBOS.destroy
    thread.join(5.0)
    assert not thread.is_alive() and returned == [False, True]
    # Once stopping, every wait is DBOS's own.
    assert waker.wait(stop, "q", 600.0) is True


def test_a_wait_for_a_queue_not_served_is_dboss_own() -> None:
    waker = _wakeup.Waker(["q"])
    stop = threading.Event()
    waker.wake("other")  # not a queue of this process: ignored
    assert waker.wait(stop, "other", 0.01) is False
    assert waker.wait(stop, None, 0.01) is False


def test_a_busy_queue_waits_dboss_interval_and_an_idle_one_the_idle_poll(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_wakeup, "IDLE_POLL_SECONDS", 600.0)
    waker = _wakeup.Waker(["q"])
    stop = threading.Event()
    waker.wake("q")  # woken just now: busy for BUSY_SECONDS
    assert waker.busy("q")
    done = threading.Event()

    def busy() -> None:
        waker.wait(stop, "q", 0.05)  # the wake is consumed, no gather (new work)
        waker.wait(stop, "q", 0.05)  # busy: DBOS's interval, unwoken
        done.set()

    threading.Thread(target=busy, daemon=True).start()
    assert done.wait(5.0)

    monkeypatch.setattr(_wakeup, "BUSY_SECONDS", 0.0)
    assert not waker.busy("q")
    done.clear()
    threading.Thread(target=lambda: (waker.wait(stop, "q", 0.05), done.set()), daemon=True).start()
    assert not done.wait(0.5)  # idle: far longer than DBOS's 50 ms
    waker.wake("q")
    assert done.wait(5.0)


def released(limit: int | None, running: int, finishing: int) -> list[bool]:
    """Whether each of ``finishing`` of ``running`` executions of queue ``q``, released in
    turn, woke the queue (through DBOS's own bookkeeping, with the hook installed)."""
    dbos = SimpleNamespace(_active_workflows_set=ActiveWorkflowById())
    waker = _wakeup.Waker(["q"])
    assert _wakeup._watch_releases(dbos, waker)
    waker.set_worker_limit("q", limit)
    entries = [dbos._active_workflows_set.add(f"id{i}", "q", "all") for i in range(running)]
    woken = []
    for entry in entries[:finishing]:
        entry.release()
        woken.append(waker._flags["q"].is_set())
        waker._flags["q"].clear()
    return woken


def test_a_released_slot_wakes_its_queue_once_half_the_slots_are_free() -> None:
    assert released(limit=1, running=1, finishing=1) == [True]
    assert released(limit=2, running=2, finishing=2) == [True, True]
    # 8 slots: one claim for the first four freed, not one each.
    assert released(limit=8, running=8, finishing=5) == [False, False, False, True, True]
    assert released(limit=None, running=3, finishing=3) == [True, True, True]


def test_dbos_internals_not_as_expected_leave_the_queues_polled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Elsewhere:
        pass

    assert _wakeup.install(SimpleNamespace(_active_workflows_set=Elsewhere()), ["q"]) is None
    assert "cannot be given queue wake-ups" in caplog.text


def test_the_hook_gives_dboss_queue_threads_the_wakeable_stop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dbos._dbos as dbos_module

    assert _wakeup._patch_queue_thread()
    # What DBOS.launch starts (DBOS does not re-export the name).
    assert getattr(dbos_module, "queue_thread") is _wakeup._queue_thread  # noqa: B009
    given: list[Any] = []
    monkeypatch.setattr(_wakeup, "_dbos_queue_thread", lambda stop, dbos: given.append(stop))
    stop = threading.Event()
    _wakeup._queue_thread(stop, None)
    [stand_in] = given
    assert isinstance(stand_in, _wakeup._StopOrWake) and not stand_in.is_set()
    stop.set()  # DBOS.destroy sets the real event: the stand-in reports it
    assert stand_in.is_set() and stand_in.wait(0.0) is True


def test_a_worker_with_every_slot_taken_does_not_poll_until_one_is_released(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_wakeup, "IDLE_POLL_SECONDS", 600.0)
    dbos = SimpleNamespace(_active_workflows_set=ActiveWorkflowById())
    waker = _wakeup.Waker(["q"])
    assert _wakeup._watch_releases(dbos, waker)
    waker.set_worker_limit("q", 8)
    entries = [dbos._active_workflows_set.add(f"id{i}", "q", "all") for i in range(8)]
    assert waker.full("q") and waker.busy("q")
    stop = threading.Event()
    done = threading.Event()
    threading.Thread(target=lambda: (waker.wait(stop, "q", 0.05), done.set()), daemon=True).start()
    # Busy, but nothing could be claimed: not DBOS's 50 ms poll, the idle one.
    assert not done.wait(0.5)
    started = time.monotonic()
    entries[0].release()  # one slot of eight: woken, though not half free
    assert done.wait(5.0)
    # The claim waited DBOS's interval for more releases, as the poll would have.
    assert time.monotonic() - started >= _wakeup.BUSY_POLL_SECONDS * 0.9
    # With a slot free, the wait is DBOS's interval again.
    assert not waker.full("q")
    done.clear()
    threading.Thread(target=lambda: (waker.wait(stop, "q", 0.05), done.set()), daemon=True).start()
    assert done.wait(5.0)
