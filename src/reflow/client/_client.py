"""``WorkflowClient``: the HTTP API of a ``WorkflowServer`` (or llama-agents-server) as methods."""

from __future__ import annotations

from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel

from reflow.client._stream import EventStream
from reflow.client.protocol import (
    ArtifactsListResponse,
    CancelHandlerResponse,
    HandlerData,
    HandlersListResponse,
    HealthResponse,
    SendEventResponse,
    Status,
    WorkflowEventsListResponse,
    WorkflowGraphResponse,
    WorkflowSchemaResponse,
    WorkflowsListResponse,
)
from reflow.events import Event, StartEvent

ModelT = TypeVar("ModelT", bound=BaseModel)


def _raise_for_status(response: httpx.Response) -> None:
    if response.is_success:
        return
    body = response.text[:200]
    raise httpx.HTTPStatusError(
        f"{response.status_code} {response.reason_phrase} for {response.request.method} "
        f"{response.request.url}: {body}",
        request=response.request,
        response=response,
    )


def _dump(event: Any) -> dict[str, Any]:
    if isinstance(event, BaseModel):
        return event.model_dump(mode="json")
    return dict(event)


class WorkflowClient:
    """Give exactly one of ``base_url`` and ``httpx_client``; ``token`` adds a bearer header."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        httpx_client: httpx.AsyncClient | None = None,
        token: str | None = None,
    ) -> None:
        if (base_url is None) == (httpx_client is None):
            raise ValueError("Give exactly one of base_url and httpx_client")
        self._owned = httpx_client is None
        self._client = httpx_client or httpx.AsyncClient(base_url=base_url or "", timeout=None)
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def aclose(self) -> None:
        if self._owned:
            await self._client.aclose()

    async def _call(self, method: str, path: str, model: type[ModelT], **options: Any) -> ModelT:
        response = await self._client.request(method, path, headers=self._headers, **options)
        _raise_for_status(response)
        return model.model_validate(response.json())

    async def is_healthy(self) -> HealthResponse:
        return await self._call("GET", "/health", HealthResponse)

    async def list_workflows(self) -> WorkflowsListResponse:
        return await self._call("GET", "/workflows", WorkflowsListResponse)

    async def get_workflow_schema(self, workflow_name: str) -> WorkflowSchemaResponse:
        return await self._call("GET", f"/workflows/{workflow_name}/schema", WorkflowSchemaResponse)

    async def get_workflow_representation(self, workflow_name: str) -> WorkflowGraphResponse:
        path = f"/workflows/{workflow_name}/representation"
        return await self._call("GET", path, WorkflowGraphResponse)

    async def list_workflow_events(self, workflow_name: str) -> WorkflowEventsListResponse:
        path = f"/workflows/{workflow_name}/events"
        return await self._call("GET", path, WorkflowEventsListResponse)

    @staticmethod
    def _run_body(
        handler_id: str | None, context: Any, start: dict[str, Any] | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"context": {}}
        if context is not None:
            body["context"] = context if isinstance(context, dict) else context.to_dict()
        if start is not None:
            body["start_event"] = start
        if handler_id is not None:
            body["handler_id"] = handler_id
        return body

    async def run_workflow(
        self,
        workflow_name: str,
        handler_id: str | None = None,
        start_event: StartEvent | dict[str, Any] | None = None,
        context: Any = None,
    ) -> HandlerData:
        """Run and wait; the start event is sent bare (its fields)."""
        start = _dump(start_event if start_event is not None else StartEvent())
        body = self._run_body(handler_id, context, start)
        return await self._call("POST", f"/workflows/{workflow_name}/run", HandlerData, json=body)

    async def run_workflow_nowait(
        self,
        workflow_name: str,
        handler_id: str | None = None,
        start_event: StartEvent | dict[str, Any] | None = None,
        context: Any = None,
    ) -> HandlerData:
        """Start without waiting; the start event is sent as an envelope."""
        start = None
        if isinstance(start_event, BaseModel):
            start = {"value": _dump(start_event), "type": type(start_event).__name__}
        elif start_event is not None:
            start = dict(start_event)
        body = self._run_body(handler_id, context, start)
        path = f"/workflows/{workflow_name}/run-nowait"
        return await self._call("POST", path, HandlerData, json=body)

    def get_workflow_events(
        self,
        handler_id: str,
        include_internal_events: bool = False,
        after_sequence: int | Literal["now"] = -1,
        max_reconnect_attempts: int = 3,
    ) -> EventStream:
        params = {"sse": "true", "include_internal": str(include_internal_events).lower()}
        return EventStream(
            self._client,
            f"/events/{handler_id}",
            params,
            after_sequence,
            max_reconnect_attempts=max_reconnect_attempts,
            headers=self._headers,
        )

    async def send_event(
        self, handler_id: str, event: Event | dict[str, Any], step: str | None = None
    ) -> SendEventResponse:
        if isinstance(event, Event):
            kind = type(event)
            envelope: dict[str, Any] = {
                "value": event.model_dump(mode="json"),
                "type": kind.__name__,
            }
            if not kind.__module__.startswith("reflow."):
                # reflow's own events live at other paths on the peer's server: name them by type.
                envelope["qualified_name"] = f"{kind.__module__}.{kind.__qualname__}"
        else:
            envelope = event
        body: dict[str, Any] = {"event": envelope}
        if step is not None:
            body["step"] = step
        return await self._call("POST", f"/events/{handler_id}", SendEventResponse, json=body)

    async def get_handler(self, handler_id: str) -> HandlerData:
        return await self._call("GET", f"/handlers/{handler_id}", HandlerData)

    async def get_result(self, handler_id: str) -> HandlerData:
        """Deprecated alias of ``get_handler``."""
        return await self.get_handler(handler_id)

    async def get_handlers(
        self, status: list[Status] | None = None, workflow_name: list[str] | None = None
    ) -> HandlersListResponse:
        params: list[tuple[str, str]] = [("status", s) for s in status or ()]
        params += [("workflow_name", n) for n in workflow_name or ()]
        return await self._call("GET", "/handlers", HandlersListResponse, params=params)

    async def list_artifacts(self, handler_id: str) -> ArtifactsListResponse:
        """The files the run's steps published (reflow servers only)."""
        path = f"/handlers/{handler_id}/artifacts"
        return await self._call("GET", path, ArtifactsListResponse)

    async def get_artifact(self, handler_id: str, step: str, path: str) -> bytes:
        """The bytes of one artifact of the run (reflow servers only)."""
        url = f"/handlers/{handler_id}/artifacts/{step}/{path}"
        response = await self._client.get(url, headers=self._headers)
        _raise_for_status(response)
        return response.content

    async def cancel_handler(self, handler_id: str, purge: bool = False) -> CancelHandlerResponse:
        path = f"/handlers/{handler_id}/cancel"
        params = {"purge": str(purge).lower()}
        return await self._call("POST", path, CancelHandlerResponse, params=params)
