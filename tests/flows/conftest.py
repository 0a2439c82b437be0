"""Flows tests run on the real Redis at 127.0.0.1:6379, each under its own key prefix."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from reflow.flows import FlowServices

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return False
    return True


def require_redis() -> None:
    if redis_up():
        return
    if os.environ.get("CI") == "true":
        pytest.fail("Redis is not reachable at 127.0.0.1:6379 (required under CI=true)")
    pytest.skip("Redis is not reachable at 127.0.0.1:6379")


async def delete_prefix(prefix: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
def prefix() -> Iterator[str]:
    require_redis()
    value = f"reflow-test-flows:{uuid.uuid4().hex[:12]}:"
    yield value
    asyncio.run(delete_prefix(value))


@pytest.fixture
async def services(prefix: str) -> AsyncIterator[FlowServices]:
    svc = FlowServices(redis_url=REDIS_URL, prefix=prefix)
    yield svc
    await svc.aclose()


def node(node_id: str, type_id: str, form: dict[str, Any] | None = None, **data: Any) -> Any:
    return {"id": node_id, "type": type_id, "data": {"form": form or {}, **data}}


def edge(source: str, target: str, handle: str | None = None) -> dict[str, Any]:
    return {"source": source, "target": target, "sourceHandle": handle}


class EchoHandler(BaseHTTPRequestHandler):
    """Answers a POST with 201 and ``{got: <its JSON body>, auth, path}``."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        answer = json.dumps(
            {"got": json.loads(body), "auth": self.headers.get("Authorization"), "path": self.path}
        ).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[str]:
    """An echo server on 127.0.0.1; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
