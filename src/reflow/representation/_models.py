"""The pydantic models of a workflow's static graph: nodes, edges and the graph itself.

Nodes are told apart by ``node_type``. ``WorkflowGraphNode`` is a plain (undiscriminated)
union, so a dict without ``node_type`` validates as a step node and an unknown ``node_type``
as a generic node, as with the peer.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from reflow.representation._filter import remove_node_types


class WorkflowNodeBase(BaseModel):
    """Fields every node has."""

    id: str = Field(description="Identifier, unique within the graph")
    label: str = Field(description="Text shown for the node")

    def truncated_label(self, max_length: int) -> str:
        """``label`` cut to ``max_length`` characters, the last one replaced by ``*``.

        Labels that already fit are returned unchanged.
        """
        if len(self.label) > max_length:
            return self.label[: max_length - 1] + "*"
        return self.label


class WorkflowStepNode(WorkflowNodeBase):
    """A step (including ``@catch_error`` handlers)."""

    node_type: Literal["step"] = Field(default="step", description="Always 'step'")
    description: str | None = Field(default=None, description="The step's docstring")


class WorkflowEventNode(WorkflowNodeBase):
    """An event type that some step accepts or returns."""

    node_type: Literal["event"] = Field(default="event", description="Always 'event'")
    event_type: str = Field(description="Name of the event class")
    event_types: list[str] = Field(
        description="The event class's name, then the names of its Event-subclass ancestors"
    )
    event_schema: dict[str, Any] | None = Field(
        default=None, description="JSON schema of the event class, when pydantic can make one"
    )
    produced_by: list[str] = Field(
        default_factory=list, description="Steps whose return annotation names this event type"
    )

    def is_subclass_of(self, *type_names: str) -> bool:
        """Whether the event class is, or inherits from, a class with one of these names."""
        return any(name in self.event_types for name in type_names)


class WorkflowExternalNode(WorkflowNodeBase):
    """The world outside the workflow: receives input requests, sends human responses."""

    node_type: Literal["external"] = Field(default="external", description="Always 'external'")


class WorkflowResourceNode(WorkflowNodeBase):
    """A resource built by a factory and injected into steps or other factories."""

    node_type: Literal["resource"] = Field(default="resource", description="Always 'resource'")
    type_name: str | None = Field(default=None, description="Name of the annotated type")
    getter_name: str | None = Field(default=None, description="Qualified name of the factory")
    source_file: str | None = Field(default=None, description="File defining the factory")
    source_line: int | None = Field(default=None, description="Line where the factory starts")
    description: str | None = Field(default=None, description="The factory's docstring")


class WorkflowResourceConfigNode(WorkflowNodeBase):
    """A pydantic model loaded from a JSON file and injected into steps."""

    node_type: Literal["resource_config"] = Field(
        default="resource_config", description="Always 'resource_config'"
    )
    type_name: str | None = Field(default=None, description="Name of the model class")
    config_file: str | None = Field(default=None, description="Path of the JSON file")
    path_selector: str | None = Field(
        default=None, description="Dot-separated path to the object inside the file"
    )
    config_schema: dict[str, Any] | None = Field(
        default=None, description="JSON schema of the model class"
    )
    config_value: dict[str, Any] | None = Field(
        default=None, description="The selected JSON object, when the file could be read"
    )
    description: str | None = Field(default=None, description="What the configuration is for")


class WorkflowGenericNode(WorkflowNodeBase):
    """A node of a kind this package does not define (agents, tools, ...)."""

    node_type: str = Field(description="Free-form kind of the node")
    event_type: str | None = Field(default=None, description="Optional type name")
    event_types: list[str] | None = Field(
        default=None, description="Optional chain of type names, as on event nodes"
    )

    def is_subclass_of(self, *type_names: str) -> bool:
        """Whether ``event_types`` contains one of these names (False without a chain)."""
        if self.event_types is None:
            return False
        return any(name in self.event_types for name in type_names)


WorkflowGraphNode = (
    WorkflowStepNode
    | WorkflowEventNode
    | WorkflowExternalNode
    | WorkflowResourceNode
    | WorkflowResourceConfigNode
    | WorkflowGenericNode
)


class WorkflowGraphEdge(BaseModel):
    """A directed edge; resource edges carry the receiving parameter's name as ``label``."""

    source: str = Field(description="Id of the node the edge leaves")
    target: str = Field(description="Id of the node the edge enters")
    label: str | None = Field(default=None, description="Optional text shown on the edge")


class WorkflowGraph(BaseModel):
    """A workflow's steps, events, resources and how they connect."""

    name: str = Field(description="Name of the workflow class")
    nodes: list[WorkflowGraphNode] = Field(description="Every node, in discovery order")
    edges: list[WorkflowGraphEdge] = Field(description="Every directed edge")
    description: str | None = Field(default=None, description="The workflow class's docstring")

    def filter_by_node_type(self, *node_types: str) -> WorkflowGraph:
        """A copy without the nodes of these types, bridging the paths that crossed them.

        A kept node that reached another kept node only through removed nodes gets a direct
        edge, labelled with the id of the first removed node on the way.
        """
        removed = {node.id for node in self.nodes if node.node_type in node_types}
        edges = remove_node_types(
            [(edge.source, edge.target, edge.label) for edge in self.edges], removed
        )
        return WorkflowGraph(
            name=self.name,
            nodes=[node for node in self.nodes if node.id not in removed],
            edges=[
                WorkflowGraphEdge(source=source, target=target, label=label)
                for source, target, label in edges
            ],
            description=self.description,
        )
