"""``ctx.collect_events`` bookkeeping, O(1) per call for a repeated ``expected`` list."""

from __future__ import annotations

from collections.abc import Sequence

from reflow.engine.state import CollectBuffer
from reflow.events import Event


def _count(expected: Sequence[type[Event]]) -> dict[type[Event], int]:
    need: dict[type[Event], int] = {}
    for event_type in expected:
        need[event_type] = need.get(event_type, 0) + 1
    return need


def _refresh_need(buffer: CollectBuffer, expected: Sequence[type[Event]]) -> None:
    if buffer.expected_len == len(expected):
        if buffer.expected_ref is expected:
            return
        # A new but equal list (``[E] * n`` rebuilt on every call): compared at C speed.
        if buffer.expected_ref == expected:
            buffer.expected_ref = expected
            return
    buffer.need = _count(expected)
    buffer.expected_ref = list(expected)
    buffer.expected_len = len(expected)
    buffer.missing = sum(
        max(0, count - len(buffer.by_type.get(event_type, ())))
        for event_type, count in buffer.need.items()
    )


def collect(
    buffer: CollectBuffer, event: Event, expected: Sequence[type[Event]]
) -> list[Event] | None:
    """Buffer ``event``; once every expected type is present, release them in ``expected`` order.

    Events of a type that is not expected, or whose expected count is already met, are not
    buffered.  Among events of the same type arrival order is kept.  A release empties the
    buffer.
    """
    if not expected:
        return []
    _refresh_need(buffer, expected)
    event_type = type(event)
    needed = buffer.need.get(event_type)
    if needed is None:
        return None
    bucket = buffer.by_type.setdefault(event_type, [])
    if len(bucket) >= needed:
        return None
    bucket.append(event)
    buffer.missing -= 1
    if buffer.missing > 0:
        return None
    taken: dict[type[Event], int] = {}
    released: list[Event] = []
    for wanted in expected:
        index = taken.get(wanted, 0)
        released.append(buffer.by_type[wanted][index])
        taken[wanted] = index + 1
    buffer.by_type.clear()
    buffer.need = {}
    buffer.expected_ref = None
    buffer.expected_len = -1
    return released
