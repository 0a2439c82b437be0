"""Queue wake-ups: a worker claims a step execution when one is enqueued or when one of its own
finishes, instead of at its next poll.

DBOS gives every queue a thread that polls it: it waits the queue's polling interval, then
claims what the worker has room for.  Polling alone makes a worker pay for the interval twice:
a short one keeps an idle worker busy (3 to 4 queries per queue per poll), and a long one
delays every hop and refills a worker's free slots only once per interval, which caps a worker
at ``concurrency / interval`` steps a second.  DBOS has no wake-up for queues; this is
reflow's glue for one, and nothing else of DBOS changes: its threads still claim, under its
transactions and limits.

- The wait of each of DBOS's queue threads is cut short by a per-queue flag.  The flag is set
  when the queue gets work (a NOTIFY from a trigger on DBOS's ``workflow_status``, see
  ``_dispatch.install_trigger``) and when an execution of the queue finishes in this process
  (a slot is free).
- A queue woken in the last ``BUSY_SECONDS``, or with executions running here, is also polled
  at DBOS's interval (``BUSY_POLL_SECONDS``, longer while DBOS backs off from contention): a
  claim that lost a race with another worker is retried soon, not at the next idle poll.  An
  idle queue polls every ``IDLE_POLL_SECONDS``, a fallback for a notification lost while the
  LISTEN connection was down.  The release of a slot wakes the queue once half the worker's
  slots are free, and the claim then waits ``GATHER_SECONDS`` for the releases that come with
  it.
- A worker whose slots for a queue are all taken could claim nothing, yet each of DBOS's polls
  still costs its queries (reloading the queue, listing its partitions): such a queue waits
  the idle interval instead, and the first release wakes it, whose claim then waits
  ``BUSY_POLL_SECONDS`` for more releases, as the poll it replaces would have.

The hook replaces the stop event DBOS hands its queue threads with one whose ``wait`` is
this wait (``install``).  Where that cannot be done (DBOS changed), ``install`` says so and the
queues are polled every ``BUSY_POLL_SECONDS``, as before.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

logger = logging.getLogger("reflow.dbos")

BUSY_POLL_SECONDS = 0.05
IDLE_POLL_SECONDS = 1.0
BUSY_SECONDS = 1.0
# After a slot is released, the claim waits this long for the releases that come with it (the
# executions of a fan-out finish together): one claim for all of them, and one read of their
# results by the process awaiting them, instead of one each.  New work is claimed at once.
GATHER_SECONDS = 0.01
# DBOS names each queue's thread after the queue.
_THREAD_PREFIX = "queue-worker-"


class Waker:
    """The wake flags of the queues this process serves."""

    def __init__(self, queues: Iterable[str]) -> None:
        self._flags = {queue: threading.Event() for queue in queues}
        self._woken_at: dict[str, float] = {}
        # Woken for released slots, not for new work: how long the claim waits for more.
        self._released: dict[str, float] = {}
        # Queues whose thread waits because this worker's slots for it are all taken.
        self._parked: set[str] = set()
        self._stopping = False
        # Executions of a queue this process runs at once, where limited (``set_worker_limit``).
        self._limits: dict[str, int] = {}
        # How many executions of a queue run in this process (DBOS's count, set by install).
        self.running: Callable[[str], int] = lambda queue: 0

    def wake(self, queue: str) -> None:
        flag = self._flags.get(queue)
        if flag is not None:
            self._woken_at[queue] = time.monotonic()
            flag.set()

    def set_worker_limit(self, queue: str, worker_limit: int | None) -> None:
        """How many executions of ``queue`` this process runs at once (None: no limit)."""
        if worker_limit is None:
            self._limits.pop(queue, None)
        else:
            self._limits[queue] = worker_limit

    def released(self, queue: str) -> None:
        """An execution of ``queue`` here finished: claim again once half the slots are free
        (claiming for each slot would cost a claim per execution; the busy poll still claims
        for fewer)."""
        limit = self._limits.get(queue)
        if limit is None or limit - self.running(queue) >= max(1, limit // 2):
            self._released[queue] = GATHER_SECONDS
            self.wake(queue)
        elif queue in self._parked:  # was full: claim within DBOS's interval, as its poll would
            self._released.setdefault(queue, BUSY_POLL_SECONDS)
            self.wake(queue)

    def wake_all(self) -> None:
        for queue in self._flags:
            self.wake(queue)

    def stop(self) -> None:
        """Let every queue thread see DBOS's stop at once (DBOS joins them when destroyed)."""
        self._stopping = True
        for flag in self._flags.values():
            flag.set()

    def full(self, queue: str) -> bool:
        """Whether this process runs as many executions of ``queue`` as it may."""
        limit = self._limits.get(queue)
        return limit is not None and self.running(queue) >= limit

    def busy(self, queue: str) -> bool:
        recently = time.monotonic() - self._woken_at.get(queue, float("-inf")) < BUSY_SECONDS
        return recently or self.running(queue) > 0

    def wait(self, stop: threading.Event, queue: str | None, timeout: float | None) -> bool:
        """Wait as DBOS's queue thread for ``queue`` would, unless woken; whether to stop."""
        flag = None if queue is None else self._flags.get(queue)
        if flag is None or queue is None or self._stopping:
            return stop.wait(timeout)
        # Parked before the check: a release between the two still sees it and wakes us.
        self._parked.add(queue)
        full = self.full(queue)
        if not full:
            self._parked.discard(queue)
        if self.busy(queue) and not full:
            # DBOS's own interval: BUSY_POLL_SECONDS, longer while it backs off after claims
            # that lost serialization conflicts.
            interval = BUSY_POLL_SECONDS if timeout is None else timeout
        else:
            interval = IDLE_POLL_SECONDS if timeout is None else max(timeout, IDLE_POLL_SECONDS)
        woken = flag.wait(interval)
        self._parked.discard(queue)
        gather = self._released.pop(queue, None)
        if woken and gather is not None:
            stop.wait(gather)
        # A wake after this clear is not lost: the claim that follows runs after it, and a
        # wake is only ever sent once its work is visible (committed, or the slot released).
        flag.clear()
        return stop.is_set()


