"""Loading a flow document: parse, check everything, report every problem at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from reflow.flows._errors import FlowValidationError, Problem
from reflow.flows._format import (
    BRANCH_KEYS,
    EdgeSpec,
    FlowSettings,
    FlowSpec,
    NodeSpec,
    parse_flow_text,
    read_flow_file,
)
from reflow.flows._graph import FlowGraph
from reflow.flows._nodes import Node
from reflow.flows._registry import NOT_YET_AVAILABLE, NodeRegistry, default_registry
from reflow.flows._templates import check_template, is_template

__all__ = ["Flow", "check_form", "load_flow", "validate_flow"]

_ALLOWED_BRANCHES = {
    "conditional": ("yes", "no"),
    "loop": ("default", "subdag"),
}


@dataclass
class Flow:
    """A checked flow: its document (queue names filled in) and its graph."""

    spec: FlowSpec
    graph: FlowGraph
    registry: NodeRegistry
    name: str

    def node_class(self, node_id: str) -> type[Node[Any]]:
        return self.graph.classes[node_id]


def _loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


def check_form(cls: type[Node[Any]], form: Mapping[str, Any]) -> list[tuple[str | None, str]]:
    """Problems of a node's form: ``(field, message)``.

    Values holding templates are only checked for template syntax here (their type is known
    once rendered); every other value is validated by the node type's config model.
    """
    problems: list[tuple[str | None, str]] = []
    templated = {name for name, value in form.items() if is_template(value)}
    for name in sorted(templated):
        syntax = check_template(form[name])
        if syntax:
            problems.append((name, syntax))
    plain = {name: value for name, value in form.items() if name not in templated}
    try:
        cls.config_model.model_validate(plain)
    except ValidationError as exc:
        for detail in exc.errors():
            loc = detail["loc"]
            field = str(loc[0]) if loc else None
            if (field in templated) or (field is None and templated):
                continue
            problems.append((field, str(detail["msg"])))
    return problems


def _model_problems(
    model: type[BaseModel], value: Any, node_id: str | None, prefix: str
) -> tuple[Any, list[Problem]]:
    try:
        return model.model_validate(value), []
    except ValidationError as exc:
        return None, [
            Problem(str(e["msg"]), node_id, _loc((prefix, *e["loc"])) if prefix else _loc(e["loc"]))
            for e in exc.errors()
        ]


def _raw_id(raw: Any, index: int) -> str:
    if isinstance(raw, Mapping) and isinstance(raw.get("id"), (str, int)) and raw.get("id") != "":
        return str(raw["id"])
    return f"nodes[{index}]"


def _parse_document(data: Any) -> tuple[FlowSpec | None, list[Problem]]:
    if not isinstance(data, Mapping):
        kind = type(data).__name__
        return None, [Problem(f"a flow must be an object with 'nodes' and 'edges', not {kind}")]
    problems: list[Problem] = []
    raw_nodes = data.get("nodes")
    if not isinstance(raw_nodes, list):
        return None, [Problem("'nodes' must be a list of node objects", field="nodes")]
    if not raw_nodes:
        problems.append(Problem("Workflow has no nodes", field="nodes"))
    nodes: list[NodeSpec] = []
    for index, raw in enumerate(raw_nodes):
        node, found = _model_problems(NodeSpec, raw, _raw_id(raw, index), "")
        problems.extend(found)
        if node is not None:
            nodes.append(node)
    raw_edges = data.get("edges", [])
    edges: list[EdgeSpec] = []
    if not isinstance(raw_edges, list):
        problems.append(Problem("'edges' must be a list of edge objects", field="edges"))
        raw_edges = []
    for index, raw in enumerate(raw_edges):
        source = raw.get("source") if isinstance(raw, Mapping) else None
        edge, found = _model_problems(
            EdgeSpec, raw, str(source) if source is not None else None, f"edges[{index}]"
        )
        problems.extend(found)
        if edge is not None:
            edges.append(edge)
    settings, found = _model_problems(FlowSettings, data.get("settings") or {}, None, "settings")
    problems.extend(found)
    env = data.get("env") or {}
    if not isinstance(env, Mapping):
        problems.append(Problem("'env' must be an object", field="env"))
        env = {}
    extra = {k: v for k, v in data.items() if k not in ("nodes", "edges", "settings", "env")}
    spec = FlowSpec.model_construct(
        nodes=nodes, edges=edges, settings=settings or FlowSettings(), env=dict(env), **extra
    )
    return spec, problems


def _check_nodes(spec: FlowSpec, registry: NodeRegistry) -> tuple[dict[str, Any], list[Problem]]:
    problems: list[Problem] = []
    classes: dict[str, type[Node[Any]]] = {}
    seen: set[str] = set()
    for node in spec.nodes:
        if node.id in seen:
            problems.append(Problem(f"Node with id {node.id!r} already exists", node.id, "id"))
            continue
        seen.add(node.id)
        cls = registry.get(node.type)
        if cls is None:
            reason = NOT_YET_AVAILABLE.get(node.type)
            message = reason or (
                f"Unknown node type {node.type!r}. Available types: {registry.types()}"
            )
            problems.append(Problem(message, node.id, "type"))
            continue
        classes[node.id] = cls
        for name, message in check_form(cls, node.data.form):
            problems.append(Problem(message, node.id, f"data.form.{name}" if name else "data.form"))
    return classes, problems


def _check_edges(spec: FlowSpec, classes: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    known = {n.id for n in spec.nodes}
    pairs: set[tuple[str, str]] = set()
    for index, edge in enumerate(spec.edges):
        if (edge.source, edge.target) in pairs:
            problems.append(
                Problem(
                    f"more than one edge from {edge.source!r} to {edge.target!r}",
                    edge.source,
                    f"edges[{index}]",
                )
            )
        pairs.add((edge.source, edge.target))
        for end in ("source", "target"):
            node_id = getattr(edge, end)
            if node_id not in known:
                problems.append(
                    Problem(
                        f"edge {edge.source!r} -> {edge.target!r} names unknown node {node_id!r}",
                        edge.source if end == "target" else None,
                        f"edges[{index}].{end}",
                    )
                )
        if edge.branch not in BRANCH_KEYS:
            problems.append(
                Problem(
                    f"unknown sourceHandle {edge.source_handle!r}; use one of {list(BRANCH_KEYS)}",
                    edge.source,
                    f"edges[{index}].sourceHandle",
                )
            )
            continue
        source_cls, target_cls = classes.get(edge.source), classes.get(edge.target)
        if source_cls is not None:
            allowed = _ALLOWED_BRANCHES.get(source_cls.kind, ("default",))
            if edge.branch not in allowed:
                problems.append(
                    Problem(
                        f"a {source_cls.kind} node's edges use {' or '.join(allowed)}, "
                        f"not {edge.branch!r}",
                        edge.source,
                        f"edges[{index}].sourceHandle",
                    )
                )
        into_producer = target_cls is not None and target_cls.kind == "producer"
        if into_producer and source_cls is not None and source_cls.kind != "non-blocking":
            problems.append(
                Problem(
                    f"producer {edge.target!r} can only follow a non-blocking node "
                    "(a queue writer), it starts its own loop",
                    edge.source,
                    f"edges[{index}].target",
                )
            )
    return problems


def _map_queues(graph: FlowGraph) -> list[Problem]:
    """Name the queue of each writer -> reader edge, then require a name everywhere."""
    for writer in graph.nodes:
        if graph.classes[writer].type_id != "queue-node-writer":
            continue
        for reader in graph.all_next(writer):
            if graph.classes[reader].type_id != "queue-reader-dummy":
                continue
            name = f"queue_{writer}_{reader}"
            for node_id in (writer, reader):
                config = graph.nodes[node_id].data.config
                if not config.get("queue_name") or config.get("queue_name") == "default":
                    config["queue_name"] = name
    problems = []
    for node_id, cls in graph.classes.items():
        if cls.type_id in ("queue-node-writer", "queue-reader-dummy"):
            queue = graph.nodes[node_id].data.config.get("queue_name")
            if not queue or queue == "default":
                problems.append(
                    Problem(
                        "a queue node needs data.config.queue_name, or an edge to (or from) "
                        "the queue node at the other end",
                        node_id,
                        "data.config.queue_name",
                    )
                )
    return problems


def _check_graph(graph: FlowGraph) -> list[Problem]:
    problems: list[Problem] = []
    cycle = graph.find_cycle()
    if cycle:
        problems.append(
            Problem(f"cycle {' -> '.join(cycle)} that no for-each node owns", cycle[0], "edges")
        )
        return problems
    for loop_id in graph.nodes:
        if graph.kind(loop_id) != "loop":
            continue
        body = set(graph.body_of(loop_id))
        for member in body:
            outside = [p for p in graph.parents(member) if p not in body and p != loop_id]
            if outside:
                problems.append(
                    Problem(
                        f"node is in the body of for-each {loop_id!r} and also follows "
                        f"{outside[0]!r} outside it",
                        member,
                        "edges",
                    )
                )
    return problems


def validate_flow(data: Any, registry: NodeRegistry | None = None) -> list[Problem]:
    """Every problem of a flow document (an empty list when it is valid)."""
    try:
        load_flow(data, registry=registry)
    except FlowValidationError as exc:
        return exc.problems
    return []


def load_flow(
    source: Any,
    *,
    registry: NodeRegistry | None = None,
    fmt: Literal["json", "yaml"] | None = None,
    name: str | None = None,
) -> Flow:
    """Load and check a flow from a path, JSON/YAML text (with ``fmt``) or parsed data."""
    registry = registry or default_registry()
    stem = None
    if isinstance(source, Path) or (isinstance(source, str) and fmt is None):
        path = Path(source)
        data = read_flow_file(path)
        stem = path.stem
    elif isinstance(source, str):
        data = parse_flow_text(source, fmt=fmt or "json")
    else:
        data = source
    spec, problems = _parse_document(data)
    if spec is None:
        raise FlowValidationError(problems)
    classes, found = _check_nodes(spec, registry)
    problems += found
    problems += _check_edges(spec, classes)
    graph = FlowGraph.build(spec, classes)
    if set(classes) == set(graph.nodes):  # the graph checks need every node's kind
        problems += _map_queues(graph)
        problems += _check_graph(graph)
    if problems:
        raise FlowValidationError(problems)
    flow_name = name or spec.settings.name or stem or "flow"
    return Flow(spec=spec, graph=graph, registry=registry, name=flow_name)
