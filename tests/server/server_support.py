"""Types the server tests share (imported by name: ``conftest`` modules collide across dirs)."""

from __future__ import annotations

from collections.abc import Callable

from reflow.server import WorkflowServer

MakeServer = Callable[..., WorkflowServer]
