"""State payloads of another store type are refused with the peer's messages (2.26.1)."""

from __future__ import annotations

import pytest

from reflow import Context, Workflow, step
from reflow.context.serializers import JsonSerializer
from reflow.context.state_store import InMemoryStateStore
from reflow.errors import ContextSerdeError
from reflow.events import StartEvent, StopEvent


class Once(Workflow):
    @step
    async def only(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=1)


def test_an_in_memory_store_refuses_another_store_type() -> None:
    with pytest.raises(ValueError) as info:
        InMemoryStateStore.from_dict({"store_type": "redis", "state_data": {}}, JsonSerializer())
    assert str(info.value) == (
        "Cannot parse store_type 'redis' as InMemorySerializedState. "
        "Use the appropriate store's from_dict() method."
    )


def test_a_restored_context_refuses_its_store_before_the_run() -> None:
    payload = {
        "version": 2,
        "state": {"store_type": "redis", "state_data": {}},
        "is_running": False,
        "workers": {},
    }
    ctx = Context.from_dict(Once(), payload)
    with pytest.raises(ContextSerdeError) as info:
        _ = ctx.store
    assert str(info.value) == (
        "Context.store cannot be accessed before workflow start for durable state store "
        "'redis'. Pass the context to workflow.run() so the runtime can restore it."
    )
