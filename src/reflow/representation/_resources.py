"""Graph nodes for resources and resource configs, and the edges between dependent resources.

Descriptors are read by duck typing (a ``config_file`` attribute marks a config; anything else
is a factory-built resource), so only their public shape matters: ``name``,
``get_dependencies()``, ``factory`` / ``_factory``, ``path_selector``, ``label``,
``description``.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from reflow._resources.config_file import load_config_data
from reflow.representation._models import (
    WorkflowGraphEdge,
    WorkflowGraphNode,
    WorkflowResourceConfigNode,
    WorkflowResourceNode,
)

_ID_HASH_LENGTH = 12


def add_resource(
    nodes: dict[str, WorkflowGraphNode],
    dependency_edges: list[WorkflowGraphEdge],
    descriptor: Any,
    type_annotation: Any,
) -> str:
    """Add the node for ``descriptor`` (and, depth first, its dependencies); return its id.

    A resource already in ``nodes`` is left alone, so each dependency edge is recorded once,
    after the dependency's own subtree.
    """
    node = _resource_node(descriptor, type_annotation)
    if node.id in nodes:
        return node.id
    nodes[node.id] = node
    if isinstance(node, WorkflowResourceNode):
        for parameter, dependency, dependency_type in _dependencies(descriptor):
            dependency_id = add_resource(nodes, dependency_edges, dependency, dependency_type)
            dependency_edges.append(
                WorkflowGraphEdge(source=node.id, target=dependency_id, label=parameter)
            )
    return node.id


def _resource_node(
    descriptor: Any, type_annotation: Any
) -> WorkflowResourceNode | WorkflowResourceConfigNode:
    if hasattr(type(descriptor), "config_file") or hasattr(descriptor, "path_selector"):
        return _config_node(descriptor, type_annotation)
    return _factory_node(descriptor, type_annotation)


def _dependencies(descriptor: Any) -> list[tuple[str, Any, Any]]:
    get_dependencies = getattr(descriptor, "get_dependencies", None)
    if get_dependencies is None:
        return []
    return list(get_dependencies())


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_ID_HASH_LENGTH]


def _type_name(type_annotation: Any) -> str | None:
    if type_annotation is None:
        return None
    name = getattr(type_annotation, "__name__", None)
    return name if isinstance(name, str) else str(type_annotation)


def _factory_node(descriptor: Any, type_annotation: Any) -> WorkflowResourceNode:
    factory = getattr(descriptor, "factory", None) or getattr(descriptor, "_factory", None)
    getter_name = getattr(descriptor, "name", None)
    if not isinstance(getter_name, str):
        getter_name = None
    target = _source_target(factory) if factory is not None else None
    source_file, source_line = _source_location(target)
    type_name = _type_name(type_annotation)
    return WorkflowResourceNode(
        # Same id scheme as the peer, so ids are stable across both implementations.
        id=f"resource_{_short_hash(f'{getter_name}:{source_file}')}",
        label=type_name or getter_name or "resource",
        type_name=type_name,
        getter_name=getter_name,
        source_file=source_file,
        source_line=source_line,
        description=inspect.getdoc(target) if target is not None else None,
    )


def _source_target(factory: Callable[..., Any]) -> Any:
    """The object whose source and docstring describe ``factory``."""
    while isinstance(factory, functools.partial):
        factory = factory.func
    if inspect.isroutine(factory) or inspect.isclass(factory):
        return factory
    return type(factory)  # a callable instance: its class


def _source_location(target: Any) -> tuple[str | None, int | None]:
    """Where ``target`` is defined; ``(None, None)`` for builtins and generated code."""
    if target is None:
        return None, None
    try:
        source_file = inspect.getsourcefile(target)
    except TypeError:
        return None, None
    try:
        source_line: int | None = inspect.getsourcelines(target)[1]
    except (OSError, TypeError):
        code = getattr(target, "__code__", None)
        source_line = code.co_firstlineno if code is not None else None
    return source_file, source_line


def _config_node(descriptor: Any, type_annotation: Any) -> WorkflowResourceConfigNode:
    path_selector: str | None = getattr(descriptor, "path_selector", None)
    config_value: dict[str, Any] | None = None
    try:
        config_file: str = descriptor.config_file
    except OSError:
        # Unlike the peer, a missing file does not make the whole graph fail.
        config_file = os.path.abspath(getattr(descriptor, "_original_config_file", ""))
    else:
        config_value = _read_config(config_file, path_selector)
    type_name = _type_name(type_annotation)
    label = getattr(descriptor, "label", None)
    id_key = f"{config_file}:{path_selector or ''}"
    return WorkflowResourceConfigNode(
        id=f"resource_config_{_short_hash(id_key)}",
        label=label or type_name or os.path.basename(config_file),
        type_name=type_name,
        config_file=config_file,
        path_selector=path_selector,
        config_schema=_model_schema(type_annotation),
        config_value=config_value,
        description=getattr(descriptor, "description", None),
    )


def _read_config(config_file: str, path_selector: str | None) -> dict[str, Any] | None:
    """The selected JSON object, or None when the file or the path does not yield one."""
    try:
        value = load_config_data(config_file, path_selector)
    except (OSError, ValueError):  # json.JSONDecodeError is a ValueError
        return None
    return value if isinstance(value, dict) else None


def _model_schema(type_annotation: Any) -> dict[str, Any] | None:
    if not (isinstance(type_annotation, type) and issubclass(type_annotation, BaseModel)):
        return None
    try:
        return type_annotation.model_json_schema()
    except Exception:  # pydantic cannot describe every field type; the schema is optional
        return None
