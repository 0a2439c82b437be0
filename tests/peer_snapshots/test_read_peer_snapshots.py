"""Contexts the peer stored (``ctx.to_dict()`` of llama-index-workflows 2.26) resume in reflow.

The golden files are the peer's own output, written by ``scripts/make_peer_snapshots.py``
from the flows in ``peer_flows.py`` with its JSON and its pickle serializer, each taken
mid-run: a step waiting for a human, queued and in-progress work, events buffered by
``ctx.collect_events``, and a retry in its delay window.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import peer_flows
import pytest

from reflow import Context
from reflow.context.serializers import BaseSerializer, JsonSerializer, PickleSerializer
from reflow.events import HumanResponseEvent, InputRequiredEvent

GOLDEN = Path(__file__).resolve().parent / "golden"
SERIALIZERS: dict[str, type[BaseSerializer]] = {"json": JsonSerializer, "pickle": PickleSerializer}


def _golden(flow: str, label: str) -> dict[str, Any]:
    payload = json.loads((GOLDEN / f"{flow}-{label}.json").read_text())
    assert payload["peer_version"].startswith("2.2")
    snapshot: dict[str, Any] = payload["snapshot"]
    return snapshot


def _restore(flow: str, label: str) -> tuple[Any, Context[Any]]:
    workflow = peer_flows.flows()[flow](timeout=10)
    serializer = SERIALIZERS[label]()
    return workflow, Context.from_dict(workflow, _golden(flow, label), serializer=serializer)


@pytest.fixture(autouse=True)
def _open_gates() -> None:
    peer_flows.GATES.clear()
    for name in ("work", "collect"):
        peer_flows.gate(name).set()


@pytest.mark.parametrize("label", sorted(SERIALIZERS))
async def test_a_waiting_step_asks_again_and_completes(label: str) -> None:
    workflow, ctx = _restore("asks", label)
    assert await ctx.store.get("asked") is True
    if label == "pickle":
        # Real pickles of the peer's classes: its StartEvent held a Marker.
        marker = await ctx.store.get("marker")
        assert isinstance(marker, peer_flows.Marker) and marker.label == "m"
    handler = workflow.run(ctx=ctx)
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent):
            await handler.send_event(HumanResponseEvent(response="no", user="bob"))
            await handler.send_event(HumanResponseEvent(response="yes", user="ann"))
    assert await handler == "ann:yes"


@pytest.mark.parametrize("label", sorted(SERIALIZERS))
async def test_queued_and_in_progress_work_runs_once_each(label: str) -> None:
    workflow, ctx = _restore("fans", label)
    assert await ctx.store.get("fanned") == 3
    assert await asyncio.wait_for(workflow.run(ctx=ctx), 10) == [0, 1, 2]


@pytest.mark.parametrize("label", sorted(SERIALIZERS))
async def test_collected_events_are_kept(label: str) -> None:
    workflow, ctx = _restore("collects", label)
    assert await asyncio.wait_for(workflow.run(ctx=ctx), 10) == [0, 1, 2]


@pytest.mark.parametrize("label", sorted(SERIALIZERS))
async def test_a_delayed_retry_keeps_its_not_before_and_first_attempt_times(label: str) -> None:
    golden = _golden("retries", label)["workers"]["flaky"]["queue"][0]
    workflow, ctx = _restore("retries", label)
    handler = workflow.run(ctx=ctx)
    await asyncio.sleep(0.05)
    queued = handler.ctx.to_dict()["workers"]["flaky"]["queue"]
    await handler.cancel_run()
    assert len(queued) == 1
    item = queued[0]
    assert item["attempts"] == golden["attempts"] == 1
    assert item["first_attempt_at"] == pytest.approx(golden["first_attempt_at"])
    assert item["last_failed_at"] == pytest.approx(golden["last_failed_at"])
    assert item["not_before"] == pytest.approx(golden["not_before"])
    assert item["last_exception"] == {
        "exception_type": "builtins.RuntimeError",
        "exception_message": "first attempt fails",
    }


def test_every_flow_has_a_golden_file_per_serializer_from_the_generator() -> None:
    expected = {f"{flow}-{label}.json" for flow in peer_flows.flows() for label in SERIALIZERS}
    assert {path.name for path in GOLDEN.glob("*.json")} == expected
    script = Path(__file__).resolve().parents[2] / "scripts" / "make_peer_snapshots.py"
    done = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "--peer-python" in done.stdout


def test_the_peers_pickled_events_are_read_as_reflows_with_the_peer_installed() -> None:
    """llama-index-core installs the peer: its ``workflows.events`` classes are importable in
    the same process, and a pickled peer event must still come back as reflow's event (the
    peer's would not route here)."""
    import workflows.events  # the peer's package (or reflow under the LlamaIndex switch)

    from reflow.events import Event

    assert workflows.events.StartEvent is not None
    payload = _golden("asks", "pickle")["workers"]["ask"]["collected_waiters"][0]["event"]
    event = PickleSerializer().deserialize(payload)
    assert isinstance(event, Event) and type(event).__module__.startswith("reflow.")
