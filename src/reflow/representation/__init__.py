"""A workflow's static structure as a graph of pydantic models.

``get_workflow_representation(MyWorkflow)`` lists every step, every event type a step accepts
or returns, the ``external_step`` node when a step asks for human input, and the resources
injected into steps; the server's ``/representation`` endpoint and ``reflow.drawing`` render it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reflow.representation._build import build_workflow_graph
from reflow.representation._models import (
    WorkflowEventNode,
    WorkflowExternalNode,
    WorkflowGenericNode,
    WorkflowGraph,
    WorkflowGraphEdge,
    WorkflowGraphNode,
    WorkflowNodeBase,
    WorkflowResourceConfigNode,
    WorkflowResourceNode,
    WorkflowStepNode,
)

if TYPE_CHECKING:
    from reflow.workflow import Workflow

__all__ = [
    "WorkflowEventNode",
    "WorkflowExternalNode",
    "WorkflowGenericNode",
    "WorkflowGraph",
    "WorkflowGraphEdge",
    "WorkflowGraphNode",
    "WorkflowNodeBase",
    "WorkflowResourceConfigNode",
    "WorkflowResourceNode",
    "WorkflowStepNode",
    "get_workflow_representation",
]


def get_workflow_representation(workflow: Workflow | type[Workflow]) -> WorkflowGraph:
    """The graph of ``workflow`` (a Workflow subclass or an instance of one).

    The graph depends on the class only: steps, their accepted and returned event types,
    resources and docstrings. Nothing is run and no resource is built; a resource config's
    file is read for ``config_value`` when it exists.
    """
    # Imported here: the workflow module imports this package's users, not the reverse.
    from reflow import Workflow
    from reflow._steps.collect import collect_step_functions

    workflow_class: Any = workflow if isinstance(workflow, type) else type(workflow)
    if not issubclass(workflow_class, Workflow):
        raise TypeError(
            f"get_workflow_representation expects a Workflow subclass or instance, got {workflow!r}"
        )
    return build_workflow_graph(workflow_class, collect_step_functions(workflow_class))
