"""The HTTP routes of ``WorkflowServer`` (paths, codes and bodies as llama-agents-server 0.8)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from reflow.client.protocol import (
    EventEnvelope,
    EventValidationError,
    HandlerData,
    Status,
    result_value,
)
from reflow.errors import WorkflowRuntimeError
from reflow.events import StartEvent
from reflow.server._http import (
    ApiError,
    json_object,
    json_type,
    optional_str,
    parse_cursor,
    query_bool,
    query_int,
    read_json,
)
from reflow.server._runs import HandlerConflict, HandlerNotFound, Runs
from reflow.server._streams import follow, ndjson_line, sse_frame

if TYPE_CHECKING:
    from reflow.server._seams import ServerView

_STATUSES: tuple[Status, ...] = ("running", "completed", "failed", "cancelled")


def _handler_response(data: HandlerData, *, running: int = 202) -> JSONResponse:
    code = {"running": running, "completed": 200}.get(data.status, 500)
    return JSONResponse(data.model_dump(mode="json"), status_code=code)


def parse_start_event(workflow: Any, registry: dict[str, Any], body: dict[str, Any]) -> StartEvent:
    start_class: type[StartEvent] = workflow.start_event_class
    raw = body.get("start_event")
    if raw is None:
        kwargs = json_object(body.get("kwargs"), "'kwargs'")
        try:
            built: StartEvent = start_class.model_validate(kwargs)
            return built
        except Exception as exc:
            raise ApiError(
                400, f"invalid kwargs for {start_class.__name__}: {_short(exc)}"
            ) from None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise ApiError(400, f"'start_event' is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ApiError(400, f"'start_event' must be an object, got {json_type(raw)}")
    try:
        if "value" not in raw and ("type" not in raw or "qualified_name" not in raw):
            event = start_class.model_validate(raw)
        else:
            event = EventEnvelope.parse(raw, registry)
    except EventValidationError as exc:
        raise ApiError(400, f"invalid start_event: {exc}") from None
    except Exception as exc:
        raise ApiError(
            400, f"invalid start_event for {start_class.__name__}: {_short(exc)}"
        ) from None
    if not isinstance(event, start_class):
        raise ApiError(
            400,
            f"start_event is a {type(event).__name__}; workflow expects {start_class.__name__}",
        )
    return event


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:500]


class Routes:
    """The route handlers, bound to one server."""

    def __init__(self, server: ServerView) -> None:
        self.server = server

    @property
    def runs(self) -> Runs:
        return self.server._runs

    def routes(self) -> list[Route]:
        r = Route
        return [
            r("/health", self.health, methods=["GET"]),
            r("/workflows", self.list_workflows, methods=["GET"]),
            r("/workflows/{name}/run", self.run, methods=["POST"]),
            r("/workflows/{name}/run-nowait", self.run_nowait, methods=["POST"]),
            r("/workflows/{name}/schema", self.schema, methods=["GET"]),
            r("/workflows/{name}/representation", self.representation, methods=["GET"]),
            r("/workflows/{name}/events", self.workflow_events, methods=["GET"]),
            r("/handlers", self.list_handlers, methods=["GET"]),
            r("/handlers/{handler_id}", self.get_handler, methods=["GET"]),
            r("/handlers/{handler_id}/cancel", self.cancel, methods=["POST"]),
            r("/results/{handler_id}", self.get_result, methods=["GET"]),
            r("/events/{handler_id}", self.stream_events, methods=["GET"]),
            r("/events/{handler_id}", self.send_event, methods=["POST"]),
            r("/openapi.json", self.openapi, methods=["GET"]),
        ]

    async def health(self, request: Request) -> JSONResponse:
        if self.server.started:
            return JSONResponse({"status": "healthy"})
        return JSONResponse({"status": "unhealthy"}, status_code=503)

    async def openapi(self, request: Request) -> JSONResponse:
        return JSONResponse(self.server.openapi_schema())

    async def list_workflows(self, request: Request) -> JSONResponse:
        return JSONResponse({"workflows": list(self.server.get_workflows())})

    def _workflow(self, request: Request) -> tuple[str, Any]:
        name = request.path_params["name"]
        workflow = self.server.get_workflows().get(name)
        if workflow is None:
            raise ApiError(404, f"workflow {name!r} not found")
        return name, workflow

    async def _start(self, request: Request) -> HandlerData:
        name, workflow = self._workflow(request)
        body = json_object(await read_json(request, self.server.max_body_bytes), "request body")
        ctx = self._context(workflow, body.get("context"))
        # An empty handler id asks for a generated one, as no id at all does.
        handler_id = optional_str(body, "handler_id") or None
        event = parse_start_event(workflow, self.server.event_registry(name), body)
        try:
            return await self.runs.start(name, workflow, event, handler_id, ctx)
        except HandlerConflict as exc:
            raise ApiError(409, str(exc)) from None

    def _context(self, workflow: Any, payload: Any) -> Any:
        """A Context restored from a run body's ``context`` (``Context.to_dict()``), or None."""
        if not payload:  # the peer's client always sends an empty one
            return None
        if not self.server.accept_context_api:
            raise ApiError(400, "'context' is not accepted by this server (accept_context_api)")
        if not isinstance(payload, dict):
            raise ApiError(400, f"'context' must be a JSON object, got {json_type(payload)}")
        from reflow.context.context import Context

        try:
            return Context.from_dict(workflow, payload)
        except Exception as exc:
            raise ApiError(400, f"invalid 'context': {_short(exc)}") from None

    async def run(self, request: Request) -> JSONResponse:
        started = await self._start(request)
        return _handler_response(await self.runs.wait(started.handler_id), running=200)

    async def run_nowait(self, request: Request) -> JSONResponse:
        started = await self._start(request)
        return JSONResponse(started.model_dump(mode="json"))

    async def schema(self, request: Request) -> JSONResponse:
        _, workflow = self._workflow(request)
        return JSONResponse(
            {
                "start": workflow.start_event_class.model_json_schema(),
                "stop": workflow.stop_event_class.model_json_schema(),
            }
        )

    async def representation(self, request: Request) -> JSONResponse:
        from reflow.representation import get_workflow_representation

        _, workflow = self._workflow(request)
        graph = get_workflow_representation(workflow)
        return JSONResponse({"graph": graph.model_dump(mode="json")})

    async def workflow_events(self, request: Request) -> JSONResponse:
        name, _ = self._workflow(request)
        registry = self.server.event_registry(name)
        return JSONResponse({"events": [cls.model_json_schema() for cls in registry.values()]})

    async def list_handlers(self, request: Request) -> JSONResponse:
        # Empty values are no filter (the peer's client sends ``workflow_name=`` for "any").
        statuses = [s for s in request.query_params.getlist("status") if s]
        names = [n for n in request.query_params.getlist("workflow_name") if n]
        chosen: list[Status] | None = None
        if statuses:
            chosen = [s for s in _STATUSES if s in statuses]
        limit = query_int(request, "limit", None, 1, 1000)
        offset = query_int(request, "offset", 0, 0, None) or 0
        prefix = request.query_params.get("q", "").strip() or None
        found = await self.runs.list(chosen, names or None, limit, offset, prefix)
        return JSONResponse({"handlers": [h.model_dump(mode="json") for h in found]})

    async def _get(self, handler_id: str) -> HandlerData:
        try:
            return await self.runs.get(handler_id)
        except HandlerNotFound:
            raise ApiError(404, f"handler {handler_id!r} not found") from None

    async def get_handler(self, request: Request) -> JSONResponse:
        return _handler_response(await self._get(request.path_params["handler_id"]))

    async def get_result(self, request: Request) -> JSONResponse:
        data = await self._get(request.path_params["handler_id"])
        body = data.model_dump(mode="json")
        body["result"] = result_value(data.result)
        code = {"running": 202, "completed": 200}.get(data.status, 500)
        return JSONResponse(body, status_code=code)

    async def cancel(self, request: Request) -> JSONResponse:
        handler_id = request.path_params["handler_id"]
        purge = query_bool(request, "purge", False)
        data = await self._get(handler_id)
        if not purge and data.status != "running":
            raise ApiError(404, f"handler {handler_id!r} is already {data.status}")
        try:
            if purge:
                await self.runs.purge(handler_id)
                return JSONResponse({"status": "deleted"})
            await self.runs.cancel(handler_id)
        except (HandlerConflict, HandlerNotFound) as exc:
            raise ApiError(404, f"handler {handler_id!r}: {exc}") from None
        except WorkflowRuntimeError as exc:  # e.g. a journal run of a workflow not served here
            raise ApiError(409, f"cannot cancel handler {handler_id!r}: {_short(exc)}") from None
        return JSONResponse({"status": "cancelled"})

    async def send_event(self, request: Request) -> JSONResponse:
        handler_id = request.path_params["handler_id"]
        body = json_object(await read_json(request, self.server.max_body_bytes), "request body")
        if "event" not in body or body["event"] is None:
            raise ApiError(400, "'event' is required: {'event': {'type': ..., 'value': {...}}}")
        step = optional_str(body, "step")
        data = await self._get(handler_id)
        if data.status != "running":
            raise ApiError(409, f"handler {handler_id!r} is already {data.status}")
        registry = self.server.event_registry(data.workflow_name)
        try:
            event = EventEnvelope.parse(body["event"], registry)
        except EventValidationError as exc:
            raise ApiError(400, f"invalid event: {exc}") from None
        try:
            await self.runs.send(handler_id, event, step)
        except HandlerConflict as exc:
            raise ApiError(409, str(exc)) from None
        except HandlerNotFound:
            raise ApiError(404, f"handler {handler_id!r} not found") from None
        except Exception as exc:  # e.g. a step name that does not accept this event
            raise ApiError(400, f"cannot send the event: {_short(exc)}") from None
        return JSONResponse({"status": "sent"})

    async def stream_events(self, request: Request) -> Response:
        handler_id = request.path_params["handler_id"]
        sse = query_bool(request, "sse", True)
        include_internal = query_bool(request, "include_internal", False)
        include_qualified_name = query_bool(request, "include_qualified_name", True)
        raw = request.query_params.get("after_sequence", "now")
        cursor = parse_cursor(raw, "after_sequence")
        last_event_id = request.headers.get("last-event-id")
        if sse and last_event_id is not None and last_event_id.strip().lstrip("-").isdigit():
            cursor = parse_cursor(last_event_id, "Last-Event-ID")
        data = await self._get(handler_id)
        last = await self.runs.last_sequence(handler_id)
        after = last if cursor is None else cursor
        if data.status != "running" and last <= after:
            return Response(status_code=204)
        frames = follow(
            self.runs,
            handler_id,
            after,
            include_internal=include_internal,
            include_qualified_name=include_qualified_name,
            heartbeat=self.server.sse_heartbeat_interval if sse else None,
        )
        render: Callable[[Any], str] = sse_frame if sse else ndjson_line

        async def body() -> AsyncIterator[str]:
            async for frame in frames:
                yield render(frame)

        media = "text/event-stream" if sse else "application/x-ndjson"
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(body(), media_type=media, headers=headers)
