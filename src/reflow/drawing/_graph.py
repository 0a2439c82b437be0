"""The renderer-neutral picture both the Mermaid and the HTML output are drawn from.

A ``Picture`` has nodes with a ``kind`` (which decides colour and shape), a display label and an
optional tooltip, and labelled directed edges. Node keys are the Mermaid ids
(``{node_type}_{id}``), so both outputs name nodes alike.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import Enum

from reflow.representation import (
    WorkflowEventNode,
    WorkflowGraph,
    WorkflowGraphNode,
    WorkflowResourceConfigNode,
    WorkflowResourceNode,
    WorkflowStepNode,
)


class Kind(str, Enum):
    """What a drawn node stands for; each kind has one colour and one shape."""

    STEP = "step"
    START_EVENT = "start_event"
    STOP_EVENT = "stop_event"
    EVENT = "event"
    EXTERNAL = "external"
    RESOURCE = "resource"
    RESOURCE_CONFIG = "resource_config"
    CHILD_CONNECTOR = "child_connector"


@dataclass(frozen=True)
class PictureNode:
    key: str
    label: str
    kind: Kind
    tooltip: str | None = None


@dataclass(frozen=True)
class PictureEdge:
    source: str
    target: str
    label: str | None = None


@dataclass
class Picture:
    title: str
    nodes: list[PictureNode] = field(default_factory=list)
    edges: list[PictureEdge] = field(default_factory=list)


_UNSAFE_ID_CHARACTERS = re.compile(r"[^0-9A-Za-z_]")


def node_key(node_type: str, node_id: str) -> str:
    """The Mermaid id of a node; characters Mermaid ids cannot hold become ``_``."""
    return _UNSAFE_ID_CHARACTERS.sub("_", f"{node_type}_{node_id}")


def display_label(label: str, max_length: int | None) -> str:
    """``label`` shortened like ``WorkflowNodeBase.truncated_label`` when a limit is given."""
    if max_length is not None and len(label) > max_length:
        return label[: max_length - 1] + "*"
    return label


def picture_of_graph(graph: WorkflowGraph, max_label_length: int | None) -> Picture:
    """The picture of a workflow's representation graph."""
    picture = Picture(title=graph.name)
    keys = {node.id: node_key(node.node_type, node.id) for node in graph.nodes}
    for node in graph.nodes:
        picture.nodes.append(
            PictureNode(
                key=keys[node.id],
                label=display_label(node.label, max_label_length),
                kind=kind_of(node),
                tooltip=_tooltip(node),
            )
        )
    for edge in graph.edges:
        picture.edges.append(
            PictureEdge(
                source=keys.get(edge.source, node_key("node", edge.source)),
                target=keys.get(edge.target, node_key("node", edge.target)),
                label=edge.label,
            )
        )
    return picture


def kind_of(node: WorkflowGraphNode) -> Kind:
    if isinstance(node, WorkflowEventNode):
        if node.is_subclass_of("StartEvent"):
            return Kind.START_EVENT
        if node.is_subclass_of("StopEvent"):
            return Kind.STOP_EVENT
        return Kind.EVENT
    if node.node_type == "external":
        return Kind.EXTERNAL
    if node.node_type == "resource":
        return Kind.RESOURCE
    if node.node_type == "resource_config":
        return Kind.RESOURCE_CONFIG
    if node.node_type == "step":
        return Kind.STEP
    return Kind.EVENT


def _tooltip(node: WorkflowGraphNode) -> str | None:
    """Hover text for the HTML page: what a reader would look up in the code."""
    if isinstance(node, WorkflowStepNode):
        return node.description
    if isinstance(node, WorkflowEventNode):
        fields = (node.event_schema or {}).get("properties") or {}
        lines = [" -> ".join(node.event_types)]
        lines += [f"{name}: {_schema_type(spec)}" for name, spec in fields.items()]
        return "\n".join(lines)
    if isinstance(node, WorkflowResourceNode):
        where = f"{node.source_file}:{node.source_line}" if node.source_file else None
        parts = [node.getter_name, where, node.description]
        return "\n".join(part for part in parts if part) or None
    if isinstance(node, WorkflowResourceConfigNode):
        value = json.dumps(node.config_value, indent=1) if node.config_value else None
        parts = [node.config_file, node.path_selector, node.description, value]
        return "\n".join(part for part in parts if part) or None
    return None


def _schema_type(spec: object) -> str:
    if isinstance(spec, dict):
        kind = spec.get("type")
        if isinstance(kind, str):
            return kind
        if "anyOf" in spec:
            return " | ".join(_schema_type(option) for option in spec["anyOf"])
    return "any"
