"""Workflows as a web service: a drop-in for llama-agents-server 0.8 (``llama_agents.server``).

    from reflow.server import SqliteWorkflowStore, WorkflowServer

    server = WorkflowServer(workflow_store=SqliteWorkflowStore("runs.db"))
    server.add_workflow("greet", GreetWorkflow())
    await server.serve("127.0.0.1", 8080)   # or serve server.app with any ASGI server

See ``docs/serving.md``.
"""

from reflow.server._memory_store import MemoryWorkflowStore
from reflow.server._postgres_store import PostgresWorkflowStore
from reflow.server._server import WorkflowServer
from reflow.server._sqlite_store import SqliteWorkflowStore
from reflow.server._store import (
    AbstractWorkflowStore,
    HandlerQuery,
    PersistentHandler,
    StoredEvent,
    StoredTick,
)

__all__ = [
    "AbstractWorkflowStore",
    "HandlerQuery",
    "MemoryWorkflowStore",
    "PersistentHandler",
    "PostgresWorkflowStore",
    "SqliteWorkflowStore",
    "StoredEvent",
    "StoredTick",
    "WorkflowServer",
]
