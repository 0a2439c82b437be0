"""``WorkQueue``: a step's FIFO of waiting work.

A deque costs 760 bytes even when empty, and every step a run touches has a queue; this is a
list read from a moving head (compacted as it drains), with the few operations the reducer
uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class WorkQueue(Generic[T]):
    __slots__ = ("_head", "_items")

    def __init__(self, items: Iterable[T] = ()) -> None:
        self._items: list[T | None] = list(items) if items else []
        self._head = 0

    def append(self, item: T) -> None:
        self._items.append(item)

    def appendleft(self, item: T) -> None:
        if self._head > 0:
            self._head -= 1
            self._items[self._head] = item
        else:
            self._items.insert(0, item)

    def popleft(self) -> T:
        if self._head >= len(self._items):
            raise IndexError("pop from an empty WorkQueue")
        item = self._items[self._head]
        self._items[self._head] = None
        self._head += 1
        if self._head >= len(self._items):
            self._items.clear()
            self._head = 0
        elif self._head >= 64 and self._head * 2 >= len(self._items):
            del self._items[: self._head]
            self._head = 0
        return item  # type: ignore[return-value]

    def clear(self) -> None:
        self._items.clear()
        self._head = 0

    def __len__(self) -> int:
        return len(self._items) - self._head

    def __bool__(self) -> bool:
        return self._head < len(self._items)

    def __iter__(self) -> Iterator[T]:
        items = self._items
        for index in range(self._head, len(items)):
            yield items[index]  # type: ignore[misc]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, WorkQueue):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"WorkQueue({list(self)!r})"
