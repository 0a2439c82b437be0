"""Redis queues between loops: FIFO hop, done sentinel, crash of the reader, Redis outage."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.flows.conftest import edge, node

from reflow.flows import FlowEngine, FlowServices, RedisQueue, load_flow

REPO = Path(__file__).resolve().parents[2]


async def test_writer_to_reader_in_one_flow_and_the_sentinel_stops_the_reader(
    services: FlowServices,
) -> None:
    doc = {
        "nodes": [
            node("1", "counter", {"min_value": 1, "max_value": 5}),
            node("w", "queue-node-writer", {"batch_size": 2, "linger_ms": 5}),
            node("r", "queue-reader-dummy", {"batch_size": 3}),
            node(
                "t",
                "data-transformer",
                {"output_template": "{{ data.counter.current }}", "overwrite": False},
            ),
        ],
        "edges": [edge("1", "w"), edge("w", "r"), edge("r", "t")],
    }
    engine = FlowEngine(load_flow(doc), services, keep_outputs=True)
    stats = await asyncio.wait_for(engine.run_production(), 20)
    assert [o["t"]["data_transformer"] for o in stats["r"].outputs] == [1, 2, 3, 4, 5]
    queue = RedisQueue(services, "queue_w_r", "r")
    assert (await queue.length(), await queue.pending()) == (0, 0)


async def test_two_flows_joined_by_a_named_queue(services: FlowServices) -> None:
    writer = {
        "nodes": [
            node("1", "counter", {"min_value": 1, "max_value": 3}),
            node("w", "queue-node-writer", config={"queue_name": "hop"}),
        ],
        "edges": [edge("1", "w")],
    }
    reader = {"nodes": [node("r", "queue-reader-dummy", config={"queue_name": "hop"})], "edges": []}
    a = FlowEngine(load_flow(writer, name="a"), services)
    b = FlowEngine(load_flow(reader, name="b"), services, keep_outputs=True)
    await asyncio.wait_for(asyncio.gather(a.run_production(), b.run_production()), 20)
    assert [o["r"]["counter"]["current"] for o in b.stats["r"].outputs] == [1, 2, 3]


def _reader_flow(tmp_path: Path) -> Path:
    doc = {
        "nodes": [
            node("r", "queue-reader-dummy", {"batch_size": 5}, config={"queue_name": "crash"}),
            node("p", "python-function", {"function": "tests.flows._recorder:record"}),
        ],
        "edges": [edge("r", "p")],
    }
    path = tmp_path / "reader.json"
    path.write_text(json.dumps(doc))
    return path


def _start_reader(flow: Path, prefix: str, record: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FLOW_RECORD_FILE": str(record), "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "reflow.cli", "flow", "run", str(flow), "--prefix", prefix],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _lines(record: Path) -> list[int]:
    return [int(x) for x in record.read_text().split()] if record.exists() else []


async def test_sigkill_of_the_reader_loses_nothing(
    services: FlowServices, prefix: str, tmp_path: Path
) -> None:
    total = 300
    queue = RedisQueue(services, "crash")
    await queue.push_many([{"id": str(n), "data": {"n": n}, "metadata": {}} for n in range(total)])
    await queue.push_sentinel()
    flow, record = _reader_flow(tmp_path), tmp_path / "seen.txt"
    first = _start_reader(flow, prefix, record)
    deadline = time.monotonic() + 30
    while len(_lines(record)) < 40 and time.monotonic() < deadline and first.poll() is None:
        await asyncio.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    killed_at = len(_lines(record))
    assert 0 < killed_at < total, "the reader must be killed mid-stream"
    second = _start_reader(flow, prefix, record)
    _, err = await asyncio.to_thread(second.communicate, None, 60)
    assert second.returncode == 0, err.decode()
    seen = _lines(record)
    assert set(seen) == set(range(total))
    duplicates = len(seen) - total
    assert 0 <= duplicates <= 5  # at most one batch after one crash
    assert (await queue.length(), await queue.pending()) == (0, 0)


class _Proxy:
    """A TCP proxy to Redis that the test can take down and bring back (same port)."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.port = 0
        self.pipes: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", 6379)
        self.pipes.update({writer, up_writer})

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for pipe in list(self.pipes):
            pipe.close()
        self.pipes.clear()
        await self.server.wait_closed()


@pytest.fixture
async def proxy() -> AsyncIterator[_Proxy]:
    p = _Proxy()
    await p.start()
    yield p
    with contextlib.suppress(Exception):
        await p.stop()


