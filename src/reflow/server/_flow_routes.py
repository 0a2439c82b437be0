"""REST routes and the WebSocket of served flows (mounted by ``WorkflowServer.enable_flows``).

Routes live under ``/flows`` and the socket at ``/ws/flows/{name}``; the table is in
``docs/serving.md``.  Bodies and queries are checked like the rest of the server: bad input
is a 4xx JSON answer naming it, Redis being away is a 503.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from reflow.server._flow_host import FlowHost, FlowLoadError, redis_errors
from reflow.server._http import ApiError, json_object, json_type, optional_str, read_json
from reflow.server._websocket import _Socket

if TYPE_CHECKING:
    from reflow.server._seams import ServerView

DEFAULT_DEV_TIMEOUT = 300.0
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


def _int_query(request: Request, name: str, default: int | None, low: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        detail = f"query parameter '{name}' must be an integer, got {raw[:50]!r}"
        raise ApiError(400, detail) from None
    if value < low:
        raise ApiError(400, f"query parameter '{name}' must be >= {low}, got {value}")
    return value


def _number(body: dict[str, Any], key: str, default: float | None) -> float | None:
    value = body.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ApiError(400, f"'{key}' must be a positive number, got {json.dumps(value)[:50]}")
    return float(value)


class FlowRoutes:
    def __init__(self, server: ServerView, host: FlowHost) -> None:
        self.server = server
        self.host = host

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/flows", self.list_flows, methods=["GET"]),
            Route("/flows", self.load_flow, methods=["POST"]),
            Route("/flows/validate", self.validate_flow, methods=["POST"]),
            Route("/flows/{name}", self.describe, methods=["GET"]),
            Route("/flows/{name}", self.remove, methods=["DELETE"]),
            Route("/flows/{name}/start", self.start, methods=["POST"]),
            Route("/flows/{name}/stop", self.stop, methods=["POST"]),
            Route("/flows/{name}/status", self.status, methods=["GET"]),
            Route("/flows/{name}/dev", self.reset_dev, methods=["DELETE"]),
            Route("/flows/{name}/dev/{node_id}", self.run_node, methods=["POST"]),
            Route("/flows/{name}/dlq", self.list_dlq, methods=["GET"]),
            Route("/flows/{name}/dlq", self.purge_dlq, methods=["DELETE"]),
            Route("/flows/{name}/dlq/{entry_id}", self.show_dlq, methods=["GET"]),
            Route("/flows/{name}/dlq/{entry_id}/replay", self.replay, methods=["POST"]),
            WebSocketRoute("/ws/flows/{name}", self.socket),
        ]

    async def _document(self, request: Request) -> tuple[Any, str | None]:
        """The flow document of a request: JSON by default, YAML text by content type."""
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type in YAML_TYPES:
            limit = self.server.max_body_bytes
            raw = b""
            async for chunk in request.stream():
                raw += chunk
                if len(raw) > limit:
                    raise ApiError(413, f"request body is over the {limit} byte limit")
            try:
                return raw.decode(), "yaml"
            except UnicodeDecodeError as exc:
                raise ApiError(400, f"request body is not UTF-8 text: {exc}") from None
        body = await read_json(request, self.server.max_body_bytes)
        if not isinstance(body, dict):
            raise ApiError(400, f"a flow document must be a JSON object, got {json_type(body)}")
        return body, None

    @staticmethod
    def _problems(exc: FlowLoadError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail, "problems": exc.problems}, status_code=400)

    async def list_flows(self, request: Request) -> JSONResponse:
        return JSONResponse({"flows": [s.describe() for s in self.host.flows.values()]})

    async def load_flow(self, request: Request) -> JSONResponse:
        document, fmt = await self._document(request)
        name = request.query_params.get("name") or None
        try:
            flow = self.host.load(document, name=name, fmt=fmt)
        except FlowLoadError as exc:
            return self._problems(exc)
        if name is None and not flow.spec.settings.name:
            raise ApiError(400, "a served flow needs a name: give ?name= or settings.name")
        self.host.add(flow)
        return JSONResponse(self.host.get(flow.name).describe(), status_code=201)

    async def validate_flow(self, request: Request) -> JSONResponse:
        document, fmt = await self._document(request)
        try:
            self.host.load(document, fmt=fmt)
        except FlowLoadError as exc:
            return JSONResponse({"valid": False, "problems": exc.problems})
        return JSONResponse({"valid": True, "problems": []})

    async def describe(self, request: Request) -> JSONResponse:
        served = self.host.get(request.path_params["name"])
        document = served.flow.spec.model_dump(mode="json", by_alias=True)
        return JSONResponse({**served.describe(), "document": document})

    async def remove(self, request: Request) -> JSONResponse:
        await self.host.remove(request.path_params["name"])
        return JSONResponse({"status": "deleted"})

    async def start(self, request: Request) -> JSONResponse:
        body = json_object(await read_json(request, self.server.max_body_bytes), "request body")
        raw = body.get("max_iterations")
        if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int) or raw < 1):
            raise ApiError(400, f"'max_iterations' must be a positive integer, got {raw!r}")
        served = self.host.start(request.path_params["name"], raw)
        return JSONResponse(served.status(), status_code=202)

    async def stop(self, request: Request) -> JSONResponse:
        served = await self.host.stop(request.path_params["name"])
        return JSONResponse(served.status())

    async def status(self, request: Request) -> JSONResponse:
        return JSONResponse(self.host.get(request.path_params["name"]).status())

    async def run_node(self, request: Request) -> JSONResponse:
        body = json_object(await read_json(request, self.server.max_body_bytes), "request body")
        given = body.get("input")
        if given is not None and not isinstance(given, dict):
            raise ApiError(400, f"'input' must be a JSON object, got {json_type(given)}")
        session = optional_str(body, "session") or "default"
        timeout = _number(body, "timeout", DEFAULT_DEV_TIMEOUT)
        result = await self.host.run_node(
            request.path_params["name"],
            request.path_params["node_id"],
            input=given,
            session=session,
            timeout=timeout or DEFAULT_DEV_TIMEOUT,
        )
        return JSONResponse(result)

    async def reset_dev(self, request: Request) -> JSONResponse:
        session = request.query_params.get("session") or "default"
        cleared = await self.host.reset_session(request.path_params["name"], session)
        return JSONResponse({"session": session, "cleared": cleared})

    async def list_dlq(self, request: Request) -> JSONResponse:
        engine = self.host.engine_for(self.host.get(request.path_params["name"]))
        start = _int_query(request, "start", 0, 0) or 0
        count = _int_query(request, "count", 100, 1) or 100
        with redis_errors():
            entries = await engine.dlq.list(start, count)
            total = await engine.dlq.count()
        return JSONResponse({"entries": entries, "total": total})

    async def show_dlq(self, request: Request) -> JSONResponse:
        params = request.path_params
        return JSONResponse(await self.host.dlq_entry(params["name"], params["entry_id"]))

    async def replay(self, request: Request) -> JSONResponse:
        params = request.path_params
        result = await self.host.replay(params["name"], params["entry_id"])
        return JSONResponse({"status": "replayed", "result": result})

    async def purge_dlq(self, request: Request) -> JSONResponse:
        engine = self.host.engine_for(self.host.get(request.path_params["name"]))
        with redis_errors():
            purged = await engine.dlq.purge()
        return JSONResponse({"purged": purged})

    # -- the flow's socket ---------------------------------------------------------------------

    async def socket(self, websocket: WebSocket) -> None:
        name = websocket.path_params["name"]
        await websocket.accept()
        socket = _Socket(websocket)
        served = self.host.flows.get(name)
        if served is None:
            await socket.send({"type": "error", "detail": f"flow {name!r} not found"})
            await websocket.close(1008)
            return
        state = served.state
        queue = state.subscribe()
        await socket.send({"type": "state_sync", "state": served.status()})
        pump = asyncio.get_running_loop().create_task(self._pump(socket, queue))
        try:
            while True:
                text = await websocket.receive_text()
                await socket.send(self._answer(name, text))
        except (WebSocketDisconnect, RuntimeError):
            pass  # the client left, or the pump closed the socket (RuntimeError on receive)
        finally:
            state.unsubscribe(queue)
            pump.cancel()

    def _answer(self, name: str, text: str) -> dict[str, Any]:
        try:
            message = json.loads(text)
        except ValueError:
            return {"type": "error", "detail": "message is not valid JSON"}
        if not isinstance(message, dict):
            detail = f"message must be an object, got {json_type(message)}"
            return {"type": "error", "detail": detail}
        kind = message.get("type")
        if kind == "ping":
            return {"type": "pong"}
        if kind == "request_state":
            served = self.host.flows.get(name)
            if served is not None:
                return {"type": "state_sync", "state": served.status()}
            return {"type": "error", "detail": f"flow {name!r} is no longer served"}
        return {
            "type": "error",
            "detail": f"unknown message type {kind!r}; expected 'ping' or 'request_state'",
        }

    @staticmethod
    async def _pump(socket: _Socket, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        try:
            while True:
                message = await queue.get()
                if message is None:  # cut off for falling too far behind
                    await socket.send({"type": "error", "detail": "too far behind; reconnect"})
                    await socket.websocket.close(1013)
                    return
                await socket.send(message)
        except (WebSocketDisconnect, RuntimeError, OSError):
            return  # the socket went away while sending; the receive loop ends it
