"""For every JSON body, arbitrary bytes and every socket message, the flow routes answer 2xx or
4xx (never 5xx) and the flow's socket answers without closing."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.flows.conftest import REDIS_URL, delete_prefix, require_redis
from tests.flows.test_server_routes import CHAIN
from tests.live_server import live_app

from reflow.flows import FlowServices
from reflow.server import WorkflowServer

KEYS = [
    "nodes",
    "edges",
    "id",
    "type",
    "data",
    "form",
    "config",
    "source",
    "target",
    "sourceHandle",
    "settings",
    "env",
    "input",
    "session",
    "timeout",
    "max_iterations",
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
PATHS = [
    "/flows?name=x",
    "/flows/validate",
    "/flows/chain/start",
    "/flows/chain/dev/1",
    "/flows/chain/dev/2",
    "/flows/chain/dlq/nope/replay",
    "/flows/nope/start",
]


def flow_server(prefix: str) -> WorkflowServer:
    server = WorkflowServer(max_body_bytes=4096)
    server.enable_flows(FlowServices(redis_url=REDIS_URL, prefix=prefix))
    server.add_flow(CHAIN, name="chain")
    return server


async def post_everywhere(body: bytes) -> list[int]:
    prefix = f"reflow-test-flowsrv:{uuid.uuid4().hex[:12]}:"
    server = flow_server(prefix)
    codes = []
    try:
        async with server.contextmanager():
            transport = httpx.ASGITransport(app=server.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                for path in PATHS:
                    headers = {"content-type": "application/json"}
                    response = await client.post(path, content=body, headers=headers)
                    codes.append(response.status_code)
                    if response.status_code >= 400:
                        assert isinstance(response.json()["detail"], str)
                yaml = {"content-type": "application/yaml"}
                response = await client.post("/flows?name=y", content=body, headers=yaml)
                codes.append(response.status_code)
    finally:
        await delete_prefix(prefix)
    return codes


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values)
def test_any_json_body_is_answered_without_a_5xx(value: Any) -> None:
    require_redis()
    codes = asyncio.run(post_everywhere(json.dumps(value).encode()))
    assert all(code < 500 for code in codes), codes


@settings(max_examples=15, deadline=None)
@given(raw=st.binary(max_size=64))
def test_any_bytes_are_answered_without_a_5xx(raw: bytes) -> None:
    require_redis()
    codes = asyncio.run(post_everywhere(raw))
    assert all(code < 500 for code in codes), codes


async def talk(messages: list[str]) -> list[dict[str, Any]]:
    prefix = f"reflow-test-flowsrv:{uuid.uuid4().hex[:12]}:"
    answers = []
    async with (
        live_app(flow_server(prefix).app) as address,
        websockets.connect(f"ws://{address}/ws/flows/chain") as ws,
    ):
        assert json.loads(await ws.recv())["type"] == "state_sync"
        for text in [*messages, '{"type": "ping"}']:
            await ws.send(text)
            answers.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))
    return answers


@settings(max_examples=10, deadline=None)
@given(messages=st.lists(st.text(max_size=30) | json_values.map(json.dumps), max_size=6))
def test_every_socket_message_is_answered_and_the_socket_stays_open(messages: list[str]) -> None:
    require_redis()
    answers = asyncio.run(talk(messages))
    assert all(a["type"] in ("error", "pong", "state_sync") for a in answers), answers
    assert answers[-1] == {"type": "pong"}
