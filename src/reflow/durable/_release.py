"""Letting a run go from this process: a snapshot written, the lease given back.

A run is released once it has been idle (waiting for an event or a timer, nothing on its way
into the run or to the journal) for ``release_idle_after`` seconds, timed from its last
journal batch; every run this process holds is released when the runtime is destroyed.  A
released run stays in the journal, where any process loads it again when it has work.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from reflow.durable._encoding import encode_store
from reflow.durable._errors import LeaseLost, RunReleased
from reflow.durable._ops import Release

if TYPE_CHECKING:
    from reflow.durable._journal import Journal
    from reflow.durable._live import LiveRun
    from reflow.durable._seams import RuntimeView


class Releasing:
    """A mixin of ``_manager.RunManager``: ``committed`` times the release of an idle run,
    ``release`` stops driving a run here and gives its lease back."""

    runtime: RuntimeView
    journal: Journal
    owner: str
    closing: bool

    if TYPE_CHECKING:

        def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]: ...

        def fire(self, run_id: str) -> None: ...

    def committed(self, live: LiveRun) -> None:
        """After each journal batch: wake readers, and time the run's release if it is idle."""
        self.fire(live.run_id)
        after = self.runtime.release_idle_after
        if after is not None and live.idle_timer is None and live.quiescent:
            loop = asyncio.get_running_loop()
            live.idle_timer = loop.call_later(after, self._idle_due, live, live.next_seq)

    def _idle_due(self, live: LiveRun, seq: int) -> None:
        live.idle_timer = None
        if not live.quiescent or self.closing:
            return
        after = self.runtime.release_idle_after
        if (live.next_seq != seq or not live.idle) and after is not None:
            loop = asyncio.get_running_loop()
            live.idle_timer = loop.call_later(after, self._idle_due, live, live.next_seq)
            return
        self.spawn(self.release(live))

    async def release(self, live: LiveRun) -> None:
        """Stop driving ``live`` here and give its lease back.

        An idle run leaves a snapshot; a busy one (at shutdown) leaves none, since ticks may be
        reduced but not yet journaled, and is replayed from its journal instead.
        """
        if live.stopping or live.finished:
            return
        idle = live.idle
        state = live.driver.state
        snapshot = live.snapshot() if idle else None
        store = encode_store(live.store, live.serializer)
        if store == live.last_store:
            store = None
        wake_at = min((timer.due for timer in state.timers.values()), default=None)
        if not idle:
            # Work was in flight: the run is due at once, so that a live process of the
            # cluster claims it at its next scan (a released run with no wake_at and nothing
            # in its inbox waits for an event, and no process would ever continue it).
            wake_at = time.time()
        live.stop(RunReleased(live.run_id))
        with contextlib.suppress(LeaseLost):
            await self.journal.call(
                Release(live.run_id, self.owner, time.time(), wake_at, snapshot, store)
            )
