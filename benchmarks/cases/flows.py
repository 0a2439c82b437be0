"""``flows``: declarative flows (``reflow.flows``) compiled onto the engine.

Shapes, chosen with ``--shape``:

- ``loop``: a producer -> three blocking nodes, N iterations in memory (``iterations_per_s``),
  and the same four steps written by hand as a reflow workflow run N times
  (``hand_iterations_per_s``); ``overhead_us_per_node`` is the extra time per node the flow
  layer adds (payload copies, join bookkeeping, config handling).
  ``concurrent8_iterations_per_s`` is the flow with ``settings.concurrency: 8`` (eight
  iterations in flight, the producer still called one call at a time).
- ``queue``: the Redis hop (127.0.0.1:6379, a random key prefix, batches of 100). First the
  queue itself, as the writer and reader nodes use it: one task pushes N stamped items in
  batches (at most 200 in flight), another takes, acknowledges and timestamps them
  (``messages_per_s``, ``p50_ms``, ``p99_ms``: from push to arrival).  Then the whole path
  through two flow loops, a producer -> writer loop and a reader -> node loop, where every
  message is also one workflow run on each side (``flow_messages_per_s``).

reflow only: the seed orchestrator publishes no figures and its peer engine has no flows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import Sequence
from typing import Any, ClassVar

from benchmarks._common import emit, percentile, size_parser
from benchmarks._impl import IMPL, VERSION
from reflow import Workflow, step
from reflow.events import Event, StartEvent, StopEvent
from reflow.flows import (
    BlockingNode,
    EmptyConfig,
    FlowEngine,
    FlowServices,
    Payload,
    ProducerNode,
    RedisQueue,
    default_registry,
    load_flow,
)

CASE = "flows"
SHAPES = ("loop", "queue")
WARMUP = 20
WINDOW = 200


class Ticks(ProducerNode[EmptyConfig]):
    """Counts to ``limit`` (set per run), stamping each payload with the time it was made."""

    type_id = "bench-ticks"
    limit: ClassVar[int] = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.n = 0

    async def produce(self, payload: Payload, config: EmptyConfig) -> Payload | None:
        if self.n >= Ticks.limit:
            return None
        self.n += 1
        return payload.with_output("tick", {"n": self.n, "t": time.perf_counter()})


class Pass(BlockingNode[EmptyConfig]):
    type_id = "bench-pass"

    async def execute(self, payload: Payload, config: EmptyConfig) -> Payload:
        return payload.with_output("pass", 1)


class Arrived(BlockingNode[EmptyConfig]):
    type_id = "bench-arrived"
    latencies: ClassVar[list[float]] = []

    async def execute(self, payload: Payload, config: EmptyConfig) -> Payload:
        Arrived.latencies.append(time.perf_counter() - payload.data["tick"]["t"])
        return payload


REGISTRY = default_registry().copy()
for _cls in (Ticks, Pass, Arrived):
    REGISTRY.register(_cls)


def _node(node_id: str, type_id: str, **data: Any) -> dict[str, Any]:
    return {"id": node_id, "type": type_id, "data": data}


LOOP_DOC = {
    "nodes": [_node("p", "bench-ticks"), *(_node(f"b{i}", "bench-pass") for i in (1, 2, 3))],
    "edges": [
        {"source": "p", "target": "b1"},
        {"source": "b1", "target": "b2"},
        {"source": "b2", "target": "b3"},
    ],
}


class Step1(Event):
    data: dict[str, Any]


class Step2(Event):
    data: dict[str, Any]


class Step3(Event):
    data: dict[str, Any]


class HandWritten(Workflow):
    """The loop above by hand: a producer step and three steps, one run per iteration."""

    n = 0

    @step
    async def produce(self, ev: StartEvent) -> Step1:
        self.n += 1
        return Step1(data={"tick": {"n": self.n}})

    @step
    async def b1(self, ev: Step1) -> Step2:
        return Step2(data={**ev.data, "pass": 1})

    @step
    async def b2(self, ev: Step2) -> Step3:
        return Step3(data={**ev.data, "pass_2": 1})

    @step
    async def b3(self, ev: Step3) -> StopEvent:
        return StopEvent(result={**ev.data, "pass_3": 1})


async def _flow_rate(n: int, concurrency: int = 1) -> float:
    Ticks.limit = WARMUP + n
    doc = {**LOOP_DOC, "settings": {"concurrency": concurrency}}
    engine = FlowEngine(load_flow(doc, registry=REGISTRY), FlowServices(prefix="unused:"))
    await engine.run_loop("p", max_iterations=WARMUP)
    started = time.perf_counter()
    stats = await engine.run_loop("p")
    assert stats.iterations == WARMUP + n
    return n / (time.perf_counter() - started)


async def _hand_rate(n: int) -> float:
    workflow = HandWritten(timeout=None)
    for _ in range(WARMUP):
        await workflow.run()
    started = time.perf_counter()
    for _ in range(n):
        await workflow.run()
    return n / (time.perf_counter() - started)


async def measure_loop(n: int) -> dict[str, float]:
    flow = await _flow_rate(n)
    hand = await _hand_rate(n)
    return {
        "iterations_per_s": flow,
        "concurrent8_iterations_per_s": await _flow_rate(n, concurrency=8),
        "hand_iterations_per_s": hand,
        "overhead_us_per_node": max(0.0, (1 / flow - 1 / hand) / 4 * 1e6),
    }


async def _queue_hop(services: FlowServices, n: int, batch: int) -> dict[str, float]:
    queue = RedisQueue(services, "hop", "bench")
    latencies: list[float] = []
    progress = asyncio.Event()

    async def write() -> None:
        for first in range(0, n, batch):
            # At most WINDOW messages in flight, so latency is the hop's, not a backlog's.
            while first - len(latencies) >= WINDOW:
                progress.clear()
                await progress.wait()
            stamp = time.perf_counter()
            items = [
                {"id": str(i), "data": {"t": stamp}, "metadata": {}}
                for i in range(first, min(n, first + batch))
            ]
            await queue.push_many(items)

    async def read() -> None:
        while len(latencies) < n:
            taken = await queue.take(batch, timeout=1)
            arrived = time.perf_counter()
            latencies.extend(arrived - json.loads(raw)["data"]["t"] for raw in taken)
            progress.set()
            await queue.ack(taken)

    started = time.perf_counter()
    await asyncio.gather(write(), read())
    seconds = time.perf_counter() - started
    return {
        "messages_per_s": n / seconds,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


async def measure_queue(n: int) -> dict[str, float]:
    services = FlowServices(prefix=f"reflow-bench-flows:{uuid.uuid4().hex[:12]}:")
    try:
        hop = await _queue_hop(services, n, 100)
        flow = await _flow_hop(services, n)
    finally:
        redis = services.redis()
        keys = [key async for key in redis.scan_iter(match=f"{services.prefix}*")]
        if keys:
            await redis.delete(*keys)
        await services.aclose()
    return {**hop, "flow_messages_per_s": flow}


async def _flow_hop(services: FlowServices, n: int) -> float:
    doc = {
        "nodes": [
            _node("p", "bench-ticks"),
            _node("w", "queue-node-writer", form={"batch_size": 100, "linger_ms": 2}),
            _node("r", "queue-reader-dummy", form={"batch_size": 100}),
            _node("a", "bench-arrived"),
        ],
        "edges": [
            {"source": "p", "target": "w"},
            {"source": "w", "target": "r"},
            {"source": "r", "target": "a"},
        ],
    }
    Ticks.limit = n
    Arrived.latencies = []
    engine = FlowEngine(load_flow(doc, registry=REGISTRY), services, dead_letters=False)
    started = time.perf_counter()
    await engine.run_production()
    seconds = time.perf_counter() - started
    assert len(Arrived.latencies) == n
    return n / seconds


def main(argv: Sequence[str] | None = None) -> None:
    parser: argparse.ArgumentParser = size_parser(__doc__ or CASE, default_n=5000)
    parser.add_argument("--shape", choices=SHAPES, default="loop")
    args = parser.parse_args(argv)
    measure = measure_loop if args.shape == "loop" else measure_queue
    metrics = asyncio.run(measure(args.n))
    emit(f"{CASE}", IMPL, args.n, metrics, version=VERSION, variant=args.shape)


if __name__ == "__main__":
    main()
