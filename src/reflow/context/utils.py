"""Qualified-name helpers under the names of llama-index-workflows' ``workflows.context.utils``.

llama-index-core re-exports both from ``llama_index.core.workflow.utils``.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["get_qualified_name", "import_module_from_qualified_name"]


def get_qualified_name(value: Any) -> str:
    """``"<module>.<class name>"`` of an object, e.g. ``"reflow.events.StopEvent"``."""
    try:
        return f"{value.__module__}.{value.__class__.__name__}"
    except AttributeError as exc:
        raise AttributeError(f"Object {value!r} does not have required attributes: {exc}") from exc


def import_module_from_qualified_name(qualified_name: str) -> Any:
    """The attribute a ``"module.attribute"`` name points to, importing the module.

    ``ValueError`` for a name without a dot, ``ImportError`` / ``AttributeError`` naming the part
    that could not be found.
    """
    if not qualified_name or "." not in qualified_name:
        raise ValueError(
            f"Qualified name must be in format 'module.attribute', got {qualified_name!r}"
        )
    module_name, attribute = qualified_name.rsplit(".", 1)
    try:
        module = import_module(module_name)
    except ImportError as exc:
        raise ImportError(f"Failed to import module {module_name}: {exc}") from exc
    try:
        return getattr(module, attribute)
    except AttributeError as exc:
        raise AttributeError(
            f"Attribute {attribute} not found in module {module_name}: {exc}"
        ) from exc
