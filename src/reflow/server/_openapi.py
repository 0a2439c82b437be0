"""The OpenAPI 3.1 document of the server's routes, built from the wire models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from reflow._version import __version__
from reflow.client.protocol import (
    CancelHandlerResponse,
    EventEnvelopeWithMetadata,
    HandlerData,
    HandlersListResponse,
    HealthResponse,
    SendEventResponse,
    WorkflowEventsListResponse,
    WorkflowGraphResponse,
    WorkflowSchemaResponse,
    WorkflowsListResponse,
)

_MODELS: tuple[type[BaseModel], ...] = (
    HandlerData,
    HandlersListResponse,
    HealthResponse,
    WorkflowsListResponse,
    WorkflowSchemaResponse,
    WorkflowEventsListResponse,
    WorkflowGraphResponse,
    SendEventResponse,
    CancelHandlerResponse,
    EventEnvelopeWithMetadata,
)
_ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
_ENVELOPE_IN = {
    "oneOf": [
        {
            "type": "object",
            "properties": {
                "type": {"type": "string", "description": "the event class name"},
                "value": {"type": "object", "description": "the event's fields"},
                "qualified_name": {"type": "string"},
            },
        },
        {"type": "string", "description": "the same object as JSON text"},
    ]
}
_RUN_BODY = {
    "type": "object",
    "properties": {
        "start_event": {
            "description": "the start event's fields, or an envelope {type, value}",
            "oneOf": [{"type": "object"}, {"type": "string"}],
        },
        "kwargs": {"type": "object", "description": "start event fields (without start_event)"},
        "handler_id": {"type": "string"},
        "context": {
            "type": "object",
            "description": "a Context.to_dict() snapshot to resume (accept_context_api)",
        },
    },
}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


def _path_param(name: str, values: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if values:
        schema["enum"] = values
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _handler_codes(running: str) -> dict[str, Any]:
    return {
        "200": _json(_ref("HandlerData"), "completed"),
        "202": _json(_ref("HandlerData"), running),
        "500": _json(_ref("HandlerData"), "failed or cancelled"),
        "404": _error("unknown handler"),
    }


def openapi_document(
    workflows: list[str], *, auth: bool, metrics: bool = False, ui: bool = False
) -> dict[str, Any]:
    schemas: dict[str, Any] = {"Error": _ERROR}
    for model in _MODELS:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    name = _path_param("name", workflows or None)
    handler_id = _path_param("handler_id")
    body_codes = {
        "400": _error("malformed JSON or invalid fields"),
        "413": _error("body too large"),
    }
    run_body = {"required": False, "content": {"application/json": {"schema": _RUN_BODY}}}
    stream_params = [
        handler_id,
        _query("sse", {"type": "boolean", "default": True}, "SSE (default) or NDJSON"),
        _query("include_internal", {"type": "boolean", "default": False}),
        _query("include_qualified_name", {"type": "boolean", "default": True}),
        _query(
            "after_sequence",
            {"oneOf": [{"type": "integer", "minimum": -1}, {"type": "string", "enum": ["now"]}]},
            "-1 replays from the start, N resumes after N, 'now' (default) only new events",
        ),
        {"name": "Last-Event-ID", "in": "header", "required": False, "schema": {"type": "integer"}},
    ]
    paths: dict[str, Any] = {
        "/health": {
            "get": {
                "responses": {
                    "200": _json(_ref("HealthResponse"), "running"),
                    "503": _json(_ref("HealthResponse"), "not started"),
                }
            }
        },
        "/workflows": {
            "get": {"responses": {"200": _json(_ref("WorkflowsListResponse"), "names")}}
        },
        "/workflows/{name}/run": {
            "post": {
                "parameters": [name],
                "requestBody": run_body,
                "responses": {
                    **body_codes,
                    "200": _json(_ref("HandlerData"), "the run completed"),
                    "500": _json(_ref("HandlerData"), "the run failed or was cancelled"),
                    "404": _error("unknown workflow"),
                    "409": _error("handler_id already used"),
                },
            }
        },
        "/workflows/{name}/run-nowait": {
            "post": {
                "parameters": [name],
                "requestBody": run_body,
                "responses": {
                    **body_codes,
                    "200": _json(_ref("HandlerData"), "the run started"),
                    "404": _error("unknown workflow"),
                    "409": _error("handler_id already used"),
                },
            }
        },
        "/workflows/{name}/schema": {
            "get": {
                "parameters": [name],
                "responses": {
                    "200": _json(_ref("WorkflowSchemaResponse"), "start and stop event schemas"),
                    "404": _error("unknown workflow"),
                },
            }
        },
        "/workflows/{name}/representation": {
            "get": {
                "parameters": [name],
                "responses": {
                    "200": _json(_ref("WorkflowGraphResponse"), "the workflow's graph"),
                    "404": _error("unknown workflow"),
                },
            }
        },
        "/workflows/{name}/events": {
            "get": {
                "parameters": [name],
                "responses": {
                    "200": _json(_ref("WorkflowEventsListResponse"), "event schemas"),
                    "404": _error("unknown workflow"),
                },
            }
        },
        "/workflows/{name}/drawing": {
            "get": {
                "parameters": [name],
                "responses": {
                    "200": {
                        "description": "the workflow's drawing (reflow's own layout)",
                        "content": {"image/svg+xml": {"schema": {"type": "string"}}},
                    },
                    "404": _error("unknown workflow"),
                },
            }
        },
        "/handlers": {
            "get": {
                "parameters": [
                    _query("status", {"type": "array", "items": {"type": "string"}}, "repeatable"),
                    _query("workflow_name", {"type": "array", "items": {"type": "string"}}),
                    _query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": 1000},
                        "a page of at most this many, newest first",
                    ),
                    _query("offset", {"type": "integer", "minimum": 0}, "skip the newest N"),
                    _query("q", {"type": "string"}, "handler ids starting with this"),
                ],
                "responses": {
                    "200": _json(_ref("HandlersListResponse"), "handlers"),
                    "400": _error("bad limit or offset"),
                },
            }
        },
        "/handlers/{handler_id}": {
            "get": {
                "parameters": [handler_id],
                "responses": _handler_codes("running"),
            }
        },
        "/handlers/{handler_id}/cancel": {
            "post": {
                "parameters": [handler_id, _query("purge", {"type": "boolean", "default": False})],
                "responses": {
                    "200": _json(_ref("CancelHandlerResponse"), "cancelled or deleted"),
                    "400": _error("bad purge value"),
                    "404": _error("unknown or already finished handler"),
                },
            }
        },
        "/results/{handler_id}": {
            "get": {
                "deprecated": True,
                "parameters": [handler_id],
                "responses": _handler_codes("running"),
            }
        },
        "/events/{handler_id}": {
            "get": {
                "parameters": stream_params,
                "responses": {
                    "200": {
                        "description": "id/data frames (SSE) or one envelope per line (NDJSON)",
                        "content": {
                            "text/event-stream": {"schema": {"type": "string"}},
                            "application/x-ndjson": {"schema": _ref("EventEnvelopeWithMetadata")},
                        },
                    },
                    "204": {"description": "finished, nothing after the cursor"},
                    "400": _error("bad cursor or flag"),
                    "404": _error("unknown handler"),
                },
            },
            "post": {
                "parameters": [handler_id],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"event": _ENVELOPE_IN, "step": {"type": "string"}},
                                "required": ["event"],
                            }
                        }
                    },
                },
                "responses": {
                    **body_codes,
                    "200": _json(_ref("SendEventResponse"), "stored for the run"),
                    "404": _error("unknown handler"),
                    "409": _error("handler already finished"),
                },
            },
        },
    }
    paths.update(_reflow_paths(handler_id, metrics))
    if ui:
        paths["/"] = {
            "get": {
                "security": [],
                "responses": {
                    "200": {
                        "description": "the web UI (its files are under /ui/)",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    }
                },
            }
        }
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "reflow workflow server", "version": __version__},
        "paths": paths,
        "components": {"schemas": schemas},
    }
    if auth:
        document["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        document["security"] = [{"bearer": []}]
        paths["/health"]["get"]["security"] = []
    return document


def _run_detail(
    handler_id: dict[str, Any], fields: dict[str, Any], description: str, what: str
) -> dict[str, Any]:
    """A GET of something the server may or may not keep about a run (404 / 409)."""
    body = {
        "type": "object",
        "properties": {"handler_id": {"type": "string"}, **fields},
        "required": ["handler_id", *fields],
    }
    return {
        "get": {
            "parameters": [handler_id],
            "responses": {
                "200": _json(body, description),
                "404": _error("unknown handler"),
                "409": _error(f"the {what} is not kept for this run here"),
            },
        }
    }


def _reflow_paths(handler_id: dict[str, Any], metrics: bool) -> dict[str, Any]:
    """reflow's own routes: a run's state, start event and artifacts, and ``/metrics`` when it
    is served."""
    artifact = {
        "type": "object",
        "properties": {
            "step": {"type": "string"},
            "path": {"type": "string"},
            "size": {"type": "integer"},
            "modified_at": {"type": "number"},
        },
        "required": ["step", "path", "size", "modified_at"],
    }
    listing = {
        "type": "object",
        "properties": {"artifacts": {"type": "array", "items": artifact}},
        "required": ["artifacts"],
    }
    paths: dict[str, Any] = {
        "/handlers/{handler_id}/state": _run_detail(
            handler_id,
            {"state": {"type": "object"}},
            "the run's context state (the state store's to_dict form)",
            "state",
        ),
        "/handlers/{handler_id}/start-event": _run_detail(
            handler_id,
            {
                "workflow_name": {"type": "string"},
                "start_event": _ref("EventEnvelopeWithMetadata"),
            },
            "the event the run started with",
            "start event",
        ),
        "/handlers/{handler_id}/artifacts": {
            "get": {
                "parameters": [handler_id],
                "responses": {
                    "200": _json(listing, "the files the run's steps published"),
                    "404": _error("unknown handler"),
                },
            }
        },
        "/handlers/{handler_id}/artifacts/{step}/{path}": {
            "get": {
                "parameters": [handler_id, _path_param("step"), _path_param("path")],
                "responses": {
                    "200": {
                        "description": "the file",
                        "content": {"application/octet-stream": {"schema": {"type": "string"}}},
                    },
                    "400": _error("a path outside the artifact root"),
                    "404": _error("unknown handler or artifact"),
                },
            }
        },
    }
    if metrics:
        paths["/metrics"] = {
            "get": {
                "responses": {
                    "200": {
                        "description": "Prometheus text format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                }
            }
        }
    return paths
