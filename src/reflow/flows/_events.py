"""The events a compiled flow's steps exchange, and how an iteration's share is split.

Every node input carries a share (``weight``) of ``FULL``; see ``_compile`` for how the shares
end an iteration.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from reflow.events import Event, StartEvent, construct_trusted
from reflow.flows._nodes import Payload

__all__ = [
    "FULL",
    "BranchEnd",
    "FlowStart",
    "NodeInput",
    "NodeTimeoutError",
    "Observer",
    "node_event",
    "notify",
    "split_weight",
]

FULL = 1 << 60

logger = logging.getLogger(__name__)


class NodeTimeoutError(TimeoutError):
    """A node ran longer than its ``data.timeout`` (the attempt is cancelled)."""


class FlowStart(StartEvent):
    """Starts one iteration; ``entry`` + ``payload`` start at a node instead (replay, body)."""

    entry: str | None = None
    payload: dict[str, Any] | None = None
    token: int = 0
    """Which iteration of the loop this is (the producer's delivery is settled by it)."""


class NodeInput(Event):
    """Base of the per-edge event classes."""

    data: dict[str, Any]
    metadata: dict[str, Any]
    pid: str
    weight: int
    skipped: bool = False


class BranchEnd(Event):
    """A branch of the iteration ended at ``node`` (``data`` is ``None`` when it was skipped)."""

    node: str
    weight: int
    data: dict[str, Any] | None = None


_FIELDS_SET = {"data", "metadata", "pid", "weight", "skipped"}


def node_event(cls: type[NodeInput], payload: Payload | None, weight: int) -> NodeInput:
    """An input event without pydantic validation (a step builds one per edge it feeds);
    ``payload=None`` makes a skip."""
    if payload is None:
        fields = {"data": {}, "metadata": {}, "pid": "", "weight": weight, "skipped": True}
    else:
        fields = {
            "data": payload.data,
            "metadata": payload.metadata,
            "pid": payload.id,
            "weight": weight,
            "skipped": False,
        }
    return construct_trusted(cls, fields, _FIELDS_SET)


Observer = Callable[[str, dict[str, Any]], None]


def notify(observers: list[Observer], kind: str, fields: dict[str, Any]) -> None:
    """Tell every observer; one that raises is logged and never stops the flow."""
    for observer in observers:
        try:
            observer(kind, fields)
        except Exception:
            logger.exception("flow observer failed on %s", kind)


def split_weight(weight: int, parts: int) -> list[int]:
    """``parts`` integer shares adding up to ``weight`` exactly."""
    share, rest = divmod(weight, parts)
    return [share + rest, *([share] * (parts - 1))]
