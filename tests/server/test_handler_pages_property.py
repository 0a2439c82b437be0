"""Paging ``Runs.list`` (the store backend) gives every handler once, newest first."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from reflow.runtime.basic import basic_runtime
from reflow.server import MemoryWorkflowStore
from reflow.server._store import PersistentHandler
from reflow.server._store_runs import StoreRuns

EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)


async def _pages(offsets: list[int], size: int, page: int, prefix: str | None) -> list[list[str]]:
    store = MemoryWorkflowStore()
    for n, seconds in enumerate(offsets):
        started = EPOCH + timedelta(seconds=seconds)
        await store.update(
            PersistentHandler(
                handler_id=f"{'ab'[n % 2]}{n:03d}",
                workflow_name="w",
                status="completed",
                started_at=started,
                updated_at=started,
            )
        )
    runs = StoreRuns(store, basic_runtime)
    pages = []
    for offset in range(0, size + page, page):
        found = await runs.list(None, None, limit=page, offset=offset, id_prefix=prefix)
        pages.append([h.handler_id for h in found])
    return pages


@settings(max_examples=60, deadline=None)
@given(
    offsets=st.lists(st.integers(0, 10_000), unique=True, max_size=40),
    page=st.integers(1, 12),
    prefix=st.sampled_from([None, "a", "b"]),
)
def test_pages_cover_every_match_once_newest_first(
    offsets: list[int], page: int, prefix: str | None
) -> None:
    pages = asyncio.run(_pages(offsets, len(offsets), page, prefix))
    flat = [handler_id for chunk in pages for handler_id in chunk]
    assert all(len(chunk) <= page for chunk in pages)
    by_id = {f"{'ab'[n % 2]}{n:03d}": seconds for n, seconds in enumerate(offsets)}
    expected = sorted(
        (i for i in by_id if prefix is None or i.startswith(prefix)),
        key=lambda i: by_id[i],
        reverse=True,
    )
    assert flat == expected
