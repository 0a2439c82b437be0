"""Building a ``WorkflowGraph`` from a workflow class's step metadata.

Only ``fn._step_config`` (``accepted_events``, ``return_types``, ``resources``) and
docstrings are read, so the order and ids of nodes and edges follow from the steps alone:

* steps defined as methods come first, sorted by name, then steps added to the class from
  outside (``@step(workflow=...)``) in the order they were added;
* for each step: the step node, the events it accepts, the events it returns (with the
  ``external_step`` node after the first input request), then its resources depth first;
* edges: every resource-to-resource edge first, then per step its return edges (plus
  ``event -> external_step`` for input requests), its accept edges (plus
  ``external_step -> event`` for human responses, when the graph has an external node) and
  its resource edges labelled with the parameter name.  A step with
  ``accept_event_subclasses=True`` also gets an edge from every subclass of what it accepts
  that appears in the graph (in order of first appearance), stop events excepted.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reflow.events import Event, HumanResponseEvent, InputRequiredEvent, StopEvent
from reflow.representation._models import (
    WorkflowEventNode,
    WorkflowExternalNode,
    WorkflowGraph,
    WorkflowGraphEdge,
    WorkflowGraphNode,
    WorkflowStepNode,
)
from reflow.representation._resources import add_resource

EXTERNAL_NODE_ID = "external_step"


@dataclass(frozen=True)
class EventKinds:
    """The event classes the builder treats specially (swappable to probe other engines)."""

    base: type[Any] = Event
    input_required: type[Any] = InputRequiredEvent
    human_response: type[Any] = HumanResponseEvent
    stop: type[Any] = StopEvent


def build_workflow_graph(
    owner: type[Any],
    steps: Mapping[str, Callable[..., Any]],
    kinds: EventKinds | None = None,
) -> WorkflowGraph:
    """The graph of workflow class ``owner`` whose step functions are ``steps`` (by name)."""
    kinds = kinds or EventKinds()
    ordered = _ordered_steps(owner, steps)
    configs = {name: _step_config(name, steps[name]) for name in ordered}
    has_external = any(
        issubclass(event, kinds.input_required)
        for config in configs.values()
        for event in _event_classes(config.return_types, kinds)
    )

    # Every event class of the graph, in order of first appearance: the sources of the edges
    # into steps that accept subclasses.
    graph_events: list[type[Any]] = []
    for config in configs.values():
        for event in _event_classes([*config.accepted_events, *config.return_types], kinds):
            if event not in graph_events:
                graph_events.append(event)

    nodes: dict[str, WorkflowGraphNode] = {}
    dependency_edges: list[WorkflowGraphEdge] = []
    step_edges: list[WorkflowGraphEdge] = []
    for name in ordered:
        config = configs[name]
        accepted = _event_classes(config.accepted_events, kinds)
        returned = _event_classes(config.return_types, kinds)
        nodes.setdefault(
            name, WorkflowStepNode(id=name, label=name, description=inspect.getdoc(steps[name]))
        )
        for event in accepted:
            _event_node(nodes, event, kinds)
        for event in returned:
            node = _event_node(nodes, event, kinds)
            if name not in node.produced_by:
                node.produced_by.append(name)
            if issubclass(event, kinds.input_required):
                nodes.setdefault(
                    EXTERNAL_NODE_ID,
                    WorkflowExternalNode(id=EXTERNAL_NODE_ID, label=EXTERNAL_NODE_ID),
                )
        resource_ids = [
            (
                definition.name,
                add_resource(
                    nodes, dependency_edges, definition.resource, definition.type_annotation
                ),
            )
            for definition in config.resources
        ]

        for event in returned:
            step_edges.append(WorkflowGraphEdge(source=name, target=event.__name__))
            if issubclass(event, kinds.input_required):
                step_edges.append(WorkflowGraphEdge(source=event.__name__, target=EXTERNAL_NODE_ID))
        for event in _incoming(accepted, graph_events, config, kinds):
            step_edges.append(WorkflowGraphEdge(source=event.__name__, target=name))
            if has_external and issubclass(event, kinds.human_response):
                step_edges.append(WorkflowGraphEdge(source=EXTERNAL_NODE_ID, target=event.__name__))
        for parameter, resource_id in resource_ids:
            step_edges.append(WorkflowGraphEdge(source=name, target=resource_id, label=parameter))

    return WorkflowGraph(
        name=owner.__name__,
        nodes=list(nodes.values()),
        edges=dependency_edges + step_edges,
        description=inspect.getdoc(owner),
    )


def _incoming(
    accepted: list[type[Any]], graph_events: list[type[Any]], config: Any, kinds: EventKinds
) -> list[type[Any]]:
    """The events with an edge into a step: what it accepts and, when it opts into subclass
    routing, every subclass of those in the graph, except stop events (they end the run and
    are never routed)."""
    if not getattr(config, "accept_event_subclasses", False):
        return accepted
    incoming = [event for event in accepted if not issubclass(event, kinds.stop)]
    for event in graph_events:
        if (
            event not in incoming
            and not issubclass(event, kinds.stop)
            and issubclass(event, tuple(accepted))
        ):
            incoming.append(event)
    return incoming


def _ordered_steps(owner: type[Any], steps: Mapping[str, Callable[..., Any]]) -> list[str]:
    """Method steps sorted by name, then the other steps in their given order."""
    methods = sorted(name for name, fn in steps.items() if _is_method_step(owner, name, fn))
    method_set = set(methods)
    return methods + [name for name in steps if name not in method_set]


def _is_method_step(owner: type[Any], name: str, fn: Callable[..., Any]) -> bool:
    attribute = getattr(owner, name, None)
    if attribute is fn:
        return True
    config = getattr(fn, "_step_config", None)
    return config is not None and getattr(attribute, "_step_config", None) is config


def _step_config(name: str, fn: Callable[..., Any]) -> Any:
    config = getattr(fn, "_step_config", None)
    if config is None:
        raise TypeError(
            f"Step {name!r} ({fn!r}) has no _step_config: decorate it with @step or @catch_error"
        )
    return config


def _event_classes(types: Iterable[Any], kinds: EventKinds) -> list[type[Any]]:
    """The Event subclasses among ``types`` (None and other non-events dropped), deduplicated."""
    classes: list[type[Any]] = []
    for candidate in types:
        if (
            isinstance(candidate, type)
            and issubclass(candidate, kinds.base)
            and candidate not in classes
        ):
            classes.append(candidate)
    return classes


def _event_node(
    nodes: dict[str, WorkflowGraphNode], event: type[Any], kinds: EventKinds
) -> WorkflowEventNode:
    """The node for ``event``, created on first sight (the first class with a name wins)."""
    existing = nodes.get(event.__name__)
    if isinstance(existing, WorkflowEventNode):
        return existing
    node = WorkflowEventNode(
        id=event.__name__,
        label=event.__name__,
        event_type=event.__name__,
        event_types=[
            ancestor.__name__
            for ancestor in event.__mro__
            if issubclass(ancestor, kinds.base) and ancestor is not kinds.base
        ],
        event_schema=_event_schema(event),
    )
    if existing is None:
        nodes[node.id] = node
    return node


def _event_schema(event: type[Any]) -> dict[str, Any] | None:
    try:
        schema: dict[str, Any] = event.model_json_schema()
    except Exception:  # a field type pydantic cannot describe; the peer fails here instead
        return None
    return schema
