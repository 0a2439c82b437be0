"""A server killed with SIGKILL while runs stream and wait; a new one on the same journal.

Every run completes, and every client that resumes from its last sequence sees each event
exactly once: its events equal the run's full stream, in order, with no gap and no repeat.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from reflow.client import WorkflowClient

FLOWS = str(Path(__file__).with_name("server_flows.py"))
HUMAN = {"type": "HumanResponseEvent", "value": {"response": "ok"}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server_process(db: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "reflow.cli", "serve", FLOWS]
    command += ["--db", str(db), "--port", str(port), "--host", "127.0.0.1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()


async def wait_healthy(base: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base) as http:
        for _ in range(300):
            assert process.poll() is None, "the server exited while starting"
            try:
                if (await http.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError("the server did not become healthy")


async def collect(client: WorkflowClient, handler_id: str, seen: list[tuple[int, str]]) -> None:
    stream = client.get_workflow_events(handler_id, max_reconnect_attempts=40)
    async for envelope in stream:
        assert stream.last_sequence is not None
        seen.append((stream.last_sequence, envelope.type))


async def test_sigkill_restart_resumes_runs_and_streams(tmp_path: Path) -> None:
    db, port = tmp_path / "runs.db", free_port()
    base = f"http://127.0.0.1:{port}"
    client = WorkflowClient(base_url=base)
    seen: dict[str, list[tuple[int, str]]] = {}
    readers: list[asyncio.Task[None]] = []
    with server_process(db, port) as first:
        await wait_healthy(base, first)
        for i in range(3):
            handler_id = (await client.run_workflow_nowait("Ask", handler_id=f"ask-{i}")).handler_id
            seen[handler_id] = []
        for i in range(2):
            handler_id = (
                await client.run_workflow_nowait("Slow", handler_id=f"slow-{i}")
            ).handler_id
            seen[handler_id] = []
        for handler_id, events in seen.items():
            readers.append(asyncio.ensure_future(collect(client, handler_id, events)))
        # One answer each before the crash, so the Ask runs are mid-way too.
        for i in range(3):
            await client.send_event(f"ask-{i}", HUMAN)
        for _ in range(200):
            if all(len(seen[f"slow-{i}"]) >= 3 for i in range(2)):
                break
            await asyncio.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    assert all(not reader.done() for reader in readers), "streams were cut, not ended"
    with server_process(db, port) as second:
        await wait_healthy(base, second)
        for i in range(3):
            for _ in range(100):  # the run is reloaded from the journal on demand
                handler = await client.get_handler(f"ask-{i}")
                if handler.status == "running":
                    break
            await client.send_event(f"ask-{i}", HUMAN)
        await asyncio.wait_for(asyncio.gather(*readers), 60)
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
        slow = [t for _, t in seen["slow-0"]]
        assert slow.count("Progress") == 40, "each progress event exactly once"
        second.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal once its graceful shutdown (lifespan included) is done.
        assert second.wait(timeout=20) in (0, -signal.SIGTERM)
        assert second.stderr is not None
        assert b"Application shutdown complete" in second.stderr.read()
    await client.aclose()
    os.remove(db)
