"""``ServerView``: what the routes and sockets see of the ``WorkflowServer`` that mounts them.

A protocol, so the route modules (``_routes``, ``_websocket``, ``_artifact_routes``,
``_run_detail_routes``, ``_ui``, ``_flow_routes``) never import ``_server``, which imports them
to build its app: imports point one way, from the server down to its routes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from reflow.events import Event
from reflow.server._runs import Runs


class ServerView(Protocol):
    _runs: Runs
    started: bool
    max_body_bytes: int
    accept_context_api: bool
    sse_heartbeat_interval: float | None
    artifacts_root: Path

    def get_workflows(self) -> dict[str, Any]: ...

    def event_registry(self, name: str) -> dict[str, type[Event]]: ...

    def openapi_schema(self) -> dict[str, Any]: ...
