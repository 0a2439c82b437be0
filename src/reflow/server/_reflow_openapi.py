"""The OpenAPI paths of reflow's own routes (beyond llama-agents-server's): a run's state, start
event and artifacts, and ``/metrics`` when it is served."""

from __future__ import annotations

from typing import Any

from reflow.server._openapi_parts import error, json_answer, path_param, ref


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
                "200": json_answer(body, description),
                "404": error("unknown handler"),
                "409": error(f"the {what} is not kept for this run here"),
            },
        }
    }


def reflow_paths(handler_id: dict[str, Any], metrics: bool) -> dict[str, Any]:
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
                "start_event": ref("EventEnvelopeWithMetadata"),
            },
            "the event the run started with",
            "start event",
        ),
        "/handlers/{handler_id}/artifacts": {
            "get": {
                "parameters": [handler_id],
                "responses": {
                    "200": json_answer(listing, "the files the run's steps published"),
                    "404": error("unknown handler"),
                },
            }
        },
        "/handlers/{handler_id}/artifacts/{step}/{path}": {
            "get": {
                "parameters": [handler_id, path_param("step"), path_param("path")],
                "responses": {
                    "200": {
                        "description": "the file",
                        "content": {"application/octet-stream": {"schema": {"type": "string"}}},
                    },
                    "400": error("a path outside the artifact root"),
                    "404": error("unknown handler or artifact"),
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
