"""The ``http-request`` node (httpx).  Transport errors are captured, not raised, as the seed."""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from reflow.flows._builtin_nodes import parse_json_or_literal
from reflow.flows._nodes import BlockingNode, Payload

__all__ = ["HTTP_NODES"]


def _json_object(value: Any) -> Any:
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"must be a JSON object: {exc}") from exc
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    return {str(k): str(v) for k, v in value.items()}


class HttpRequestConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = "GET"
    url: str = Field(min_length=1, max_length=2048)
    headers: dict[str, str] = Field(default_factory=dict)
    query_params: dict[str, str] = Field(default_factory=dict)
    body: Any = None
    timeout_seconds: float = Field(default=30, ge=0.1)
    auth_type: Literal["", "basic", "bearer"] = ""
    auth_username: str = ""
    auth_password: str = ""
    auth_bearer_token: str = ""

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("url")
    @classmethod
    def _scheme(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("headers", "query_params", mode="before")
    @classmethod
    def _objects(cls, value: Any) -> Any:
        return _json_object(value)


class HttpRequest(BlockingNode[HttpRequestConfig]):
    """Sends one request; writes ``http_request: {status, headers, body, duration_ms, error}``."""

    type_id = "http-request"
    config_model = HttpRequestConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: Any = None

    async def setup(self) -> None:
        import httpx

        self._client = httpx.AsyncClient(follow_redirects=True)

    async def cleanup(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def execute(self, payload: Payload, config: HttpRequestConfig) -> Payload:
        import httpx

        if self._client is None:
            await self.setup()
        kwargs: dict[str, Any] = {
            "headers": config.headers,
            "params": config.query_params,
            "timeout": config.timeout_seconds,
        }
        body = config.body
        if isinstance(body, str) and body.strip():
            with contextlib.suppress(ValueError, SyntaxError):
                body = parse_json_or_literal(body)
        if body not in (None, "") and config.method in ("POST", "PUT", "PATCH", "DELETE"):
            if isinstance(body, (dict, list)):
                kwargs["json"] = body
            else:
                kwargs["content"] = str(body)
        if config.auth_type == "basic":
            kwargs["auth"] = (config.auth_username, config.auth_password)
        elif config.auth_type == "bearer":
            kwargs["headers"] = {
                **config.headers,
                "Authorization": f"Bearer {config.auth_bearer_token}",
            }
        started = time.perf_counter()
        result: dict[str, Any]
        try:
            response = await self._client.request(config.method, config.url, **kwargs)
        except httpx.HTTPError as exc:
            result = {
                "status": 0,
                "headers": {},
                "body": None,
                "duration_ms": (time.perf_counter() - started) * 1000,
                "error": {"message": str(exc) or type(exc).__name__, "type": type(exc).__name__},
            }
        else:
            try:
                response_body: Any = response.json()
            except ValueError:
                response_body = response.text
            result = {
                "status": response.status_code,
                "headers": dict(response.headers),
                "body": response_body,
                "duration_ms": (time.perf_counter() - started) * 1000,
                "error": None,
            }
        return payload.with_output("http_request", result)


HTTP_NODES = (HttpRequest,)
