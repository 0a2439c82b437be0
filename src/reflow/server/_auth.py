"""Bearer-token auth for every route but ``/health``, HTTP and WebSocket alike.

WebSocket clients in browsers cannot set headers, so a socket may also carry the token as the
``token`` query parameter.  Tokens are compared in constant time.
"""

from __future__ import annotations

import hmac
import json
import os
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

TOKEN_ENV_VAR = "REFLOW_SERVER_TOKEN"
OPEN_PATHS = frozenset({"/health", "/"})
# The web UI's static files hold no data; the page asks for the token and sends it itself.
OPEN_PREFIXES = ("/ui/",)


def token_from_env() -> str | None:
    return os.environ.get(TOKEN_ENV_VAR) or None


def _presented(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer":
                return str(credentials.strip())
    if scope["type"] == "websocket":
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        tokens = query.get("token")
        if tokens:
            return str(tokens[0])
    return None


class BearerAuth:
    """Answers 401 (or closes the socket with 1008) unless the request carries ``token``."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._token = token.encode()

    def allows(self, scope: Scope) -> bool:
        presented = _presented(scope)
        return presented is not None and hmac.compare_digest(presented.encode(), self._token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] not in ("http", "websocket")
            or path in OPEN_PATHS
            or path.startswith(OPEN_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "http" and scope.get("method") == "OPTIONS":
            await self.app(scope, receive, send)  # CORS preflights carry no credentials
            return
        if self.allows(scope):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "unauthorized"})
            return
        body = json.dumps({"detail": "missing or invalid bearer token"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b"Bearer"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