async def test_redis_going_away_mid_run_is_reported_and_the_loop_resumes(
    services: FlowServices, prefix: str, proxy: _Proxy
) -> None:
    via_proxy = FlowServices(redis_url=f"redis://127.0.0.1:{proxy.port}/0", prefix=prefix)
    doc = {"nodes": [node("r", "queue-reader-dummy", config={"queue_name": "flaky"})], "edges": []}
    engine = FlowEngine(load_flow(doc), via_proxy, keep_outputs=True)
    events: list[str] = []
    engine.subscribe(lambda kind, fields: events.append(kind))
    queue = RedisQueue(services, "flaky")
    task = asyncio.create_task(engine.run_production())
    await queue.push({"data": {"n": 1}})
    for _ in range(200):
        if engine.stats.get("r") and engine.stats["r"].iterations:
            break
        await asyncio.sleep(0.01)
    await proxy.stop()
    for _ in range(200):
        if "redis_unavailable" in events:
            break
        await asyncio.sleep(0.01)
    assert "redis_unavailable" in events
    await queue.push({"data": {"n": 2}})
    await proxy.start()
    await queue.push_sentinel()
    stats = await asyncio.wait_for(task, 20)
    assert [o["r"]["n"] for o in stats["r"].outputs] == [1, 2]
    assert "redis_available" in events
    await via_proxy.aclose()


async def test_queue_recover_puts_unfinished_items_back_in_order(
    services: FlowServices,
) -> None:
    queue = RedisQueue(services, "rec", "c1")
    await queue.push_many([{"n": n} for n in range(5)])
    taken = await queue.take(3, timeout=0.1)
    assert [json.loads(t)["n"] for t in taken] == [0, 1, 2]
    await queue.ack(taken[:1])
    assert await queue.recover() == 2
    again = await queue.take(10, timeout=0.1)
    assert [json.loads(t)["n"] for t in again] == [1, 2, 3, 4]


async def test_sigterm_stops_the_run_and_the_done_signal_crosses_the_queue(
    services: FlowServices, prefix: str, tmp_path: Path
) -> None:
    doc = {
        "nodes": [
            node("tick", "interval", {"seconds": 0.01}),
            node("w", "queue-node-writer", config={"queue_name": "stopq"}),
        ],
        "edges": [edge("tick", "w")],
    }
    path = tmp_path / "ticker.json"
    path.write_text(json.dumps(doc))
    process = subprocess.Popen(
        [sys.executable, "-m", "reflow.cli", "flow", "run", str(path), "--prefix", prefix],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    queue = RedisQueue(services, "stopq")
    deadline = time.monotonic() + 30
    while await queue.length() < 3 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    out, err = await asyncio.to_thread(process.communicate, None, 30)
    assert process.returncode == 0, err.decode()
    produced = json.loads(out)["tick"]["iterations"]
    reader = {
        "nodes": [node("r", "queue-reader-dummy", config={"queue_name": "stopq"})],
        "edges": [],
    }
    engine = FlowEngine(load_flow(reader), services, keep_outputs=True)
    stats = await asyncio.wait_for(engine.run_production(), 20)
    assert stats["r"].iterations == produced >= 3
    assert [o["r"]["interval"]["iteration"] for o in stats["r"].outputs] == list(
        range(1, produced + 1)
    )


async def test_a_concurrent_reader_acknowledges_every_item_once(services: FlowServices) -> None:
    queue = RedisQueue(services, "wide")
    await queue.push_many([{"data": {"n": n}} for n in range(40)])
    await queue.push_sentinel()
    doc = {
        "nodes": [
            node("r", "queue-reader-dummy", {"batch_size": 7}, config={"queue_name": "wide"}),
            node("d", "static-delay-node", {"interval": 0.005}),
        ],
        "edges": [edge("r", "d")],
        "settings": {"concurrency": 5},
    }
    engine = FlowEngine(load_flow(doc), services, keep_outputs=True)
    stats = await asyncio.wait_for(engine.run_production(), 20)
    assert sorted(o["d"]["n"] for o in stats["r"].outputs) == list(range(40))
    reader = RedisQueue(services, "wide", "r")
    assert (await reader.length(), await reader.pending()) == (0, 0)


async def test_a_writer_fed_by_two_loops_signals_done_once_both_ended(
    services: FlowServices,
) -> None:
    doc = {
        "nodes": [
            node("fast", "counter", {"min_value": 1, "max_value": 2}),
            node("slow", "interval", {"seconds": 0.02, "count": 5}),
            node("w", "queue-node-writer"),
            node("r", "queue-reader-dummy"),
        ],
        "edges": [edge("fast", "w"), edge("slow", "w"), edge("w", "r")],
    }
    engine = FlowEngine(load_flow(doc), services, keep_outputs=True)
    stats = await asyncio.wait_for(engine.run_production(), 20)
    assert stats["r"].iterations == 7


async def test_a_malformed_queue_item_is_dead_lettered_and_the_reader_goes_on(
    services: FlowServices,
) -> None:
    queue = RedisQueue(services, "mixed")
    await services.redis().lpush(queue.key, b"{not json")
    await queue.push({"data": {"n": 1}})
    await queue.push_sentinel()
    doc = {"nodes": [node("r", "queue-reader-dummy", config={"queue_name": "mixed"})], "edges": []}
    engine = FlowEngine(load_flow(doc), services, keep_outputs=True)
    stats = await asyncio.wait_for(engine.run_production(), 20)
    assert [o["r"]["n"] for o in stats["r"].outputs] == [1]
    [entry] = await engine.dlq.list()
    assert entry["node_id"] == "r" and "{not json" in entry["error_message"]
    assert (await RedisQueue(services, "mixed", "r").pending()) == 0
