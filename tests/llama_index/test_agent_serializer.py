"""``reflow.alias.AgentSerializer`` writes llama-index chat memories as JSON and reads them back."""

from __future__ import annotations

import json
from typing import Any

import pytest
from llama_index.core.llms import ChatMessage
from llama_index.core.memory import ChatMemoryBuffer, Memory

from reflow.alias import AgentSerializer
from reflow.context.serializers import JsonSerializer
from reflow.events import StopEvent

MESSAGES = [
    ChatMessage(role="user", content="I am Ada"),
    ChatMessage(role="assistant", content="Hello Ada"),
]


def test_chat_memory_buffer_round_trips_with_its_settings() -> None:
    memory = ChatMemoryBuffer.from_defaults(chat_history=MESSAGES, token_limit=1234)
    serializer = AgentSerializer()
    text = serializer.serialize(memory)
    assert json.loads(text)["settings"]["token_limit"] == 1234
    restored = serializer.deserialize(text)
    assert isinstance(restored, ChatMemoryBuffer)
    assert restored.get_all() == MESSAGES
    assert restored.token_limit == 1234


async def test_sql_backed_memory_round_trips_inside_a_running_loop() -> None:
    memory = Memory.from_defaults(session_id="s-1", token_limit=5000)
    await memory.aput_messages(MESSAGES)
    serializer = AgentSerializer()
    restored = serializer.deserialize(serializer.serialize(memory))
    assert isinstance(restored, Memory)
    assert await restored.aget_all() == MESSAGES
    assert (restored.session_id, restored.token_limit) == ("s-1", 5000)


def test_the_plain_json_serializer_cannot_write_a_memory() -> None:
    with pytest.raises(ValueError, match="Failed to serialize"):
        JsonSerializer().serialize(ChatMemoryBuffer.from_defaults(chat_history=MESSAGES))


@pytest.mark.parametrize("value", [{"a": [1, "x"]}, StopEvent(result=3), None, "text"])
def test_other_values_are_written_as_by_json_serializer(value: Any) -> None:
    text = AgentSerializer().serialize(value)
    assert text == JsonSerializer().serialize(value)
    assert AgentSerializer().deserialize(text) == value
