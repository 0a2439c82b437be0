"""Keeping a llama-index agent's chat memory in a JSON snapshot.

llama-index-core's agents keep their conversation in the state key ``"memory"`` as a
``BaseMemory`` object (a ``ChatMemoryBuffer`` by default). Neither JSON serializer can write it
(its ``to_dict`` fails on the chat messages and it holds a tokenizer function), so the peer, and
reflow's plain ``JsonSerializer``, leave the key out of ``ctx.to_dict()``: a restored agent has
forgotten the conversation. :class:`AgentSerializer` writes such a memory as its messages plus
its plain settings, and rebuilds it with ``from_defaults`` on the way back.

llama-index is never imported here: a value counts as a memory only when llama-index-core's
memory module is already loaded and the value is one of its ``BaseMemory`` objects.
"""

from __future__ import annotations

import inspect
import json
import sys
from typing import Any

from reflow._type_names.qualname import qualified_name
from reflow._type_names.resolution import TypeRegistry, import_class
from reflow.context.serializers import JsonSerializer
from reflow.errors import SerializationError

_TAG = "__is_llama_index_memory"
_MEMORY_MODULE = "llama_index.core.memory"
_MESSAGE_MODULE = "llama_index.core.base.llms.types"


def _is_memory(value: Any) -> bool:
    module = sys.modules.get(_MEMORY_MODULE)
    base = getattr(module, "BaseMemory", None)
    return isinstance(base, type) and isinstance(value, base)


def _plain_settings(memory: Any) -> dict[str, Any]:
    """The fields of ``memory`` that are plain JSON values (limits, keys, session id)."""
    settings: dict[str, Any] = {}
    for name in type(memory).model_fields:
        field_value = getattr(memory, name, None)
        if isinstance(field_value, (str, int, float, bool)) or field_value is None:
            settings[name] = field_value
    return settings


def encode_memory(memory: Any) -> dict[str, Any]:
    """The JSON record of a llama-index memory: class, plain settings and every message."""
    return {
        _TAG: True,
        "qualified_name": qualified_name(type(memory)),
        "settings": _plain_settings(memory),
        "messages": [message.model_dump(mode="json") for message in memory.get_all()],
    }


def decode_memory(record: dict[str, Any]) -> Any:
    """Rebuild the memory :func:`encode_memory` wrote, with its messages."""
    memory_class = import_class(record["qualified_name"])
    message_class = import_class(f"{_MESSAGE_MODULE}.ChatMessage")
    messages = [message_class.model_validate(item) for item in record["messages"]]
    accepted = inspect.signature(memory_class.from_defaults).parameters
    settings = {k: v for k, v in record["settings"].items() if k in accepted and v is not None}
    return memory_class.from_defaults(chat_history=messages, **settings)


class AgentSerializer(JsonSerializer):
    """``JsonSerializer`` that also keeps llama-index chat memories (see the module doc).

    Pass it where a context is serialized and restored: ``ctx.to_dict(serializer=...)`` and
    ``Context.from_dict(workflow, data, serializer=...)``, or as a workflow's ``serializer``.
    """

    def serialize(self, value: Any) -> str:
        if _is_memory(value):
            try:
                return json.dumps(encode_memory(value))
            except Exception as exc:
                raise SerializationError(
                    "memory", f"cannot store {type(value).__name__}'s messages: {exc}"
                ) from exc
        return super().serialize(value)

    def deserialize(self, value: str, *, type_registry: TypeRegistry | None = None) -> Any:
        data = json.loads(value)
        if isinstance(data, dict) and data.get(_TAG) is True:
            return decode_memory(data)
        return super().deserialize(value, type_registry=type_registry)
