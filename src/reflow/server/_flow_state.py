"""The live state of one served flow, fed by the flow engine's observer and told to sockets.

The state follows the seed orchestrator's state tracker: ``status`` (idle, running, stopping,
completed, failed, stopped), the nodes executing now with their start time, the nodes completed
with duration and branch taken (newest ``COMPLETED_KEPT`` kept), and counters.  Every change is
also a message for the flow's WebSocket subscribers.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from datetime import datetime, timezone
from typing import Any

COMPLETED_KEPT = 100
SUBSCRIBER_BACKLOG = 1000


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat()


class FlowState:
    """One flow's status and its subscribers (each an ``asyncio.Queue`` of messages)."""

    def __init__(self, name: str, total_nodes: int) -> None:
        self.name = name
        self.total_nodes = total_nodes
        self.status = "idle"
        self.executing: dict[str, dict[str, Any]] = {}
        self.completed: deque[dict[str, Any]] = deque(maxlen=COMPLETED_KEPT)
        self.completed_count = 0
        self.failed_count = 0
        self.started_at: str | None = None
        self.completed_at: str | None = None
        self.error: str | None = None
        self._clock: dict[str, float] = {}
        self._run_started = 0.0
        self.subscribers: set[asyncio.Queue[dict[str, Any] | None]] = set()

    # -- snapshot and subscribers --------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        now = time.perf_counter()
        executing = {
            node_id: {**info, "duration": now - self._clock.get(node_id, now)}
            for node_id, info in self.executing.items()
        }
        return {
            "flow": self.name,
            "status": self.status,
            "total_nodes": self.total_nodes,
            "executing_nodes": executing,
            "completed_nodes": list(self.completed),
            "completed_count": self.completed_count,
            "failed_count": self.failed_count,
            "started_at": self.started_at,
            "completed_at": self.completed_at,
            "error": self.error,
        }

    def subscribe(self) -> asyncio.Queue[dict[str, Any] | None]:
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(SUBSCRIBER_BACKLOG)
        self.subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        self.subscribers.discard(queue)

    def publish(self, message: dict[str, Any]) -> None:
        for queue in list(self.subscribers):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                # A reader this far behind is cut off (it gets None and closes) rather than
                # letting its backlog grow without bound.
                self.subscribers.discard(queue)
                queue.get_nowait()
                queue.put_nowait(None)

    # -- transitions ---------------------------------------------------------------------------

    def run_started(self) -> None:
        self.status = "running"
        self.executing.clear()
        self.completed.clear()
        self.completed_count = self.failed_count = 0
        self.started_at, self.completed_at, self.error = utc_now(), None, None
        self._clock.clear()
        self._run_started = time.perf_counter()
        self.publish({"type": "flow_started", "started_at": self.started_at})

    def run_ended(self, status: str, error: str | None = None, **counts: Any) -> None:
        self.status = status
        self.executing.clear()
        self.completed_at = utc_now()
        duration = time.perf_counter() - self._run_started
        if status == "failed":
            self.error = error
            self.publish({"type": "flow_failed", "error": error, "duration": duration})
        else:
            self.publish(
                {
                    "type": "flow_completed",
                    "status": status,
                    "duration": duration,
                    **counts,
                }
            )

    def observe(self, kind: str, fields: dict[str, Any]) -> None:
        """The flow engine's observer: ``kind`` is node_started, node_completed, ..."""
        node_id = fields.get("node_id")
        message: dict[str, Any] = {"type": kind, **fields}
        if kind == "node_started" and node_id is not None:
            self._clock[node_id] = time.perf_counter()
            message["started_at"] = utc_now()
            self.executing[node_id] = {
                "node_type": fields.get("node_type"),
                "started_at": message["started_at"],
            }
        elif kind == "node_completed" and node_id is not None:
            began = self._clock.pop(node_id, None)
            self.executing.pop(node_id, None)
            if message.get("duration") is None:
                message["duration"] = 0.0 if began is None else time.perf_counter() - began
            message.setdefault("route", None)
            self.completed_count += 1
            self.completed.append(
                {
                    "node_id": node_id,
                    "node_type": fields.get("node_type"),
                    "duration": message["duration"],
                    "route": message["route"],
                }
            )
        elif kind == "node_failed" and node_id is not None:
            self._clock.pop(node_id, None)
            self.executing.pop(node_id, None)
            self.failed_count += 1
        self.publish(message)
