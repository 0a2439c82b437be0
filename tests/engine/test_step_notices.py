"""Step notices travel as data (``StepNotice``) and become ``StepStateChanged`` on demand."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Sequence

from reflow import Workflow, step
from reflow.engine import Command, CommandPublish, notice_event
from reflow.events import StartEvent, StepState, StepStateChanged, StopEvent

from ._harness import Begin, Driver, Ping, config, runs, spec


def _notices(cmds: Sequence[Command]) -> list[CommandPublish]:
    return [c for c in cmds if isinstance(c, CommandPublish) and c.notice is not None]


def test_a_started_step_publishes_its_running_notice_as_data() -> None:
    driver = Driver(config(spec("first", Begin)))
    (notice,) = _notices(driver.start(Begin()))
    assert notice.unbuilt_notice() == ("first", "running", "0", "Begin", None)
    assert all(type(value) in (str, type(None)) for value in notice.notice or ())


def test_reading_the_event_builds_the_step_state_changed_once() -> None:
    driver = Driver(config(spec("first", Begin), spec("second", Ping)))
    (first,) = runs(driver.start(Begin()))
    (done, started) = _notices(driver.finish(first.attempt_id, Ping()))
    event = done.event
    assert isinstance(event, StepStateChanged)
    assert event.step_state is StepState.NOT_RUNNING
    assert (event.name, event.worker_id, event.output_event_name) == (
        "first",
        "0",
        str(Ping),
    )
    assert done.event is event  # built once, then kept
    assert done.unbuilt_notice() is None
    assert started.event.step_state is StepState.RUNNING


def test_a_notice_command_equals_the_command_of_its_event() -> None:
    notice = ("s", "preparing", "<enqueued>", "Ping", None)
    built = CommandPublish(notice=notice)
    assert built == CommandPublish(notice_event(notice))
    assert repr(built) == f"CommandPublish(event={notice_event(notice)!r})"
    assert CommandPublish(notice=notice) != CommandPublish(notice=("t", *notice[1:]))


class _Two(Workflow):
    @step
    async def first(self, ev: StartEvent) -> Ping:
        return Ping(n=1)

    @step
    async def second(self, ev: Ping) -> StopEvent:
        return StopEvent(result=ev.n)


def test_an_unread_in_memory_stream_keeps_notices_untracked_and_reads_them_as_events() -> None:
    async def main() -> list[object]:
        handler = _Two(timeout=None).run()
        assert await handler == 1
        stream = handler._adapter._run.stream  # type: ignore[attr-defined]
        kept = [item for item in stream._items if isinstance(item, tuple)]
        gc.collect()
        assert len(kept) == 4 and not any(gc.is_tracked(item) for item in kept)
        return [event async for event in handler.stream_events(expose_internal=True)]

    events = asyncio.run(main())
    states = [(e.name, e.step_state.value) for e in events if isinstance(e, StepStateChanged)]
    assert states == [
        ("first", "running"),
        ("first", "not_running"),
        ("second", "running"),
        ("second", "not_running"),
    ]
    assert isinstance(events[-1], StopEvent)
