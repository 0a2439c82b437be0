"""A client for workflow servers: a drop-in for llama-agents-client 0.4 (``llama_agents.client``).

    from reflow.client import WorkflowClient

    client = WorkflowClient(base_url="http://127.0.0.1:8080")
    handler = await client.run_workflow_nowait("greet", start_event={"name": "ada"})
    async for envelope in client.get_workflow_events(handler.handler_id):
        print(envelope.type, envelope.value)

See ``docs/serving.md``.
"""

from reflow.client._client import WorkflowClient
from reflow.client._stream import EventStream
from reflow.client.protocol import (
    CancelHandlerResponse,
    EventEnvelopeWithMetadata,
    HandlerData,
    HandlersListResponse,
    SendEventResponse,
)

__all__ = [
    "CancelHandlerResponse",
    "EventEnvelopeWithMetadata",
    "EventStream",
    "HandlerData",
    "HandlersListResponse",
    "SendEventResponse",
    "WorkflowClient",
]
