"""A live uvicorn on 127.0.0.1 with a free port, for tests that talk real HTTP and WebSockets."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any


def free_port() -> int:
    """A port nothing listens on now (for servers started in another process)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


@contextmanager
def live_app_in_thread(app: Any) -> Iterator[str]:
    """``live_app`` for synchronous tests: uvicorn runs in a thread; yields the base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    live = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="on"))
    thread = threading.Thread(target=lambda: asyncio.run(live.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not live.started:
        assert thread.is_alive(), "uvicorn exited while starting"
        assert time.monotonic() < deadline, "uvicorn did not start within 20 s"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        live.should_exit = True
        thread.join(20)
        sock.close()
