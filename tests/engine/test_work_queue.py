"""``WorkQueue`` behaves like a deque for every sequence of the operations the reducer uses."""

from __future__ import annotations

from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reflow.engine._work_queue import WorkQueue

operations = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.integers()),
        st.tuples(st.just("appendleft"), st.integers()),
        st.tuples(st.just("popleft"), st.none()),
        st.tuples(st.just("clear"), st.none()),
    ),
    max_size=400,
)


@settings(max_examples=200, deadline=None)
@given(operations)
def test_work_queue_matches_a_deque(ops: list[tuple[str, int | None]]) -> None:
    queue: WorkQueue[int] = WorkQueue()
    model: deque[int] = deque()
    for name, value in ops:
        if name == "popleft":
            if model:
                assert queue.popleft() == model.popleft()
            else:
                with pytest.raises(IndexError):
                    queue.popleft()
        elif name == "clear":
            queue.clear()
            model.clear()
        else:
            getattr(queue, name)(value)
            getattr(model, name)(value)
        assert list(queue) == list(model)
        assert len(queue) == len(model)
        assert bool(queue) == bool(model)


def test_a_long_drain_compacts_the_list() -> None:
    queue: WorkQueue[int] = WorkQueue(range(1000))
    for expected in range(990):
        assert queue.popleft() == expected
    assert list(queue) == list(range(990, 1000))
    assert len(queue._items) < 1000
