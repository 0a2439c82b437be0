"""W3C trace context through the server: a request's ``traceparent`` in, the run's out.

``TraceHeaders`` is a pure ASGI middleware, so the route runs in the context it attaches: a
run started while answering a request carrying ``traceparent`` becomes that span's child.  Out
go the run's own ``traceparent`` (``reflow.observability.run_traceparent``):

- on ``POST /workflows/{name}/run`` and ``/run-nowait``, as a response header (the response is
  a small JSON handler, held back until its ``run_id`` is known);
- on ``GET /events/{id}`` (SSE and NDJSON), as a response header;
- on ``WS /ws/handlers/{id}``, as a header of the handshake's answer.

A run traced by no process here has no ``traceparent`` to send, and none is sent.  Streams
are addressed by handler id; on stores where that is not the run id, the middleware remembers
the handler ids of the runs it saw start (the last 10,000), which are the runs traced here.  Without
OpenTelemetry installed the server does not use this module at all.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reflow.observability import attached, extract, run_traceparent

_RUN_ROUTE = re.compile(r"^/workflows/[^/]+/(run|run-nowait)$")
_STREAM_ROUTE = re.compile(r"^/(?:events|ws/handlers)/([^/]+)$")
TRACE_HEADERS = frozenset({"traceparent", "tracestate", "baggage"})


def _carrier(scope: Scope) -> dict[str, str]:
    carrier: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").lower()
        if name in TRACE_HEADERS:
            carrier[name] = raw_value.decode("latin-1")
    return carrier


def _with_traceparent(message: Message, run_id: str | None) -> Message:
    traceparent = run_traceparent(run_id) if run_id else None
    if traceparent is None:
        return message
    headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"traceparent"]
    headers.append((b"traceparent", traceparent.encode("latin-1")))
    return {**message, "headers": headers}


HANDLERS_LIMIT = 10_000


def _ids_of(body: bytes) -> tuple[str | None, str | None]:
    """(handler id, run id) of a handler document."""
    try:
        document = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(document, dict):
        return None, None
    handler_id, run_id = document.get("handler_id"), document.get("run_id")
    return (
        handler_id if isinstance(handler_id, str) else None,
        run_id if isinstance(run_id, str) else None,
    )


class TraceHeaders:
    """Parents runs on the request's trace context and names the run's span in answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._runs: OrderedDict[str, str] = OrderedDict()  # handler id -> run id

    def remember(self, handler_id: str | None, run_id: str | None) -> None:
        if handler_id and run_id and handler_id != run_id:
            self._runs[handler_id] = run_id
            if len(self._runs) > HANDLERS_LIMIT:
                self._runs.popitem(last=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        carrier = _carrier(scope)
        path: str = scope["path"]
        stream = _STREAM_ROUTE.match(path)
        if scope["type"] == "http" and scope.get("method") == "POST" and _RUN_ROUTE.match(path):
            send = _HeldResponse(send, self.remember).send
        elif stream is not None:
            handler_id = stream.group(1)
            send = _stream_sender(send, self._runs.get(handler_id, handler_id))
        with attached(extract(carrier) if carrier else None):
            await self.app(scope, receive, send)


def _stream_sender(send: Send, run_id: str) -> Send:
    async def sender(message: Message) -> None:
        if message["type"] in ("http.response.start", "websocket.accept"):
            message = _with_traceparent(message, run_id)
        await send(message)

    return sender


class _HeldResponse:
    """Holds a run route's answer until its body (a handler) names the run."""

    def __init__(self, send: Send, remember: Callable[[str | None, str | None], None]) -> None:
        self._send = send
        self._remember = remember
        self._start: Message | None = None
        self._body: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._start = message
            return
        if message["type"] != "http.response.body" or self._start is None:
            await self._send(message)
            return
        self._body.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        body = b"".join(self._body)
        handler_id, run_id = _ids_of(body)
        self._remember(handler_id, run_id)
        start: Any = _with_traceparent(self._start, run_id or handler_id)
        self._start = None
        await self._send(start)
        await self._send({"type": "http.response.body", "body": body})
