"""The background loop of a launched runtime: heartbeats, failover, inbox rows, remote results.

Every ``poll_interval`` seconds it scans the journal once (one read transaction): runs it
should claim (their process died, a timer of a released run is due, an event waits in the
inbox of a released run), inbox rows for the runs it drives, and the state of runs whose
results it waits for while another process drives them.  Every ``lease_seconds / 3`` it
heartbeats its process row and reaps dead processes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import TYPE_CHECKING

from reflow.durable._errors import JournalError
from reflow.durable._leases import Reap, Register
from reflow.durable._ops import FINISHED, MoveAside
from reflow.durable._queries import Lookup, Scan, ScanResult

if TYPE_CHECKING:
    from reflow.durable._manager import RunManager
    from reflow.durable._seams import RuntimeView

logger = logging.getLogger("reflow.durable")


async def heartbeat(runtime: RuntimeView) -> None:
    """Refresh this process's row and delete the rows of dead processes."""
    now = time.time()
    journal = runtime.journal
    await journal.call(Register(runtime.owner, os.getpid(), runtime.host, now))
    await journal.call(Reap(runtime.owner, runtime.host, now, runtime.lease_seconds))


async def scan(runtime: RuntimeView, manager: RunManager) -> list[asyncio.Task[object]]:
    """One scan; returns the load tasks it started (launch waits for them)."""
    generation = manager.generation = manager.generation + 1
    watched = tuple(manager.watched)
    found: ScanResult = await runtime.journal.call(
        Scan(runtime.owner, time.time(), runtime.lease_seconds, watched), write=False
    )
    manager.deliver_inbox(found.inbox, generation)
    if found.stale_inbox:
        manager.spawn(runtime.journal.call(MoveAside(found.stale_inbox, time.time())))
    loads: list[asyncio.Task[object]] = []
    for run_id, name in found.claimable:
        if manager.may_claim(run_id, name):
            loads.append(manager.spawn(manager.load(run_id)))
    for run_id in watched:
        workflow = manager.watched.get(run_id)
        if workflow is None:
            continue  # settled meanwhile
        seen = found.watched.get(run_id)
        if seen is not None:
            manager.fire(run_id)  # remote readers look for new events
        if seen is None or seen[0] in FINISHED:
            manager.spawn(_settle(runtime, manager, run_id, workflow))
    return loads


async def _settle(runtime: RuntimeView, manager: RunManager, run_id: str, workflow: object) -> None:
    row = await runtime.journal.call(Lookup(run_id), write=False)
    if row is None:
        from reflow.durable._errors import UnknownRun

        manager.settle(run_id, error=UnknownRun(f"Run {run_id!r} was removed from the journal"))
    elif row.finished and run_id not in manager.live:
        manager.settle_from_row(row, runtime._codec(workflow))


async def poll_forever(runtime: RuntimeView, manager: RunManager) -> None:
    last_heartbeat = time.monotonic()
    while not manager.closing:
        await asyncio.sleep(runtime.poll_interval)
        try:
            if time.monotonic() - last_heartbeat >= runtime.lease_seconds / 3:
                last_heartbeat = time.monotonic()
                await heartbeat(runtime)
            await scan(runtime, manager)
        except asyncio.CancelledError:
            raise
        except JournalError as exc:
            if runtime.journal.closed:
                return
            logger.error("reflow.durable: the journal scan failed: %s", exc)
        except Exception:
            logger.exception("reflow.durable: the journal scan failed")
