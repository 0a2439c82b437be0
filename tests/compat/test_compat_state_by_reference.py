"""In-memory state keeps values it cannot serialize by reference; a snapshot then fails.

Observed in the peer (2.26.1): ``ctx.store.set("lock", threading.Lock())`` succeeds, ``get``
returns the very object, and ``ctx.to_dict()`` raises a ``ValueError`` naming the key.  A
nested ``set`` leaves state read earlier untouched.
"""

from __future__ import annotations

import threading
import warnings

import pytest

from reflow import Context, Workflow, step
from reflow.events import StartEvent, StopEvent

LOCK = threading.Lock()


class KeepsLock(Workflow):
    @step
    async def keep(self, ctx: Context, ev: StartEvent) -> StopEvent:
        await ctx.store.set("a", {"b": {"c": 1}, "sibling": [1]})
        earlier = await ctx.store.get_state()
        await ctx.store.set("a.b.c", 2)
        await ctx.store.set("lock", LOCK)
        same = (await ctx.store.get("lock")) is LOCK
        return StopEvent(result=(same, earlier["a"], await ctx.store.get("a.b.c")))


async def test_an_unserializable_value_is_kept_and_the_snapshot_fails_naming_it() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reflow warns once, naming the path
        handler = KeepsLock(timeout=5).run()
        same, earlier, now = await handler
    assert same is True
    assert earlier == {"b": {"c": 1}, "sibling": [1]}
    assert now == 2
    with pytest.raises(ValueError, match="lock"):
        handler.ctx.to_dict()
