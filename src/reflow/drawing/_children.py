"""Drawing the workflows a step starts (``include_child_workflows``).

Workflows have no declared children, so a step's source is parsed and every call whose callee
resolves (through the step's globals and closure, attribute chains included) to a Workflow
subclass counts as running that workflow. Each child's graph is merged in with ids prefixed
``{step}_{Child}_`` and joined to the step through ``calls: Child`` / ``returns: Child``
connector nodes; children of children are drawn the same way, a class never inside itself.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import textwrap
from collections.abc import Callable, Mapping
from typing import Any

from reflow.drawing._graph import (
    Kind,
    Picture,
    PictureEdge,
    PictureNode,
    display_label,
    kind_of,
    node_key,
)
from reflow.representation import WorkflowEventNode, WorkflowGraph

StepFunctions = Mapping[str, Callable[..., Any]]
GraphOf = Callable[[type[Any]], tuple[WorkflowGraph, StepFunctions]]


def add_child_workflows(
    picture: Picture,
    graph: WorkflowGraph,
    steps: StepFunctions,
    graph_of: GraphOf,
    workflow_base: type[Any],
    max_label_length: int | None,
    *,
    prefix: str = "",
    chain: tuple[type[Any], ...] = (),
) -> None:
    """Merge into ``picture`` the children started by the steps of ``graph`` (recursively)."""
    for node in graph.nodes:
        if node.node_type != "step" or node.id not in steps:
            continue
        for child in started_workflows(steps[node.id], workflow_base):
            if child in chain:
                continue
            child_graph, child_steps = graph_of(child)
            child_prefix = f"{prefix}{node.id}_{child.__name__}_"
            _merge(
                picture,
                node_key("step", prefix + node.id),
                child,
                child_graph,
                child_prefix,
                max_label_length,
            )
            add_child_workflows(
                picture, child_graph, child_steps, graph_of, workflow_base, max_label_length,
                prefix=child_prefix, chain=(*chain, child),
            )  # fmt: skip


def _merge(
    picture: Picture,
    step_key: str,
    child: type[Any],
    child_graph: WorkflowGraph,
    prefix: str,
    max_label_length: int | None,
) -> None:
    keys = {node.id: node_key(node.node_type, prefix + node.id) for node in child_graph.nodes}
    for node in child_graph.nodes:
        kind = kind_of(node)
        if kind in (Kind.START_EVENT, Kind.STOP_EVENT):
            kind = Kind.EVENT  # only the outermost workflow's start and stop stand out
        label = display_label(node.label, max_label_length)
        picture.nodes.append(PictureNode(key=keys[node.id], label=label, kind=kind))
    for edge in child_graph.edges:
        if edge.source in keys and edge.target in keys:
            picture.edges.append(PictureEdge(keys[edge.source], keys[edge.target], edge.label))

    calls = node_key("child_connector", prefix + "calls")
    returns = node_key("child_connector", prefix + "returns")
    picture.nodes.append(PictureNode(calls, f"calls: {child.__name__}", Kind.CHILD_CONNECTOR))
    picture.nodes.append(PictureNode(returns, f"returns: {child.__name__}", Kind.CHILD_CONNECTOR))
    picture.edges.append(PictureEdge(step_key, calls))
    events = [node for node in child_graph.nodes if isinstance(node, WorkflowEventNode)]
    picture.edges.extend(
        PictureEdge(calls, keys[node.id]) for node in events if node.is_subclass_of("StartEvent")
    )
    picture.edges.extend(
        PictureEdge(keys[node.id], returns) for node in events if node.is_subclass_of("StopEvent")
    )
    picture.edges.append(PictureEdge(returns, step_key))


def started_workflows(step_function: Callable[..., Any], workflow_base: type[Any]) -> list[type]:
    """Workflow classes instantiated in ``step_function``'s body, in source order, once each."""
    try:
        source = textwrap.dedent(inspect.getsource(step_function))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return []  # no source to read (built dynamically, or compiled only)
    namespace = _namespace(step_function)
    found: list[type] = []
    for call in _calls_in_source_order(tree):
        target = _resolve(call.func, namespace)
        if (
            isinstance(target, type)
            and issubclass(target, workflow_base)
            and target is not workflow_base
            and target not in found
        ):
            found.append(target)
    return found


def _namespace(function: Callable[..., Any]) -> dict[str, Any]:
    namespace: dict[str, Any] = dict(vars(builtins))
    namespace.update(getattr(function, "__globals__", {}))
    try:
        closure = inspect.getclosurevars(function)
    except (TypeError, ValueError):
        return namespace
    namespace.update(closure.nonlocals)
    return namespace


def _calls_in_source_order(tree: ast.AST) -> list[ast.Call]:
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    return sorted(calls, key=lambda call: (call.lineno, call.col_offset))


def _resolve(expression: ast.expr, namespace: dict[str, Any]) -> Any:
    """The object a ``name`` or ``name.attr.attr`` expression denotes, else None."""
    if isinstance(expression, ast.Name):
        return namespace.get(expression.id)
    if isinstance(expression, ast.Attribute):
        owner = _resolve(expression.value, namespace)
        # Only modules and classes: reading attributes of other objects could run code.
        if inspect.ismodule(owner):
            return getattr(owner, expression.attr, None)
        if isinstance(owner, type):
            return inspect.getattr_static(owner, expression.attr, None)
    return None
