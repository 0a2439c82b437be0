"""A server killed with SIGKILL while runs stream and wait; a new one on the same journal.

Every run completes, and every client that resumes from its last sequence sees each event
exactly once: its events equal the run's full stream, in order, with no gap and no repeat.

Nothing here depends on how fast the machine is: the runs are killed at points they cannot
pass on their own (an ``Ask`` run waits for its second answer, a ``Gated`` run for a file),
they have no run timeout, and every wait is for a condition, bounded by a generous deadline.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from reflow.client import WorkflowClient

FLOWS = str(Path(__file__).with_name("server_flows.py"))
HUMAN = {"type": "HumanResponseEvent", "value": {"response": "ok"}}
# How long any one condition may take: far more than it needs, even with every core busy.
DEADLINE = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {DEADLINE:g} s: {what}")
        await asyncio.sleep(0.05)


@contextmanager
def server_process(db: Path, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "reflow.cli", "serve", FLOWS]
    command += ["--db", str(db), "--port", str(port), "--host", "127.0.0.1"]
    # stderr goes to a file: a pipe nobody reads while the test runs could fill and stall it.
    with log.open("wb") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=DEADLINE)


async def wait_healthy(base: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=DEADLINE) as http:

        async def healthy() -> bool:
            assert process.poll() is None, "the server exited while starting"
            try:
                return (await http.get("/health")).status_code == 200
            except httpx.TransportError:
                return False

        await until(healthy, "the server answers /health")


async def collect(client: WorkflowClient, handler_id: str, seen: list[tuple[int, str]]) -> None:
    # Reconnects while the server is down: each failure waits 0.2 s longer than the last, so
    # 60 of them cover about six minutes.
    stream = client.get_workflow_events(handler_id, max_reconnect_attempts=60)
    async for envelope in stream:
        assert stream.last_sequence is not None
        seen.append((stream.last_sequence, envelope.type))


def count(events: list[tuple[int, str]], kind: str) -> int:
    return sum(1 for _, seen_kind in events if seen_kind == kind)


@pytest.mark.timeout(6 * DEADLINE)  # the deadlines below are what bound it
async def test_sigkill_restart_resumes_runs_and_streams(tmp_path: Path) -> None:
    db, port, gate = tmp_path / "runs.db", free_port(), tmp_path / "gate"
    base = f"http://127.0.0.1:{port}"
    client = WorkflowClient(base_url=base)
    seen: dict[str, list[tuple[int, str]]] = {}
    asks, gated = [f"ask-{i}" for i in range(3)], [f"gated-{i}" for i in range(2)]
    readers: list[asyncio.Task[None]] = []
    with server_process(db, port, tmp_path / "first.log") as first:
        await wait_healthy(base, first)
        for handler_id in asks:
            await client.run_workflow_nowait("PatientAsk", handler_id=handler_id)
        for handler_id in gated:
            start = {"gate": str(gate)}
            await client.run_workflow_nowait("Gated", handler_id=handler_id, start_event=start)
        for handler_id in [*asks, *gated]:
            seen[handler_id] = []
            readers.append(asyncio.ensure_future(collect(client, handler_id, seen[handler_id])))

        async def asked(questions: int) -> bool:
            return all(count(seen[h], "InputRequiredEvent") == questions for h in asks)

        # One answer each before the crash, so the Ask runs are mid-way too.  An answer sent
        # before its run waits for it would be dropped (nothing accepts it yet): the run's
        # question on its stream says it waits.
        await until(lambda: asked(1), "every Ask run asks its first question")
        for handler_id in asks:
            await client.send_event(handler_id, HUMAN)

        async def all_mid_way() -> bool:
            gates = all(count(seen[h], "Progress") == 3 for h in gated)
            return gates and await asked(2)

        await until(all_mid_way, "the Ask runs ask again, the Gated runs wait at the gate")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=DEADLINE)
    assert all(not reader.done() for reader in readers), "streams were cut, not ended"
    gate.touch()
    with server_process(db, port, tmp_path / "second.log") as second:
        await wait_healthy(base, second)
        for handler_id in asks:

            async def running(handler_id: str = handler_id) -> bool:
                # The run is reloaded from the journal on demand.
                return (await client.get_handler(handler_id)).status == "running"

            await until(running, f"{handler_id} is running again")
            await client.send_event(handler_id, HUMAN)
        await asyncio.wait_for(asyncio.gather(*readers), DEADLINE)
        for handler_id, events in seen.items():
            handler = await client.get_handler(handler_id)
            assert handler.status == "completed", handler
            replay: list[tuple[int, str]] = []
            stream = client.get_workflow_events(handler_id, after_sequence=-1)
            async for envelope in stream:
                assert stream.last_sequence is not None
                replay.append((stream.last_sequence, envelope.type))
            assert events == replay, handler_id
            assert events[-1][1] == "StopEvent"
        assert all(count(seen[h], "Progress") == 40 for h in gated), "each one exactly once"
        second.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal once its graceful shutdown (lifespan included) is done.
        assert second.wait(timeout=DEADLINE) in (0, -signal.SIGTERM)
    assert b"Application shutdown complete" in (tmp_path / "second.log").read_bytes()
    await client.aclose()
    os.remove(db)
