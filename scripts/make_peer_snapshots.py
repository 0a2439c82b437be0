"""Write the golden peer snapshots the tests read: ``tests/peer_snapshots/golden/*.json``.

Each file is ``ctx.to_dict()`` of a run of ``tests/peer_snapshots/peer_flows.py`` taken
mid-run by llama-index-workflows itself (a waiter, queued and in-progress work, buffered
``collect_events``, a delayed retry), with its JSON and its pickle serializer.  The peer runs in
its own environment::

    .venv/bin/python scripts/make_peer_snapshots.py [--peer-python PATH]
    .venv/bin/python scripts/make_peer_snapshots.py --check-peer-reads [--peer-python PATH]

Without ``--peer-python`` the benchmarks' peer environment (``.bench-venv``) is used, created
on first use.  The script runs itself under that interpreter with ``--inside``, where
``reflow`` imports are answered by the peer's ``workflows`` package (the compatibility suite's
alias), so the flows module is the same source for both engines.

``--check-peer-reads`` goes the other way: reflow takes the same mid-run snapshots, and the
peer resumes each of them to the end (nothing is written).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
SNAPSHOTS = REPO_ROOT / "tests" / "peer_snapshots"
GOLDEN = SNAPSHOTS / "golden"


def _run_in_peer(peer_python: Path | None, *arguments: str) -> int:
    sys.path.insert(0, str(REPO_ROOT))
    from benchmarks.run import peer_python as find_peer_python

    python = find_peer_python(peer_python)
    return subprocess.run([str(python), __file__, "--inside", *arguments], check=False).returncode


def _flows(*, as_peer: bool) -> Any:
    """``peer_flows``, imported for reflow or, with the alias, for the peer."""
    if as_peer:
        os.environ["REFLOW_COMPAT_TARGET"] = "peer"
        sys.path.insert(0, str(REPO_ROOT / "tests" / "compat"))
        import conftest  # noqa: F401 - installs the reflow -> workflows alias
    sys.path.append(str(SNAPSHOTS))
    import peer_flows

    return peer_flows


def _snapshot_points() -> dict[str, Any]:
    """Per flow, when its snapshot is taken: a test of the events published so far."""
    from reflow.events import InputRequiredEvent, StepState, StepStateChanged

    def prompted(seen: list[Any]) -> bool:
        return any(isinstance(e, InputRequiredEvent) for e in seen)

    def step_reached(step: str, state: StepState, times: int = 1) -> Any:
        def reached(seen: list[Any]) -> bool:
            hits = [
                e
                for e in seen
                if isinstance(e, StepStateChanged) and e.name == step and e.step_state is state
            ]
            return len(hits) >= times

        return reached

    return {
        "asks": prompted,
        "fans": step_reached("work", StepState.RUNNING),
        "collects": step_reached("join", StepState.NOT_RUNNING, times=2),
        "retries": step_reached("flaky", StepState.NOT_RUNNING),
    }


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


def _take_snapshots(flows: Any, labels: tuple[str, ...]) -> dict[tuple[str, str], Any]:
    from reflow.context.serializers import JsonSerializer, PickleSerializer

    serializers = {"json": JsonSerializer, "pickle": PickleSerializer}
    points = _snapshot_points()
    taken: dict[tuple[str, str], Any] = {}
    for name, flow in flows.flows().items():
        for label in labels:
            flows.GATES.clear()
            flows.Retries.failures.clear()
            # Under pickle the start event carries a Marker, so the payload holds real pickles
            # of the engine's own classes.
            start = {"marker": flows.Marker("m")} if label == "pickle" and name == "asks" else {}
            taken[name, label] = asyncio.run(
                _snapshot(flow, serializers[label](), points[name], start)
            )
    return taken


def _write_golden() -> int:
    from importlib.metadata import version

    flows = _flows(as_peer=True)
    GOLDEN.mkdir(exist_ok=True)
    peer_version = version("llama-index-workflows")
    for (name, label), data in _take_snapshots(flows, ("json", "pickle")).items():
        path = GOLDEN / f"{name}-{label}.json"
        payload = {"peer_version": peer_version, "flow": name, "snapshot": data}
        path.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")
        print(f"wrote {path.relative_to(REPO_ROOT)}")
    return 0


async def _resume(flows: Any, name: str, payload: dict[str, Any]) -> str:
    """Resume ``payload`` to its end (a retry ten years away: until it shows in the queue)."""
    from reflow import Context
    from reflow.events import HumanResponseEvent

    for gate in ("work", "collect"):
        flows.gate(gate).set()
    workflow = flows.flows()[name](timeout=10)
    handler = workflow.run(ctx=Context.from_dict(workflow, payload))
    await asyncio.sleep(0.2)
    if name == "retries":
        queued = handler.ctx.to_dict()["workers"]["flaky"]["queue"]
        await handler.cancel_run()
        return f"delayed retry, not_before={queued[0]['not_before']}"
    if name == "asks":
        handler.ctx.send_event(HumanResponseEvent(response="yes", user="ann"))
    return repr(await asyncio.wait_for(handler, 10))


def _peer_reads(path: Path) -> int:
    flows = _flows(as_peer=True)
    failures = 0
    for name, payload in json.loads(path.read_text()).items():
        try:
            print(f"{name}: {asyncio.run(_resume(flows, name, payload))}")
        except Exception as error:
            failures += 1
            print(f"{name}: FAILED {type(error).__name__}: {error}")
    return 1 if failures else 0


def _check_peer_reads(peer_python: Path | None) -> int:
    flows = _flows(as_peer=False)
    payloads = {name: data for (name, _), data in _take_snapshots(flows, ("json",)).items()}
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "reflow-payloads.json"
        path.write_text(json.dumps(payloads))
        return _run_in_peer(peer_python, "--read", str(path))


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--peer-python", type=Path, help="interpreter with the peer installed")
    parser.add_argument(
        "--check-peer-reads",
        action="store_true",
        help="have the peer resume snapshots reflow took (writes nothing)",
    )
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--read", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        return _peer_reads(args.read) if args.read else _write_golden()
    if args.check_peer_reads:
        return _check_peer_reads(args.peer_python)
    return _run_in_peer(args.peer_python)


if __name__ == "__main__":
    sys.exit(main())
