"""The OpenAPI paths of the flow routes, added to the server's document when flows are on."""

from __future__ import annotations

from typing import Any

from reflow.server._openapi_parts import ERROR, path_param

_OBJECT = {"type": "object"}
_PROBLEMS = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "problems": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "message": {"type": "string"},
                    "node_id": {"type": ["string", "null"]},
                    "field": {"type": ["string", "null"]},
                },
            },
        },
    },
}
_DOCUMENT_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {"type": "object", "description": "a flow document (reflow flow schema)"}
        },
        "application/yaml": {"schema": {"type": "string"}},
    },
}


def _answers(ok: str, **errors: str) -> dict[str, Any]:
    codes: dict[str, Any] = {
        ok.split(" ", 1)[0]: {
            "description": ok.split(" ", 1)[1],
            "content": {"application/json": {"schema": _OBJECT}},
        }
    }
    for code, description in errors.items():
        schema = _PROBLEMS if code == "e400" and "problems" in description else ERROR
        codes[code[1:]] = {
            "description": description,
            "content": {"application/json": {"schema": schema}},
        }
    return codes


def _op(summary: str, ok: str, body: dict[str, Any] | None = None, **errors: str) -> Any:
    operation: dict[str, Any] = {"summary": summary, "responses": _answers(ok, **errors)}
    if body is not None:
        operation["requestBody"] = body
    return operation


def _body(properties: dict[str, Any]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties}
    return {"required": False, "content": {"application/json": {"schema": schema}}}


def _params(*names: str) -> list[dict[str, Any]]:
    return [path_param(name) for name in names]


def flow_paths() -> dict[str, Any]:
    """Paths of ``/flows...`` (``/ws/flows/{name}`` is a WebSocket and not described)."""
    flow = _params("name")
    return {
        "/flows": {
            "get": _op("Served flows", "200 the flows"),
            "post": {
                **_op(
                    "Load a flow (?name= names it)",
                    "201 the flow",
                    _DOCUMENT_BODY,
                    e400="the document's problems",
                    e409="a flow of that name is running",
                ),
                "parameters": [{"name": "name", "in": "query", "schema": {"type": "string"}}],
            },
        },
        "/flows/validate": {
            "post": _op("Check a flow document", "200 {valid, problems}", _DOCUMENT_BODY)
        },
        "/flows/{name}": {
            "parameters": flow,
            "get": _op("A flow and its document", "200 the flow", e404="unknown flow"),
            "delete": _op("Stop serving a flow", "200 deleted", e409="running", e404="unknown"),
        },
        "/flows/{name}/start": {
            "parameters": flow,
            "post": _op(
                "Start production mode",
                "202 the status",
                _body({"max_iterations": {"type": "integer", "minimum": 1}}),
                e409="already running, or no producer",
                e404="unknown flow",
            ),
        },
        "/flows/{name}/stop": {
            "parameters": flow,
            "post": _op("Stop production mode", "200 the status", e404="unknown flow"),
        },
        "/flows/{name}/status": {
            "parameters": flow,
            "get": _op("Status, executing and completed nodes", "200 the status"),
        },
        "/flows/{name}/dev": {
            "parameters": flow,
            "delete": _op("Reset a development session (?session=)", "200 {session, cleared}"),
        },
        "/flows/{name}/dev/{node_id}": {
            "parameters": _params("name", "node_id"),
            "post": _op(
                "Run one node in development mode",
                "200 the node's input and output",
                _body(
                    {
                        "session": {"type": "string"},
                        "input": _OBJECT,
                        "timeout": {"type": "number", "exclusiveMinimum": 0},
                    }
                ),
                e408="the node timed out",
                e409="an upstream node has no cached output, or a production-only node",
                e422="the node failed",
                e503="Redis is unavailable",
            ),
        },
        "/flows/{name}/dlq": {
            "parameters": flow,
            "get": _op("Dead-letter entries (?start=&count=)", "200 {entries, total}"),
            "delete": _op("Purge the dead-letter queue", "200 {purged}"),
        },
        "/flows/{name}/dlq/{entry_id}": {
            "parameters": _params("name", "entry_id"),
            "get": _op("One dead-letter entry", "200 the entry", e404="unknown entry"),
        },
        "/flows/{name}/dlq/{entry_id}/replay": {
            "parameters": _params("name", "entry_id"),
            "post": _op(
                "Replay an entry from its failed node",
                "200 {status, result}",
                e404="unknown entry",
                e422="it failed again",
            ),
        },
    }
