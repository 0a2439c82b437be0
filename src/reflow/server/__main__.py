"""``python -m reflow.server FILE[:NAME]``: serve a file's WorkflowServer, as the peer's command.

The address comes from ``WORKFLOWS_PY_SERVER_HOST`` (default ``0.0.0.0``) and
``WORKFLOWS_PY_SERVER_PORT`` (default ``8080``).
"""

from __future__ import annotations

import os
import sys

from reflow.server._loading import ServeTargetError, load_server
from reflow.server._memory_store import MemoryWorkflowStore
from reflow.server._serving import run_uvicorn


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] in ("-h", "--help"):
        print("usage: python -m reflow.server FILE[:NAME]", file=sys.stderr)
        return 2
    host = os.environ.get("WORKFLOWS_PY_SERVER_HOST", "0.0.0.0")
    raw_port = os.environ.get("WORKFLOWS_PY_SERVER_PORT", "8080")
    if not raw_port.isdigit() or not 0 < int(raw_port) < 65536:
        print(f"error: WORKFLOWS_PY_SERVER_PORT={raw_port!r} is not a port", file=sys.stderr)
        return 2
    try:
        server = load_server(args[0], MemoryWorkflowStore)
    except ServeTargetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    run_uvicorn(server.app, host, int(raw_port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
