"""Running an app under uvicorn for the command line (SIGTERM and Ctrl-C shut it down cleanly)."""

from __future__ import annotations

from typing import Any

SHUTDOWN_GRACE_SECONDS = 5.0


def run_uvicorn(app: Any, host: str, port: int, **options: Any) -> None:
    """Serve until SIGTERM/SIGINT; open streams get a few seconds, then runs are released.

    uvicorn turns SIGTERM into a graceful exit; the app's lifespan then stops the server,
    which hands durable runs back to the journal for the next process.
    """
    import uvicorn

    options.setdefault("timeout_graceful_shutdown", SHUTDOWN_GRACE_SECONDS)
    options.setdefault("log_level", "info")
    uvicorn.run(app, host=host, port=port, **options)
