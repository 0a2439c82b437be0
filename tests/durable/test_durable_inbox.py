"""Sends are checked before they are stored; an undeliverable inbox row is moved aside with its
reason; no input stops or wedges a driver (issue 8, problem 4), for all sequences of sends.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import tempfile
import time
from pathlib import Path

import pytest
from conftest import MakeRuntime
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inbox_flows import Collector, Note

from reflow.durable import DurableRuntime
from reflow.durable._catalogue import SendRefused
from reflow.durable._cli import JournalFile
from reflow.durable._encoding import JournalCodec
from reflow.engine import TickAddEvent
from reflow.events import Event, HumanResponseEvent, InputRequiredEvent

ANSWER = "reflow.events.HumanResponseEvent"
NOTE = f"{Note.__module__}.{Note.__qualname__}"


def _event(kind: str, **fields: object) -> dict[str, object]:
    return {"__is_pydantic": True, "qualified_name": kind, "value": fields}


async def _asking(runtime: DurableRuntime, run_id: str) -> object:
    handler = Collector(runtime=runtime).run(run_id=run_id)
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent):
            break
    return handler


def _inbox(db: str) -> list[tuple[str, str]]:
    conn = sqlite3.connect(db)
    try:
        return list(conn.execute("SELECT run_id, body FROM inbox ORDER BY id"))
    finally:
        conn.close()


def _raw_row(db: str, run_id: str, tick: dict[str, object]) -> None:
    """An inbox row written without any check, as an older version of a workflow could have."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute(
            "INSERT INTO inbox (run_id, at, body) VALUES (?, ?, ?)",
            (run_id, time.time(), json.dumps(tick)),
        )
    finally:
        conn.close()


def _add(event: object, step: str | None = None) -> dict[str, object]:
    tick = JournalCodec().tick_to_json(TickAddEvent(at=time.time(), event=Event()))
    tick["event"], tick["step_name"] = event, step
    return tick


@pytest.mark.parametrize(
    ("kind", "fields", "step", "complaint"),
    [
        (ANSWER, {"response": "x"}, "bogus", "has no step 'bogus'; its steps: answer, begin, note"),
        ("Bogus", {}, None, "has no step that accepts an event of type 'Bogus'"),
        ("nomodule.Missing", {}, None, "accepts an event of type 'nomodule.Missing'"),
        (ANSWER, {}, None, "HumanResponseEvent needs the field 'response'"),
        (ANSWER, {"response": "x"}, "note", "step 'note' of"),
        (NOTE, {"text": 3}, None, "text"),
    ],
)
async def test_a_bad_send_is_refused_and_nothing_is_stored(
    make_runtime: MakeRuntime,
    db: str,
    kind: str,
    fields: dict[str, object],
    step: str | None,
    complaint: str,
) -> None:
    await _asking(make_runtime(), "bad-1")
    with JournalFile(db) as journal, pytest.raises(SendRefused, match=complaint):
        journal.send("bad-1", _event(kind, **fields), step)
    assert _inbox(db) == []


async def test_short_type_names_resolve_to_the_workflows_types(
    make_runtime: MakeRuntime, db: str
) -> None:
    runtime = make_runtime()
    await _asking(runtime, "short-1")
    with JournalFile(db) as journal:
        journal.send("short-1", _event("Note", text="hi"), None)
    assert json.loads(_inbox(db)[0][1])["event"]["qualified_name"] == NOTE


async def test_runtime_send_event_refuses_an_unknown_step(
    make_runtime: MakeRuntime, db: str
) -> None:
    runtime = make_runtime()
    handler = await _asking(runtime, "api-1")
    with pytest.raises(SendRefused, match="has no step 'nope'"):
        await runtime.send_event("api-1", HumanResponseEvent(response="x"), step="nope")
    await runtime.send_event("api-1", HumanResponseEvent(response="stop"))
    assert await asyncio.wait_for(handler, 10) == ["stop"]  # type: ignore[arg-type]


async def test_an_undeliverable_row_is_moved_aside_and_the_driver_goes_on(
    make_runtime: MakeRuntime, db: str
) -> None:
    runtime = make_runtime()
    handler = await _asking(runtime, "aside-1")
    _raw_row(db, "aside-1", _add(_event(ANSWER, response="lost?"), step="renamed_step"))
    _raw_row(db, "aside-1", _add(_event("gone.module.Event")))
    with JournalFile(db) as journal:
        journal.send("aside-1", _event(ANSWER, response="stop"), None)
    assert await asyncio.wait_for(handler, 10) == ["stop"]  # type: ignore[arg-type]
    with JournalFile(db) as journal:
        reasons = [reason for *_, reason in journal.undelivered("aside-1")]
    assert len(reasons) == 2
    assert "has no step 'renamed_step'" in reasons[0]
    assert "gone.module.Event" in reasons[1]
    assert _inbox(db) == []


