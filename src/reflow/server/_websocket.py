"""WebSockets: one per run (events out, sends/cancels/pings in) and one for every run's status.

Per run, ``/ws/handlers/{handler_id}?after_sequence=N``: the server sends
``{"type": "event", "sequence": N, "at": <ISO time>, "event": <envelope>}`` for each event (the
SSE envelopes; ``at``, when the event was published, is left out when the store cannot say),
then ``{"type": "end"}`` after the terminal one and closes.  The client may send
``{"type": "send_event", "event": ..., "step": ...}`` (answered ``{"type": "sent"}``),
``{"type": "cancel"}`` (``{"type": "cancelled"}``) and ``{"type": "ping"}`` (``{"type": "pong"}``).
Anything else gets ``{"type": "error", "detail": ...}`` and the socket stays open.

``/ws/status`` sends ``{"type": "status", "handler": <HandlerData>}`` for every handler when it
connects and again whenever one starts or changes status.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from reflow.client.protocol import EventEnvelope, EventValidationError
from reflow.server._http import ApiError, parse_cursor, query_bool
from reflow.server._runs import HandlerConflict, HandlerNotFound
from reflow.server._streams import cancel_and_wait, follow

if TYPE_CHECKING:
    from reflow.server._seams import ServerView

STATUS_POLL_SECONDS = 0.25
_TIMES_BATCH = 500  # event times read in one look
STATUS_RECENT = 100  # newest handlers read on each look, so short runs are seen too


class _Socket:
    """Serialises sends from the reader task and the message loop."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self._lock = asyncio.Lock()

    async def send(self, message: dict[str, Any]) -> None:
        await self.send_text(json.dumps(message))

    async def send_text(self, text: str) -> None:
        async with self._lock:
            await self.websocket.send_text(text)


