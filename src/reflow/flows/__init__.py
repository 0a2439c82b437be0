"""Declarative flows: JSON/YAML node graphs compiled onto the reflow engine.

A flow document (the seed orchestrator's format) is loaded and checked with :func:`load_flow`;
:class:`FlowEngine` builds its nodes and compiles each producer's loop into a ``Workflow`` and
runs the loops (production mode); :class:`DevSession` runs one node at a time on cached
upstream outputs (development mode).
"""

from reflow.flows._builtin_nodes import flow_function
from reflow.flows._dev import DevResult, DevSession
from reflow.flows._dlq import DeadLetterQueue
from reflow.flows._engine import FlowEngine, LoopStats
from reflow.flows._errors import (
    FlowError,
    FlowFormatError,
    FlowValidationError,
    NodeConfigError,
    Problem,
    UpstreamMissingError,
)
from reflow.flows._events import FlowStart, NodeTimeoutError
from reflow.flows._execution import NodeFailure
from reflow.flows._expressions import ExpressionError, evaluate
from reflow.flows._format import FlowSpec, normalize_branch
from reflow.flows._loader import Flow, load_flow, validate_flow
from reflow.flows._nodes import (
    BlockingNode,
    ConditionalNode,
    EmptyConfig,
    LoopNode,
    Node,
    NodeContext,
    NonBlockingNode,
    Payload,
    ProducerNode,
)
from reflow.flows._producers import publish_webhook
from reflow.flows._queues import RedisQueue
from reflow.flows._registry import NodeRegistry, default_registry
from reflow.flows._schema import flow_json_schema
from reflow.flows._services import FlowServices

__all__ = [
    "BlockingNode",
    "ConditionalNode",
    "DeadLetterQueue",
    "DevResult",
    "DevSession",
    "EmptyConfig",
    "ExpressionError",
    "Flow",
    "FlowEngine",
    "FlowError",
    "FlowFormatError",
    "FlowServices",
    "FlowSpec",
    "FlowStart",
    "FlowValidationError",
    "LoopNode",
    "LoopStats",
    "Node",
    "NodeConfigError",
    "NodeContext",
    "NodeFailure",
    "NodeRegistry",
    "NodeTimeoutError",
    "NonBlockingNode",
    "Payload",
    "Problem",
    "ProducerNode",
    "RedisQueue",
    "UpstreamMissingError",
    "default_registry",
    "evaluate",
    "flow_function",
    "flow_json_schema",
    "load_flow",
    "normalize_branch",
    "publish_webhook",
    "validate_flow",
]
