"""Which class answers to which node type identifier."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from reflow.flows._nodes import Node

__all__ = ["NOT_YET_AVAILABLE", "NodeRegistry", "default_registry"]

# Types the format reserves but this version cannot run yet, with the reason.
NOT_YET_AVAILABLE: dict[str, str] = {}


class NodeRegistry:
    """A mapping from type identifiers to node classes; ``register`` adds user types."""

    def __init__(self, classes: Iterable[type[Node[Any]]] = ()) -> None:
        self._classes: dict[str, type[Node[Any]]] = {}
        for cls in classes:
            self.register(cls)

    def register(self, cls: type[Node[Any]]) -> type[Node[Any]]:
        """Add ``cls`` under its ``type_id`` (usable as a class decorator)."""
        if not (isinstance(cls, type) and issubclass(cls, Node)):
            raise TypeError(f"{cls!r} is not a Node subclass")
        if not cls.type_id:
            raise ValueError(f"{cls.__name__} has no type_id")
        if cls.kind not in ("producer", "blocking", "non-blocking", "conditional", "loop"):
            raise ValueError(f"{cls.__name__} has an unknown kind {cls.kind!r}")
        self._classes[cls.type_id] = cls
        return cls

    def get(self, type_id: str) -> type[Node[Any]] | None:
        return self._classes.get(type_id)

    def types(self) -> list[str]:
        return sorted(self._classes)

    def copy(self) -> NodeRegistry:
        return NodeRegistry(self._classes.values())

    def describe(self) -> list[dict[str, Any]]:
        """What an editor needs per type: kind, pool, config JSON Schema, dependent fields."""
        return [
            {
                "type": type_id,
                "kind": cls.kind,
                "pool": cls.pool,
                "output_key": cls.result_key(),
                "config_schema": cls.config_model.model_json_schema(),
                "dependent_fields": dict(cls.dependent_fields),
            }
            for type_id, cls in sorted(self._classes.items())
        ]


_DEFAULT: NodeRegistry | None = None


def default_registry() -> NodeRegistry:
    """The built-in node types (a shared registry; ``copy()`` it to add your own privately)."""
    global _DEFAULT
    if _DEFAULT is None:
        from reflow.flows._builtin_nodes import BUILTIN_NODES
        from reflow.flows._http_nodes import HTTP_NODES
        from reflow.flows._producers import PRODUCER_NODES
        from reflow.flows._queue_nodes import QUEUE_NODES
        from reflow.flows._shell_node import SHELL_NODES

        _DEFAULT = NodeRegistry(
            [*PRODUCER_NODES, *BUILTIN_NODES, *HTTP_NODES, *QUEUE_NODES, *SHELL_NODES]
        )
    return _DEFAULT
