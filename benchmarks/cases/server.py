"""``server``: workflows over HTTP on the SQLite store, reflow.server vs llama-agents-server 0.8.

The server runs in a child process (``--serve``) under uvicorn on 127.0.0.1; this process is the
client (httpx).  Shapes (``--shape``):

- ``run_stream``: N three-step runs, each started with ``run-nowait`` and streamed (SSE,
  ``after_sequence=-1``) to its StopEvent, 8 at a time: ``runs_per_s``.
- ``post_events``: N ``POST /events/{id}`` to one waiting run, one after another:
  ``p50_ms``, ``p99_ms``.
- ``start_waiting``: N runs left waiting for input in the store by a first server; a second
  server on the same file: ``ready_s`` (process start to healthy) and ``rss_mb`` of it.
- ``subscribers``: N SSE subscribers on one run, which (once they are connected) publishes 20
  events 10 ms apart:
  ``events_per_s`` delivered, ``p99_ms`` from publish to receipt, ``kb_per_subscriber`` (the
  server's RSS growth while the subscribers connect, divided by N).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from benchmarks._common import current_rss_bytes, emit, percentile, positive_int
from benchmarks._impl import (
    IMPL,
    VERSION,
    Context,
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
    Workflow,
    step,
)
from benchmarks.cases.durable import ThreeSteps

if TYPE_CHECKING:
    from reflow.server import SqliteWorkflowStore, WorkflowServer
elif IMPL == "peer":
    from llama_agents.server import SqliteWorkflowStore, WorkflowServer
else:
    from reflow.server import SqliteWorkflowStore, WorkflowServer

CASE = "server"
SHAPES = ("run_stream", "post_events", "start_waiting", "subscribers")
TICKS = 20
CONCURRENCY = 8


class Echo(Workflow):
    """Asks once, then takes answers until one says ``stop``."""

    @step
    async def begin(self, ev: StartEvent) -> InputRequiredEvent:
        return InputRequiredEvent(prefix="?")

    @step
    async def answer(self, ev: HumanResponseEvent) -> StopEvent | None:
        return StopEvent(result="done") if ev.response == "stop" else None


class Tick(Event):
    n: int
    at: float


class TickerStart(StartEvent):
    delay: float = 0.0


class Ticker(Workflow):
    """After ``delay`` seconds (while the subscribers connect), publishes ``TICKS`` events."""

    @step
    async def tick(self, ctx: Context, ev: TickerStart) -> StopEvent:
        await asyncio.sleep(ev.delay)
        for n in range(TICKS):
            ctx.write_event_to_stream(Tick(n=n, at=time.time()))
            await asyncio.sleep(0.01)
        return StopEvent(result="done")


def serve(db: str, port: int) -> None:
    import uvicorn

    server = WorkflowServer(workflow_store=SqliteWorkflowStore(db))
    server.add_workflow("three", ThreeSteps(timeout=None))
    server.add_workflow("echo", Echo(timeout=None))
    server.add_workflow("ticker", Ticker(timeout=None))
    uvicorn.run(server.app, host="127.0.0.1", port=port, log_level="error")


class ServerProcess:
    def __init__(self, db: str) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.base = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "benchmarks.cases.server", "--serve", db]
        command += ["--port", str(self.port)]
        self.started = time.perf_counter()
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)

    async def ready(self, http: httpx.AsyncClient) -> float:
        for _ in range(6000):
            if self.process.poll() is not None:
                raise RuntimeError("the server process exited while starting")
            try:
                if (await http.get(f"{self.base}/health")).status_code == 200:
                    return time.perf_counter() - self.started
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.01)
        raise RuntimeError("the server did not become healthy in 60 s")

    def rss_bytes(self) -> int:
        with open(f"/proc/{self.process.pid}/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


async def _run_and_stream(http: httpx.AsyncClient, base: str) -> None:
    body = {"start_event": {"qty": 1}}
    started = await http.post(f"{base}/workflows/three/run-nowait", json=body)
    handler_id = started.json()["handler_id"]
    params = {"after_sequence": "-1"}
    async with http.stream("GET", f"{base}/events/{handler_id}", params=params) as response:
        async for line in response.aiter_lines():
            if line.startswith("data:") and '"StopEvent"' in line:
                return
    raise RuntimeError("the stream ended without a StopEvent")


async def run_stream(n: int, db: str) -> dict[str, float]:
    server = ServerProcess(db)
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            await server.ready(http)
            for _ in range(5):
                await _run_and_stream(http, server.base)
            todo = iter(range(n))

            async def worker() -> None:
                for _ in todo:
                    await _run_and_stream(http, server.base)

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
            elapsed = time.perf_counter() - started
    finally:
        server.stop()
    return {"runs_per_s": n / elapsed}


async def post_events(n: int, db: str) -> dict[str, float]:
    server = ServerProcess(db)
    latencies: list[float] = []
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            await server.ready(http)
            started = await http.post(f"{server.base}/workflows/echo/run-nowait", json={})
            handler_id = started.json()["handler_id"]
            await asyncio.sleep(0.3)
            body: dict[str, Any] = {"event": {"type": "HumanResponseEvent"}}
            for i in range(n + 10):
                body["event"]["value"] = {"response": f"answer {i}"}
                sent = time.perf_counter()
                response = await http.post(f"{server.base}/events/{handler_id}", json=body)
                if response.status_code != 200:
                    raise RuntimeError(f"POST /events answered {response.status_code}")
                if i >= 10:
                    latencies.append(time.perf_counter() - sent)
    finally:
        server.stop()
    return {"p50_ms": percentile(latencies, 0.5) * 1e3, "p99_ms": percentile(latencies, 0.99) * 1e3}


async def start_waiting(n: int, db: str) -> dict[str, float]:
    first = ServerProcess(db)
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            await first.ready(http)
            for _ in range(n):
                await http.post(f"{first.base}/workflows/echo/run-nowait", json={})
            await asyncio.sleep(1.0)
    finally:
        first.stop()
    second = ServerProcess(db)
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            ready = await second.ready(http)
            rss = second.rss_bytes()
    finally:
        second.stop()
    return {"ready_s": ready, "rss_mb": rss / 2**20}


async def _subscribe(http: httpx.AsyncClient, url: str, on_connect: Any) -> list[float]:
    """Latencies (s) of the ticks this subscriber received."""
    latencies: list[float] = []
    async with http.stream("GET", url, params={"after_sequence": "-1"}) as response:
        on_connect()
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue
            envelope = json.loads(line[5:])
            if envelope["type"] == "Tick":
                latencies.append(time.time() - envelope["value"]["at"])
            elif envelope["type"] == "StopEvent":
                return latencies
    raise RuntimeError("a subscriber's stream ended without a StopEvent")


async def subscribers(n: int, db: str) -> dict[str, float]:
    server = ServerProcess(db)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    delay = max(3.0, n / 100)  # time for every subscriber to connect before the first tick
    try:
        async with httpx.AsyncClient(timeout=300, limits=limits) as http:
            await server.ready(http)
            before = server.rss_bytes()
            body = {"start_event": {"delay": delay}}
            started = await http.post(f"{server.base}/workflows/ticker/run-nowait", json=body)
            handler_id = started.json()["handler_id"]
            began = time.time()
            connected = asyncio.Event()
            count = 0

            def on_connect() -> None:
                nonlocal count
                count += 1
                if count == n:
                    connected.set()

            url = f"{server.base}/events/{handler_id}"
            readers = [asyncio.ensure_future(_subscribe(http, url, on_connect)) for _ in range(n)]
            await asyncio.wait_for(connected.wait(), 300)
            if time.time() - began > delay:
                raise RuntimeError(f"{n} subscribers took over {delay} s to connect")
            grown = server.rss_bytes() - before
            results = await asyncio.wait_for(asyncio.gather(*readers), 300)
            elapsed = time.time() - began - delay
    finally:
        server.stop()
    latencies = [latency for result in results for latency in result]
    if len(latencies) != n * TICKS:
        raise RuntimeError(f"expected {n * TICKS} ticks delivered, got {len(latencies)}")
    return {
        "events_per_s": len(latencies) / elapsed,
        "p99_ms": percentile(latencies, 0.99) * 1e3,
        "kb_per_subscriber": grown / n / 1024,
    }


SHAPE_RUNNERS = {
    "run_stream": run_stream,
    "post_events": post_events,
    "start_waiting": start_waiting,
    "subscribers": subscribers,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=positive_int, default=200)
    parser.add_argument("--shape", choices=SHAPES, default="run_stream")
    parser.add_argument("--serve", metavar="DB", help="(internal) run the server on DB")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.port)
        return
    with tempfile.TemporaryDirectory() as directory:
        db = str(Path(directory) / "server.db")
        metrics = asyncio.run(SHAPE_RUNNERS[args.shape](args.n, db))
    metrics["client_rss_mb"] = current_rss_bytes() / 2**20
    emit(CASE, IMPL, args.n, metrics, variant=args.shape, version=VERSION)


if __name__ == "__main__":
    main()
