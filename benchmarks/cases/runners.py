"""``runners``: the cost of ``reflow.runners`` commands (reflow only: the peer has none).

Shapes, chosen with ``--shape``:

- ``overhead``: N launches of ``true`` each way, median ms per command: a bare
  ``subprocess.run`` (the floor), ``run_shell``, and ``run_plugin`` on each sandbox backend
  that works here (``bwrap``, ``landlock``; ``*_available`` is 0 and their figures 0 where
  one does not); ``*_overhead_ms`` is the median minus the floor's (0 when within noise);
  ``bwrap_floor_ms`` is bubblewrap alone around ``true`` (what no wrapper can go below).
  Targets: the shell runner within +2 ms, each sandbox backend within +10 ms.
- ``stream``: one step runs a command writing N MB of 1 KB lines; every line goes through the
  runner (callback, capture limit, an ``OutputLineEvent`` on the run's stream) and the caller
  reads the stream. ``mb_per_s`` and ``rss_growth_mb`` (the process must not hold the output:
  growth stays near the 1 MB capture limit, not N MB).
"""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import time
from collections.abc import Sequence

from benchmarks._common import current_rss_bytes, emit, size_parser
from benchmarks._impl import IMPL, VERSION, StartEvent, StopEvent, Workflow, step

CASE = "runners"
SHAPES = ("overhead", "stream")


def _median(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2] * 1000.0


async def _timed(n: int, launch: object) -> float:
    samples: list[float] = []
    for _ in range(n + 2):  # two warm-ups
        started = time.perf_counter()
        await launch()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    return _median(samples[2:])


async def overhead(n: int) -> dict[str, float]:
    from reflow.runners import run_shell
    from reflow.runners._backends import minimal_bwrap_argv, probe
    from reflow.runners._sandbox_run import run_plugin

    async def bare() -> None:
        subprocess.run(["true"], check=True)

    async def shell() -> None:
        result = await run_shell(["true"], publish=False)
        assert result.ok

    metrics = {"bare_ms": await _timed(n, bare), "shell_ms": await _timed(n, shell)}
    metrics["shell_overhead_ms"] = max(0.0, metrics["shell_ms"] - metrics["bare_ms"])
    metrics["bwrap_floor_ms"] = 0.0
    for backend in ("bwrap", "landlock"):
        available = getattr(probe(), backend) is None
        metrics[f"{backend}_available"] = float(available)
        metrics[f"{backend}_ms"] = metrics[f"{backend}_overhead_ms"] = 0.0
        if not available:
            continue

        async def sandboxed(backend: str = backend) -> None:
            run = await run_plugin("builtin:shell", input={"command": ["true"]}, sandbox=backend)
            assert run.ok, run.result.stderr

        metrics[f"{backend}_ms"] = await _timed(n, sandboxed)
        if backend == "bwrap":
            # bubblewrap's own cost: its minimal root around ``true``, started directly.
            floor = minimal_bwrap_argv()

            async def raw_bwrap(floor: list[str] = floor) -> None:
                subprocess.run(floor, check=True)

            metrics["bwrap_floor_ms"] = await _timed(n, raw_bwrap)
        overhead_ms = metrics[f"{backend}_ms"] - metrics["bare_ms"]
        metrics[f"{backend}_overhead_ms"] = max(0.0, overhead_ms)
    return metrics


class Streamed(StartEvent):
    megabytes: int


class StreamFlow(Workflow):
    @step
    async def produce(self, ev: Streamed) -> StopEvent:
        from reflow.runners import run_shell

        lines = ev.megabytes * 1024
        script = "\n".join(
            [
                "import sys",
                "line = 'x' * 1023 + '\\n'",
                f"for _ in range({lines}): sys.stdout.write(line)",
            ]
        )
        result = await run_shell([sys.executable, "-c", script], check=True)
        return StopEvent(result=len(result.stdout))


async def stream(n: int) -> dict[str, float]:
    workflow = StreamFlow(timeout=None)
    gc.collect()
    before = current_rss_bytes()
    peak = before
    started = time.perf_counter()
    handler = workflow.run(start_event=Streamed(megabytes=n))
    seen = 0
    async for _ in handler.stream_events():
        seen += 1
        if seen % 4096 == 0:
            peak = max(peak, current_rss_bytes())
    await handler
    seconds = time.perf_counter() - started
    peak = max(peak, current_rss_bytes())
    return {"mb_per_s": n / seconds, "rss_growth_mb": (peak - before) / 1e6, "lines": seen}


def main(argv: Sequence[str] | None = None) -> None:
    parser = size_parser(__doc__ or CASE, default_n=100)
    parser.add_argument("--shape", choices=SHAPES, default="overhead")
    args = parser.parse_args(argv)
    measure = overhead if args.shape == "overhead" else stream
    metrics = asyncio.run(measure(args.n))
    emit(CASE, IMPL, args.n, metrics, variant=args.shape, version=VERSION)


if __name__ == "__main__":
    main()
