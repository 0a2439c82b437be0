"""What a node type is: a Python class with a pydantic config model and one of five kinds.

A flow's nodes are instances of these classes, one per node id, alive for as long as the flow
is loaded (so a counter advances between iterations).  ``execute`` receives the payload that
reached the node and its rendered, validated config, and returns the payload to pass on.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from reflow.flows._services import FlowServices

__all__ = [
    "BlockingNode",
    "ConditionalNode",
    "EmptyConfig",
    "LoopNode",
    "Node",
    "NodeContext",
    "NodeKind",
    "NonBlockingNode",
    "Payload",
    "Pool",
    "ProducerNode",
    "merge_payloads",
    "unique_key",
]

NodeKind = Literal["producer", "blocking", "non-blocking", "conditional", "loop"]
Pool = Literal["async", "thread", "process"]

C = TypeVar("C", bound=BaseModel)


class EmptyConfig(BaseModel):
    """The config of a node type without fields."""

    model_config = ConfigDict(extra="ignore")


def _new_id() -> str:
    return uuid.uuid4().hex


@dataclass(slots=True)
class Payload:
    """What travels along the edges: the seed's ``NodeOutput`` (``{id, data, metadata}``).

    ``route`` is set by a conditional node (``"yes"`` / ``"no"``) and never leaves it.
    """

    data: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=_new_id)
    route: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "data": self.data, "metadata": self.metadata}

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> Payload:
        data = value.get("data")
        metadata = value.get("metadata")
        return cls(
            data=dict(data) if isinstance(data, Mapping) else {},
            metadata=dict(metadata) if isinstance(metadata, Mapping) else {},
            id=str(value.get("id") or _new_id()),
        )

    def with_output(self, key: str, value: Any) -> Payload:
        """A copy whose data holds ``value`` under ``key`` (``key_2``, ... when taken)."""
        data = dict(self.data)
        data[unique_key(data, key)] = value
        return Payload(data, self.metadata, self.id)


def unique_key(data: Mapping[str, Any], base: str) -> str:
    """``base`` if free in ``data``, else ``base_2``, ``base_3``, ... (the seed's rule)."""
    if base not in data:
        return base
    n = 2
    while f"{base}_{n}" in data:
        n += 1
    return f"{base}_{n}"


def merge_payloads(payloads: list[Payload]) -> Payload:
    """One payload from a join's inputs: the first's data, then what the others add.

    A key another input holds with a different value is added as ``key_2``, ``key_3``...
    """
    first = payloads[0]
    if len(payloads) == 1:
        return Payload(first.data, first.metadata, first.id)
    data = dict(first.data)
    metadata = dict(first.metadata)
    for other in payloads[1:]:
        for key, value in other.data.items():
            if key not in data:
                data[key] = value
            elif data[key] != value:
                data[unique_key(data, key)] = value
        metadata.update(other.metadata)
    return Payload(data, metadata, first.id)


@dataclass
class NodeContext:
    """What a node may use besides its config: its id, the flow's env, shared runtime values
    and the flow's services (Redis)."""

    node_id: str
    env: dict[str, Any]
    runtime: dict[str, Any]
    services: FlowServices
    flow_config: dict[str, Any] = field(default_factory=dict)
    """The node's ``data.config`` (system-set values such as ``queue_name``)."""
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the flow is asked to stop: waiting producers return "done"."""

    async def sleep_or_stop(self, seconds: float) -> bool:
        """Sleep ``seconds``; ``True`` when the flow was asked to stop meanwhile."""
        if self.stop.is_set():
            return True
        try:
            await asyncio.wait_for(self.stop.wait(), timeout=max(seconds, 0.0))
        except asyncio.TimeoutError:
            return False
        return True


class Node(Generic[C]):
    """Base of every node type.  Subclass one of the kind bases below, not this one."""

    type_id: ClassVar[str] = ""
    """The identifier a flow document names in a node's ``type``."""
    kind: ClassVar[NodeKind] = "blocking"
    config_model: ClassVar[type[BaseModel]] = EmptyConfig
    """Its JSON Schema is what an editor shows for the node's form."""
    output_key: ClassVar[str] = ""
    """Key the node's result is stored under in the payload data (default: type id, snake)."""
    pool: ClassVar[Pool] = "async"
    dependent_fields: ClassVar[dict[str, list[str]]] = {}
    """Fields whose options depend on other fields: ``{field: [parent fields]}``."""
    modes: ClassVar[frozenset[str]] = frozenset({"production", "api", "development"})

    def __init__(self, context: NodeContext) -> None:
        self.context = context
        self.node_id = context.node_id

    @classmethod
    def result_key(cls) -> str:
        return cls.output_key or cls.type_id.replace("-", "_")

    async def setup(self) -> None:
        """Called once before the first execution (open clients here)."""

    async def cleanup(self) -> None:
        """Called once when the loop ends (done, stopped or failed)."""

    async def execute(self, payload: Payload, config: C) -> Payload:
        raise NotImplementedError


class ProducerNode(Node[C]):
    """Starts an iteration.  ``execute`` returns ``None`` when the producer is done."""

    kind: ClassVar[NodeKind] = "producer"

    async def produce(self, payload: Payload, config: C) -> Payload | None:
        raise NotImplementedError

    async def execute(self, payload: Payload, config: C) -> Payload:
        produced = await self.produce(payload, config)
        return payload if produced is None else produced

    def claim(self, token: int) -> None:
        """Called right after ``produce`` returned a payload, with the iteration's token."""

    async def settle(self, token: int, succeeded: bool) -> None:
        """Called after that iteration ended (a queue reader acknowledges its item here)."""


class BlockingNode(Node[C]):
    """Runs in order: its successors start after it returns."""

    kind: ClassVar[NodeKind] = "blocking"


class NonBlockingNode(Node[C]):
    """Ends the iteration: its successors belong to another loop (behind a queue)."""

    kind: ClassVar[NodeKind] = "non-blocking"


class ConditionalNode(Node[C]):
    """Selects the ``yes`` or ``no`` branch by setting ``payload.route``."""

    kind: ClassVar[NodeKind] = "conditional"

    @staticmethod
    def routed(payload: Payload, result: bool) -> Payload:
        payload.route = "yes" if result else "no"
        return payload


class LoopNode(Node[C]):
    """Runs its ``subdag`` branch once per item, then ``default`` with the results."""

    kind: ClassVar[NodeKind] = "loop"

    async def items(self, payload: Payload, config: C) -> list[Any]:
        raise NotImplementedError

    async def execute(self, payload: Payload, config: C) -> Payload:
        return payload