# -- the property: whatever is sent, in whatever order, with restarts and a cancel -----------

_OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("answer"), st.text("abcxyz", min_size=1, max_size=4)),
        st.tuples(st.just("note"), st.text("abc", max_size=3)),
        st.tuples(
            st.just("refused"),
            st.sampled_from(["step", "type", "fields", "unimportable"]),
        ),
        st.tuples(st.just("raw"), st.sampled_from(["step", "type", "json"])),
        st.tuples(st.just("restart"), st.just("")),
        st.tuples(st.just("cancel"), st.just("")),
    ),
    max_size=10,
)

_REFUSED = {
    "step": (_event(ANSWER, response="x"), "nope"),
    "type": (_event("Nothing"), None),
    "fields": (_event(ANSWER), None),
    "unimportable": (_event("nowhere.Thing"), None),
}
_RAW = {
    "step": _add(_event(ANSWER, response="x"), "old_step"),
    "type": _add(_event("nowhere.Thing")),
    "json": {"type": "add_event", "at": 0},
}


async def _scenario(db: str, operations: list[tuple[str, str]]) -> None:
    def runtime() -> DurableRuntime:
        made = DurableRuntime(db, poll_interval=0.02, release_idle_after=0.02)
        Collector(runtime=made)
        return made

    current = runtime()
    await _asking(current, "fuzz")
    stored_answers = 0
    raw_rows = 0
    cancelled = False
    try:
        for kind, arg in operations:
            with JournalFile(db) as journal:
                if kind == "answer" and arg != "stop":
                    if (
                        journal.send("fuzz", _event(ANSWER, response=arg), None).delivered
                        == "inbox"
                    ):
                        stored_answers += 1
                elif kind == "note":
                    journal.send("fuzz", _event(NOTE, text=arg), None)
                elif kind == "refused":
                    before = _inbox(db)
                    if journal.run("fuzz").finished:  # type: ignore[union-attr]
                        continue
                    with pytest.raises(SendRefused):
                        journal.send("fuzz", *_REFUSED[arg])
                    assert _inbox(db) == before  # nothing stored
                elif kind == "raw" and not journal.run("fuzz").finished:  # type: ignore[union-attr]
                    _raw_row(db, "fuzz", _RAW[arg])
                    raw_rows += 1
                elif kind == "cancel" and not cancelled:
                    journal.cancel("fuzz")
                    cancelled = True
            if kind == "restart":
                await current.destroy()
                current = runtime()
                await current.launch()
        with JournalFile(db) as journal:
            if journal.send("fuzz", _event(ANSWER, response="stop"), None).delivered == "inbox":
                stored_answers += 1
        handler = current.get_handler("fuzz") if current.is_launched else None
        if handler is None:
            await current.launch()
            handler = current.get_handler("fuzz")
        # Never wedged: the run ends (completed, or cancelled) and every row is settled.
        await asyncio.wait_for(asyncio.gather(handler, return_exceptions=True), 20)
        for _ in range(200):
            if not _inbox(db):
                break
            await asyncio.sleep(0.02)
    finally:
        await current.destroy()
    assert _inbox(db) == []
    with JournalFile(db) as journal:
        aside = journal.undelivered("fuzz")
        row = journal.run("fuzz")
    assert row is not None and row.finished
    assert all(reason for *_, reason in aside)
    conn = sqlite3.connect(db)
    delivered = conn.execute(
        "SELECT COUNT(*) FROM ticks WHERE run_id = 'fuzz' AND body LIKE '{\"type\":\"add_event\"%'"
        " AND body LIKE ?",
        (f'%"qualified_name":"{ANSWER}"%',),
    ).fetchone()[0]
    conn.close()
    aside_answers = sum(
        1
        for _, _, body, reason in aside
        if ANSWER in body and "old_step" not in body and "step" not in reason
    )
    # No valid answer lost: each was delivered, or moved aside with a reason (the run ended).
    assert delivered + aside_answers == stored_answers
    if not cancelled:
        assert row.status == "completed"
        assert len(aside) == raw_rows


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=_OPERATIONS)
def test_no_valid_event_is_lost_and_no_driver_wedges(operations: list[tuple[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(_scenario(str(Path(directory) / "runs.db"), operations))
