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
from reflow.server._openapi_parts import ERROR, error, json_answer, path_param, query, ref
from reflow.server._reflow_openapi import reflow_paths

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


def _handler_codes(running: str) -> dict[str, Any]:
    return {
        "200": json_answer(ref("HandlerData"), "completed"),
        "202": json_answer(ref("HandlerData"), running),
        "500": json_answer(ref("HandlerData"), "failed or cancelled"),
        "404": error("unknown handler"),
    }


def openapi_document(
    workflows: list[str], *, auth: bool, metrics: bool = False, ui: bool = False
) -> dict[str, Any]:
    schemas: dict[str, Any] = {"Error": ERROR}
    for model in _MODELS:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    name = path_param("name", workflows or None)
    handler_id = path_param("handler_id")
    body_codes = {
        "400": error("malformed JSON or invalid fields"),
        "413": error("body too large"),
    }
    run_body = {"required": False, "content": {"application/json": {"schema": _RUN_BODY}}}
    stream_params = [
        handler_id,
        query("sse", {"type": "boolean", "default": True}, "SSE (default) or NDJSON"),
        query("include_internal", {"type": "boolean", "default": False}),
        query("include_qualified_name", {"type": "boolean", "default": True}),
        query(
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
                    "200": json_answer(ref("HealthResponse"), "running"),
                    "503": json_answer(ref("HealthResponse"), "not started"),
                }
            }
        },
        "/workflows": {
            "get": {"responses": {"200": json_answer(ref("WorkflowsListResponse"), "names")}}
        },
        "/workflows/{name}/run": {
            "post": {
                "parameters": [name],
                "requestBody": run_body,
                "responses": {
                    **body_codes,
                    "200": json_answer(ref("HandlerData"), "the run completed"),
                    "500": json_answer(ref("HandlerData"), "the run failed or was cancelled"),
                    "404": error("unknown workflow"),
                    "409": error("handler_id already used"),
                },
            }
        },
        "/workflows/{name}/run-nowait": {
            "post": {
                "parameters": [name],
                "requestBody": run_body,
                "responses": {
                    **body_codes,
                    "200": json_answer(ref("HandlerData"), "the run started"),
                    "404": error("unknown workflow"),
                    "409": error("handler_id already used"),
                },
            }
        },
        "/workflows/{name}/schema": {
            "get": {
                "parameters": [name],
                "responses": {
                    "200": json_answer(
                        ref("WorkflowSchemaResponse"), "start and stop event schemas"
                    ),
                    "404": error("unknown workflow"),
                },
            }
        },
        "/workflows/{name}/representation": {
            "get": {
                "parameters": [name],
                "responses": {
                    "200": json_answer(ref("WorkflowGraphResponse"), "the workflow's graph"),
                    "404": error("unknown workflow"),
                },
            }
        },
        "/workflows/{name}/events": {
            "get": {
                "parameters": [name],
                "responses": {
                    "200": json_answer(ref("WorkflowEventsListResponse"), "event schemas"),
                    "404": error("unknown workflow"),
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
                    "404": error("unknown workflow"),
                },
            }
        },
        "/handlers": {
            "get": {
                "parameters": [
                    query("status", {"type": "array", "items": {"type": "string"}}, "repeatable"),
                    query("workflow_name", {"type": "array", "items": {"type": "string"}}),
                    query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": 1000},
                        "a page of at most this many, newest first",
                    ),
                    query(
                        "offset",
                        {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
                        "skip the newest N",
                    ),
                    query("q", {"type": "string"}, "handler ids starting with this"),
                ],
                "responses": {
                    "200": json_answer(ref("HandlersListResponse"), "handlers"),
                    "400": error("bad limit or offset"),
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
                "parameters": [handler_id, query("purge", {"type": "boolean", "default": False})],
                "responses": {
                    "200": json_answer(ref("CancelHandlerResponse"), "cancelled or deleted"),
                    "400": error("bad purge value"),
                    "404": error("unknown or already finished handler"),
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
                            "application/x-ndjson": {"schema": ref("EventEnvelopeWithMetadata")},
                        },
                    },
                    "204": {"description": "finished, nothing after the cursor"},
                    "400": error("bad cursor or flag"),
                    "404": error("unknown handler"),
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
                    "200": json_answer(ref("SendEventResponse"), "stored for the run"),
                    "404": error("unknown handler"),
                    "409": error("handler already finished"),
                },
            },
        },
    }
    paths.update(reflow_paths(handler_id, metrics))
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
