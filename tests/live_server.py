"""A live uvicorn on 127.0.0.1 with a free port, for tests that talk real HTTP and WebSockets."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any


@asynccontextmanager
async def live_app(app: Any) -> AsyncIterator[str]:
    """Serve ``app`` (its lifespan on) until the block ends; yields ``host:port``."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    live = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.ensure_future(live.serve(sockets=[sock]))
    try:
        while not live.started:
            if task.done():
                task.result()  # uvicorn failed to start: raise its error
            await asyncio.sleep(0.01)
        yield f"127.0.0.1:{port}"
    finally:
        live.should_exit = True
        await task
        sock.close()