class Sockets:
    def __init__(self, server: ServerView) -> None:
        self.server = server

    def routes(self) -> list[WebSocketRoute]:
        return [
            WebSocketRoute("/ws/handlers/{handler_id}", self.handler_socket),
            WebSocketRoute("/ws/status", self.status_socket),
        ]

    async def handler_socket(self, websocket: WebSocket) -> None:
        runs = self.server._runs
        handler_id = websocket.path_params["handler_id"]
        await websocket.accept()
        socket = _Socket(websocket)
        try:
            raw = websocket.query_params.get("after_sequence", "-1")
            cursor = parse_cursor(raw, "after_sequence")
            include_internal = query_bool(websocket, "include_internal", False)  # type: ignore[arg-type]
            data = await runs.get(handler_id)
        except ApiError as exc:
            await socket.send({"type": "error", "detail": exc.detail})
            await websocket.close(1008)
            return
        except HandlerNotFound:
            await socket.send({"type": "error", "detail": f"handler {handler_id!r} not found"})
            await websocket.close(1008)
            return
        after = await runs.last_sequence(handler_id) if cursor is None else cursor
        pump = asyncio.get_running_loop().create_task(
            self._pump(socket, handler_id, after, include_internal)
        )
        try:
            while True:
                text = await websocket.receive_text()
                await self._handle(socket, data.workflow_name, handler_id, text)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            await cancel_and_wait(pump)

    async def _pump(
        self, socket: _Socket, handler_id: str, after: int, include_internal: bool
    ) -> None:
        frames = follow(
            self.server._runs,
            handler_id,
            after,
            include_internal=include_internal,
            include_qualified_name=True,
            heartbeat=None,
        )
        times: dict[int, str] = {}
        async for frame in frames:
            sequence = frame.sequence if frame.sequence is not None else -1
            if sequence not in times:  # one look per batch of events, not per event
                times = await self._times(handler_id, sequence - 1)
            at = f', "at": {json.dumps(times[sequence])}' if sequence in times else ""
            # The envelope's JSON is rendered once for all readers; wrap it as text.
            text = f'{{"type": "event", "sequence": {sequence}{at}, "event": {frame.text}}}'
            await socket.send_text(text)
        await socket.send({"type": "end"})
        await socket.websocket.close(1000)

    async def _times(self, handler_id: str, after: int) -> dict[int, str]:
        """When the events after ``after`` were published; empty if the backend cannot say."""
        try:
            return await self.server._runs.event_times(handler_id, after, _TIMES_BATCH)
        except Exception:  # the times are a nicety: the events flow without them
            return {}

    async def _handle(self, socket: _Socket, workflow: str, handler_id: str, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError as exc:
            await socket.send({"type": "error", "detail": f"message is not JSON: {exc}"})
            return
        kind = message.get("type") if isinstance(message, dict) else None
        runs = self.server._runs
        try:
            if kind == "ping":
                await socket.send({"type": "pong"})
            elif kind == "cancel":
                await runs.cancel(handler_id)
                await socket.send({"type": "cancelled"})
            elif kind == "send_event":
                step = message.get("step")
                if step is not None and not isinstance(step, str):
                    raise ApiError(400, "'step' must be a string")
                if message.get("event") is None:
                    raise ApiError(400, "'event' is required")
                event = EventEnvelope.parse(message["event"], self.server.event_registry(workflow))
                await runs.send(handler_id, event, step)
                await socket.send({"type": "sent"})
            else:
                expected = "'send_event', 'cancel' or 'ping'"
                await socket.send(
                    {
                        "type": "error",
                        "detail": f"unknown message type {kind!r}; expected {expected}",
                    }
                )
        except (ApiError, EventValidationError, HandlerConflict, HandlerNotFound) as exc:
            detail = exc.detail if isinstance(exc, ApiError) else str(exc)
            await socket.send({"type": "error", "detail": detail})
        except Exception as exc:
            await socket.send({"type": "error", "detail": f"{kind} failed: {exc}"})

    async def status_socket(self, websocket: WebSocket) -> None:
        recent, problem = _recent_param(websocket)
        await websocket.accept()
        socket = _Socket(websocket)
        if problem:
            await socket.send({"type": "error", "detail": problem})
        pusher = asyncio.get_running_loop().create_task(self._push_statuses(socket, recent))
        try:
            while True:
                text = await websocket.receive_text()
                if text.replace(" ", "") == '{"type":"ping"}':
                    await socket.send({"type": "pong"})
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            await cancel_and_wait(pusher)

    async def _push_statuses(self, socket: _Socket, recent: int | None = None) -> None:
        """Every handler once (or, with ``recent``, the running ones and the ``recent`` newest),
        then each change: the running ones, the newest, and any that stopped running since the
        last look (read one by one: there are few)."""
        runs = self.server._runs
        known: dict[str, str] = {}
        if recent is None:
            seen = await runs.list(None, None)
        else:
            seen = await runs.list(["running"], None)
            seen += await runs.list(None, None, limit=recent)
        while True:
            for handler in seen:
                if known.get(handler.handler_id) != handler.status:
                    known[handler.handler_id] = handler.status
                    await socket.send(
                        {"type": "status", "handler": handler.model_dump(mode="json")}
                    )
            await asyncio.sleep(STATUS_POLL_SECONDS)
            seen = await runs.list(["running"], None)
            seen += await runs.list(None, None, limit=STATUS_RECENT if recent is None else recent)
            listed = {h.handler_id for h in seen}
            for handler_id, status in list(known.items()):
                if status == "running" and handler_id not in listed:
                    try:
                        seen.append(await runs.get(handler_id))
                    except HandlerNotFound:
                        del known[handler_id]


def _recent_param(websocket: WebSocket) -> tuple[int | None, str | None]:
    """``/ws/status?recent=N``: the first snapshot holds the running and the N newest handlers
    (a page showing the newest runs need not receive all ten thousand).  A bad value is
    reported on the socket, which then sends every handler as without it."""
    raw = websocket.query_params.get("recent")
    if raw is None:
        return None, None
    if raw.strip().isdigit():
        return int(raw.strip()), None
    return None, f"query parameter 'recent' must be a whole number >= 0, got {raw!r}"
