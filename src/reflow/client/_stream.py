"""``EventStream``: a handler's events over SSE, reconnecting from the last sequence it saw."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from reflow.client.protocol import EventEnvelopeWithMetadata

_RETRY_DELAY = 0.2


class EventStream:
    """Iterate once (``async for``) to get each event envelope; ``last_sequence`` is the cursor.

    A dropped connection is reopened with ``after_sequence`` = the last sequence received, up to
    ``max_reconnect_attempts`` times in a row, so no event is lost or repeated.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        path: str,
        params: dict[str, Any],
        after_sequence: int | str,
        max_reconnect_attempts: int = 3,
        headers: dict[str, str] | None = None,
    ) -> None:
        self._client = client
        self._path = path
        self._params = params
        self._headers = headers or {}
        self.max_reconnect_attempts = max_reconnect_attempts
        self.last_sequence: int | None = (
            after_sequence if isinstance(after_sequence, int) and after_sequence >= 0 else None
        )
        self._initial = after_sequence
        self._started = False
        self._closed = False
        self._response: httpx.Response | None = None

    def __aiter__(self) -> AsyncIterator[EventEnvelopeWithMetadata]:
        if self._started:
            raise RuntimeError("An EventStream can be iterated only once")
        self._started = True
        return self._events()

    async def aclose(self) -> None:
        self._closed = True
        if self._response is not None:
            await self._response.aclose()

    def _cursor(self) -> int | str:
        return self._initial if self.last_sequence is None else self.last_sequence

    async def _events(self) -> AsyncIterator[EventEnvelopeWithMetadata]:
        failures = 0
        while not self._closed:
            params = {**self._params, "after_sequence": self._cursor()}
            try:
                async with self._client.stream(
                    "GET", self._path, params=params, headers=self._headers
                ) as response:
                    self._response = response
                    if response.status_code == 204:
                        return
                    if response.status_code == 404:
                        raise ValueError("Handler not found")
                    if response.status_code >= 400:
                        await response.aread()
                        response.raise_for_status()
                    async for envelope in self._frames(response):
                        failures = 0
                        yield envelope
                        if envelope.is_terminal():
                            return
                    return  # the server ended the stream
            except (httpx.TransportError, httpx.RemoteProtocolError):
                if self._closed:
                    return
                failures += 1
                if failures > self.max_reconnect_attempts:
                    raise
                await asyncio.sleep(_RETRY_DELAY * failures)
            finally:
                self._response = None

    async def _frames(self, response: httpx.Response) -> AsyncIterator[EventEnvelopeWithMetadata]:
        event_id: str | None = None
        data: list[str] = []
        async for line in response.aiter_lines():
            if line == "":
                if data:
                    envelope = EventEnvelopeWithMetadata.model_validate(json.loads("\n".join(data)))
                    if event_id is not None and event_id.strip().lstrip("-").isdigit():
                        self.last_sequence = int(event_id)
                    yield envelope
                event_id, data = None, []
            elif line.startswith(":"):
                continue
            else:
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "id":
                    event_id = value
                elif field == "data":
                    data.append(value)
