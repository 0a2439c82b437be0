"""What a run's page shows beyond the peer's API: its state, and the event it started with.

    GET /handlers/{id}/state        {"handler_id", "state": <the state store's to_dict form>}
    GET /handlers/{id}/start-event  {"handler_id", "workflow_name", "start_event": <envelope>}

On a ``SqliteWorkflowStore`` both come from the journal (the state as last journaled, the start
event from the run's first tick).  On other stores the server keeps them in memory for the runs
it started.  An unknown handler is a 404; one whose state or start event is not kept here (a
journal run with no stored state yet, a run another process started on an in-memory store, a
runtime without these looks) a 409.
Event times ride on the per-run WebSocket's messages (``_websocket``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from reflow.client.protocol import EventEnvelopeWithMetadata
from reflow.server._http import ApiError
from reflow.server._runs import HandlerNotFound, NotKept

if TYPE_CHECKING:
    from reflow.server._seams import ServerView


class RunDetailRoutes:
    def __init__(self, server: ServerView) -> None:
        self.server = server

    def routes(self) -> list[Route]:
        return [
            Route("/handlers/{handler_id}/state", self.state, methods=["GET"]),
            Route("/handlers/{handler_id}/start-event", self.start_event, methods=["GET"]),
        ]

    async def state(self, request: Request) -> JSONResponse:
        handler_id = request.path_params["handler_id"]
        try:
            state = await self.server._runs.state(handler_id)
        except HandlerNotFound:
            raise ApiError(404, f"handler {handler_id!r} not found") from None
        except NotKept as exc:
            raise ApiError(409, str(exc)) from None
        return JSONResponse({"handler_id": handler_id, "state": state})

    async def start_event(self, request: Request) -> JSONResponse:
        handler_id = request.path_params["handler_id"]
        runs = self.server._runs
        try:
            data = await runs.get(handler_id)
            event = await runs.start_event(handler_id)
        except HandlerNotFound:
            raise ApiError(404, f"handler {handler_id!r} not found") from None
        except NotKept as exc:
            raise ApiError(409, str(exc)) from None
        envelope = EventEnvelopeWithMetadata.from_event(event)
        return JSONResponse(
            {
                "handler_id": handler_id,
                "workflow_name": data.workflow_name,
                "start_event": envelope.model_dump(mode="json"),
            }
        )
