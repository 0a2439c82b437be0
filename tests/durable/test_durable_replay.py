"""Replay: the journal rebuilds the exact state, and a re-run attempt repeats none of its calls."""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
from typing import Any
from unittest.mock import patch

from conftest import MakeRuntime
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reflow import Context, Workflow, step
from reflow.durable._driver import rebuild
from reflow.durable._manager import RunManager
from reflow.engine.codec import state_to_json
from reflow.events import Event, HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent
from reflow.retry_policy import retry_policy, stop_after_attempt, wait_fixed


class Piece(Event):
    index: int


class PieceDone(Event):
    index: int


class FanIn(Workflow):
    """Fans out ``width`` pieces; pieces listed in ``flaky`` fail once and are retried."""

    def __init__(self, width: int, flaky: frozenset[int], **kwargs: Any) -> None:
        super().__init__(timeout=None, **kwargs)
        self.width = width
        self.flaky = flaky
        self.failed: set[int] = set()

    @step
    async def split(self, ev: StartEvent, ctx: Context) -> Piece | None:
        for index in range(self.width):
            ctx.send_event(Piece(index=index))
        return None

    @step(num_workers=3, retry_policy=retry_policy(wait=wait_fixed(0), stop=stop_after_attempt(2)))
    async def piece(self, ev: Piece, ctx: Context) -> PieceDone:
        if ev.index in self.flaky and ev.index not in self.failed:
            self.failed.add(ev.index)
            raise ValueError(f"piece {ev.index} fails once")
        ctx.write_event_to_stream(ev)
        return PieceDone(index=ev.index)

    @step
    async def join(self, ev: PieceDone, ctx: Context) -> StopEvent | None:
        done = ctx.collect_events(ev, [PieceDone] * self.width)
        if done is None:
            return None
        return StopEvent(result=sorted(d.index for d in done))


def _journal(db: str, run_id: str) -> list[tuple[int, str]]:
    conn = sqlite3.connect(db)
    try:
        return list(
            conn.execute("SELECT seq, body FROM ticks WHERE run_id = ? ORDER BY seq", (run_id,))
        )
    finally:
        conn.close()


_run_ids = itertools.count()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(width=st.integers(1, 6), flaky=st.frozensets(st.integers(0, 5), max_size=3))
async def test_replaying_the_journal_rebuilds_the_state_after_every_batch(
    make_runtime: MakeRuntime, width: int, flaky: frozenset[int]
) -> None:
    seen: list[tuple[int, str]] = []
    committed = RunManager.committed

    def record(self: RunManager, live: Any) -> None:
        state = state_to_json(live.driver.state, live.codec)
        seen.append((live.next_seq - 1, json.dumps(state, sort_keys=True)))
        committed(self, live)

    runtime = make_runtime(snapshot_every=10_000)
    workflow = FanIn(width, flaky, runtime=runtime)
    run_id = f"fan-{next(_run_ids)}"
    with patch.object(RunManager, "committed", record):
        assert await workflow.run(run_id=run_id) == list(range(width))
    journal = _journal(runtime.path, run_id)
    assert seen and seen[-1][0] == len(journal)
    codec = runtime._codec(workflow)
    config = workflow._run_config(run_id)
    for last_seq, expected in seen:
        state, _ = rebuild(config, codec, None, journal[:last_seq], last_seq)
        assert json.dumps(state_to_json(state, codec), sort_keys=True) == expected


sent: list[str] = []


class Reviewed(Event):
    index: int


class Review(Workflow):
    """Each step sends, streams and collects before it waits, then continues after the wait."""

    @step
    async def start(self, ev: StartEvent, ctx: Context) -> Reviewed | None:
        for index in range(2):
            ctx.send_event(Reviewed(index=index))
        return None

    @step
    async def review(self, ev: Reviewed, ctx: Context) -> StopEvent | None:
        both = ctx.collect_events(ev, [Reviewed, Reviewed])
        if both is None:
            return None
        sent.append("ask")
        ctx.write_event_to_stream(InputRequiredEvent(prefix="approve?"))
        answer = await ctx.wait_for_event(HumanResponseEvent)
        return StopEvent(result=[[r.index for r in both], answer.response])


async def test_a_reloaded_attempt_repeats_none_of_its_calls_into_the_run(
    make_runtime: MakeRuntime,
) -> None:
    runtime = make_runtime(release_idle_after=0.02)
    workflow = Review(runtime=runtime, timeout=None)
    sent.clear()
    handler = workflow.run(run_id="rev")
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent):
            break
    while "rev" in runtime._live:  # released while it waits
        await asyncio.sleep(0.01)
    await handler.send_event(HumanResponseEvent(response="ok"))
    # The review attempt ran twice (before and after the reload); the second time its
    # collect_events got the answer of the first, and its stream write was not repeated.
    assert await asyncio.wait_for(handler, 10) == [[0, 1], "ok"]
    assert sent == ["ask", "ask"]
    stream = [type(item.event).__name__ async for item in runtime.stream_events("rev")]
    assert stream.count("InputRequiredEvent") == 1


async def test_two_runtimes_on_one_file_follow_each_others_runs(
    make_runtime: MakeRuntime,
) -> None:
    from durable_flows import Approval, Ask

    driver = make_runtime()
    watcher = make_runtime()
    asks = Approval(runtime=driver)
    Approval(runtime=watcher)
    await watcher.launch()
    local = asks.run(run_id="both", start_event=Ask(question="who?"))
    async for event in local.stream_events():
        if isinstance(event, InputRequiredEvent):
            break
    remote = watcher.get_handler("both")
    async for event in remote.stream_events():  # read from the journal: another owner drives it
        if isinstance(event, InputRequiredEvent):
            break
    assert "both" not in watcher._live
    await remote.send_event(HumanResponseEvent(response="me"))  # through the inbox
    assert await asyncio.wait_for(remote, 10) == "who? me"
    assert "both" not in watcher._live  # the driving runtime finished it
