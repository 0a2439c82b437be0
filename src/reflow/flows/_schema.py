"""The JSON Schema of the flow document (what ``reflow flow schema`` prints)."""

from __future__ import annotations

from typing import Any

from reflow.flows._format import FlowSpec
from reflow.flows._registry import NodeRegistry, default_registry

__all__ = ["flow_json_schema"]


def flow_json_schema(registry: NodeRegistry | None = None) -> dict[str, Any]:
    """The document's structure; ``type`` is restricted to the registry's identifiers."""
    schema = FlowSpec.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "reflow flow"
    types = (registry or default_registry()).types()
    schema["$defs"]["NodeSpec"]["properties"]["type"]["enum"] = types
    return schema
