"""Request parsing that turns every kind of bad input into a 4xx JSON answer naming it."""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


class ApiError(Exception):
    """An answer other than success: ``status`` with ``{"detail": detail}``."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


async def api_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status)


async def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def internal_error_handler(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": f"Internal server error: {exc}"}, status_code=500)


async def read_json(request: Request, limit: int) -> Any:
    """The request's JSON body (None if empty); 413 beyond ``limit`` bytes, 400 if not JSON."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"request body is {declared} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"request body is over the {limit} byte limit")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"request body is not valid JSON: {exc}") from None


def json_object(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ApiError(400, f"{what} must be a JSON object, got {json_type(value)}")
    return value


def json_type(value: Any) -> str:
    for kind, name in ((bool, "boolean"), (str, "string"), (int, "number"), (float, "number")):
        if isinstance(value, kind):
            return name
    if isinstance(value, list):
        return "array"
    return "null" if value is None else "object"


def optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise ApiError(400, f"'{key}' must be a string, got {json_type(value)}")
    return value


def query_bool(request: Request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise ApiError(400, f"query parameter '{name}' must be true or false, got {raw!r}")


# The largest integer a store can compare with (SQLite's INTEGER, PostgreSQL's BIGINT).
MAX_INT = 2**63 - 1


def query_int(
    request: Request, name: str, default: int | None, low: int, high: int | None
) -> int | None:
    """An optional integer query parameter between ``low`` and ``high`` (inclusive; None:
    ``MAX_INT``)."""
    raw = request.query_params.get(name)
    if raw is None or not raw.strip():
        return default
    text = raw.strip()
    value = int(text) if text.lstrip("-").isdigit() else None
    top = MAX_INT if high is None else high
    if value is None or value < low or value > top:
        bound = f"between {low} and {top}"
        raise ApiError(400, f"query parameter '{name}' must be an integer {bound}, got {raw!r}")
    return value


def parse_cursor(raw: str, source: str) -> int | None:
    """An ``after_sequence`` value: an integer >= -1, or None for ``"now"``."""
    text = raw.strip()
    if text.lower() == "now":
        return None
    try:
        value = int(text)
    except ValueError:
        raise ApiError(
            400, f"{source} must be an integer >= -1 or 'now', got {raw[:50]!r}"
        ) from None
    if value < -1 or value > MAX_INT:
        raise ApiError(
            400, f"{source} must be an integer from -1 to {MAX_INT} or 'now', got {value}"
        )
    return value
