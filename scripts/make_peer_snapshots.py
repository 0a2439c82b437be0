"""Write the golden peer snapshots the tests read: ``tests/peer_snapshots/golden/*.json``.

Each file is ``ctx.to_dict()`` of a run of ``tests/peer_snapshots/peer_flows.py`` taken
mid-run by llama-index-workflows itself (a waiter, queued and in-progress work, a delayed
retry), with its JSON and its pickle serializer.  The peer runs in its own environment::

    .venv/bin/python scripts/make_peer_snapshots.py [--peer-python PATH]

Without ``--peer-python`` the benchmarks' peer environment (``.bench-venv``) is used, created
on first use.  The script then runs itself under that interpreter with ``--inside``, where
``reflow`` imports are answered by the peer's ``workflows`` package (the compatibility suite's
alias), so the flows module is the same source for both engines.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
SNAPSHOTS = REPO_ROOT / "tests" / "peer_snapshots"
GOLDEN = SNAPSHOTS / "golden"


def _outside(peer_python: Path | None) -> int:
    sys.path.insert(0, str(REPO_ROOT))
    from benchmarks.run import peer_python as find_peer_python

    python = find_peer_python(peer_python)
    return subprocess.run([str(python), __file__, "--inside"], check=False).returncode


async def _snapshot(
    flow: type[Any], serializer: Any, ready: Any, start: dict[str, Any]
) -> dict[str, Any]:
    """Run ``flow`` until ``ready(events)`` holds, then take its snapshot and cancel it."""
    handler = flow(timeout=None).run(**start)
    seen: list[Any] = []

    async def watch() -> None:
        async for event in handler.stream_events(expose_internal=True):
            seen.append(event)

    watcher = asyncio.ensure_future(watch())
    for _ in range(200):
        await asyncio.sleep(0.01)
        if ready(seen):
            break
    else:
        raise RuntimeError(f"{flow.__name__} never reached its snapshot point")
    await asyncio.sleep(0.05)  # let the loop settle (queued work is recorded)
    data: dict[str, Any] = handler.ctx.to_dict(serializer=serializer)
    await handler.cancel_run()
    with contextlib.suppress(BaseException):  # the cancellation itself
        await handler
    watcher.cancel()
    return data


def _inside() -> int:
    os.environ["REFLOW_COMPAT_TARGET"] = "peer"
    sys.path[:0] = [str(REPO_ROOT / "tests" / "compat"), str(SNAPSHOTS)]
    from importlib.metadata import version

    import conftest  # noqa: F401 - installs the reflow -> workflows alias
    import peer_flows

    from reflow.context.serializers import JsonSerializer, PickleSerializer
    from reflow.events import InputRequiredEvent, StepState, StepStateChanged

    def prompted(seen: list[Any]) -> bool:
        return any(isinstance(e, InputRequiredEvent) for e in seen)

    def step_reached(step: str, state: StepState, times: int = 1) -> Any:
        """A snapshot point: ``step`` published ``state`` at least ``times`` times."""

        def reached(seen: list[Any]) -> bool:
            hits = [
                e
                for e in seen
                if isinstance(e, StepStateChanged) and e.name == step and e.step_state is state
            ]
            return len(hits) >= times

        return reached

    points = {
        "asks": prompted,
        "fans": step_reached("work", StepState.RUNNING),
        "collects": step_reached("join", StepState.NOT_RUNNING, times=2),
        "retries": step_reached("flaky", StepState.NOT_RUNNING),
    }
    GOLDEN.mkdir(exist_ok=True)
    peer_version = version("llama-index-workflows")
    for name, flow in peer_flows.flows().items():
        for label, serializer in (("json", JsonSerializer()), ("pickle", PickleSerializer())):
            peer_flows.GATES.clear()
            peer_flows.Retries.failures.clear()
            # Under pickle the start event carries a Marker, so the payload holds real pickles
            # of the peer's classes.
            marker = peer_flows.Marker("m")
            start = {"marker": marker} if label == "pickle" and name == "asks" else {}
            data = asyncio.run(_snapshot(flow, serializer, points[name], start))
            path = GOLDEN / f"{name}-{label}.json"
            payload = {"peer_version": peer_version, "flow": name, "snapshot": data}
            path.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")
            print(f"wrote {path.relative_to(REPO_ROOT)}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-python", type=Path, help="interpreter with the peer installed")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    return _inside() if args.inside else _outside(args.peer_python)


if __name__ == "__main__":
    sys.exit(main())