class _StopOrWake:
    """What DBOS's queue threads get in place of their stop event: its flag, this wait."""

    def __init__(self, stop: threading.Event) -> None:
        self._stop = stop

    def is_set(self) -> bool:
        return self._stop.is_set()

    def set(self) -> None:
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        waker = _waker
        if waker is None:
            return self._stop.wait(timeout)
        name = threading.current_thread().name
        queue = name[len(_THREAD_PREFIX) :] if name.startswith(_THREAD_PREFIX) else None
        return waker.wait(self._stop, queue, timeout)


_waker: Waker | None = None
_dbos_queue_thread: Callable[[Any, Any], None] | None = None  # DBOS's, once replaced


def _queue_thread(stop_event: threading.Event, dbos: Any) -> None:
    """DBOS's queue manager thread, given a ``_StopOrWake`` (its queue threads get it too)."""
    assert _dbos_queue_thread is not None
    _dbos_queue_thread(_StopOrWake(stop_event), dbos)


def _patch_queue_thread() -> bool:
    """Make DBOS start its queue threads with a ``_StopOrWake`` (once per process)."""
    global _dbos_queue_thread
    import dbos._dbos as dbos_module

    current = getattr(dbos_module, "queue_thread", None)
    if current is _queue_thread:
        return True
    if not callable(current):
        return False
    _dbos_queue_thread = current
    setattr(dbos_module, "queue_thread", _queue_thread)  # noqa: B010 - not re-exported by DBOS
    return True


def _watch_releases(dbos: Any, waker: Waker) -> bool:
    """Wake a queue when one of its executions here releases its slot."""
    try:
        from dbos._core import ActiveWorkflowById
    except ImportError:
        return False
    active = getattr(dbos, "_active_workflows_set", None)
    if type(active) is not ActiveWorkflowById:
        return False

    class WakingActive(ActiveWorkflowById):
        def _remove(self, key: str, bucket: Any) -> None:
            super()._remove(key, bucket)  # the slot is free before the claim it wakes
            if bucket is not None:
                waker.released(bucket[0])

    dbos._active_workflows_set = replaced = WakingActive()
    waker.running = replaced.count_for_queue
    return True


def install(dbos: Any, queues: Iterable[str]) -> Waker | None:
    """Wake-ups for ``queues`` in the DBOS instance ``dbos``, configured and not launched yet
    (its queue threads start at launch); None where DBOS's internals are not as expected."""
    global _waker
    waker = Waker(queues)
    if not (_patch_queue_thread() and _watch_releases(dbos, waker)):
        logger.warning(
            "reflow.dbos: this DBOS version cannot be given queue wake-ups; "
            "its queues are polled every %s s",
            BUSY_POLL_SECONDS,
        )
        return None
    _waker = waker
    return waker


def uninstall(waker: Waker) -> None:
    global _waker
    waker.stop()
    if _waker is waker:
        _waker = None
