"""For every JSON body (and arbitrary bytes), the write routes answer 2xx or 4xx, never 5xx."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st
from server_flows import Greet, Slow

from reflow.server import WorkflowServer

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "start_event",
                    "kwargs",
                    "handler_id",
                    "event",
                    "type",
                    "value",
                    "name",
                    "step",
                    "context",
                    "data",
                    "qualified_name",
                    "x",
                ]
            )
            | st.text(max_size=8),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


async def post_everywhere(body: bytes) -> list[int]:
    server = WorkflowServer(max_body_bytes=2048)
    server.add_workflow("greet", Greet())
    server.add_workflow("slow", Slow(timeout=None))
    codes = []
    async with server.contextmanager():
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            await client.post("/workflows/slow/run-nowait", json={"handler_id": "live"})
            headers = {"content-type": "application/json"}
            for path in ("/workflows/greet/run-nowait", "/events/live", "/events/nope"):
                response = await client.post(path, content=body, headers=headers)
                codes.append(response.status_code)
                if response.status_code >= 400:
                    assert isinstance(response.json()["detail"], str)
    return codes


@settings(max_examples=40, deadline=None)
@given(value=json_values)
def test_any_json_body_is_answered_without_a_5xx(value: Any) -> None:
    codes = asyncio.run(post_everywhere(json.dumps(value).encode()))
    assert all(code < 500 for code in codes), codes


@settings(max_examples=15, deadline=None)
@given(raw=st.binary(max_size=64))
def test_any_bytes_are_answered_without_a_5xx(raw: bytes) -> None:
    codes = asyncio.run(post_everywhere(raw))
    assert all(code < 500 for code in codes), codes


def stream_sequences(text: str) -> list[int]:
    return [int(line[4:]) for line in text.splitlines() if line.startswith("id: ")]


async def resumed_streams(cursors: list[int]) -> tuple[list[int], list[list[int]], list[int]]:
    from server_flows import ThreeSteps

    server = WorkflowServer()
    server.add_workflow("three", ThreeSteps())
    async with server.contextmanager():
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            handler_id = (await client.post("/workflows/three/run", json={})).json()["handler_id"]
            url = f"/events/{handler_id}"
            params: dict[str, Any] = {"include_internal": "true", "after_sequence": -1}
            full = stream_sequences((await client.get(url, params=params)).text)
            resumed, codes = [], []
            for cursor in cursors:
                response = await client.get(url, params={**params, "after_sequence": cursor})
                codes.append(response.status_code)
                resumed.append(stream_sequences(response.text))
    return full, resumed, codes


@settings(max_examples=10, deadline=None)
@given(cursors=st.lists(st.integers(min_value=-1, max_value=40), min_size=1, max_size=5))
def test_resuming_after_any_cursor_gives_exactly_the_later_events(cursors: list[int]) -> None:
    full, resumed, codes = asyncio.run(resumed_streams(cursors))
    assert full == list(range(len(full)))
    for cursor, sequences, code in zip(cursors, resumed, codes, strict=True):
        later = [seq for seq in full if seq > cursor]
        assert sequences == later
        assert code == (200 if later else 204)
