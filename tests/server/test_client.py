"""``WorkflowClient`` against the server's ASGI app: methods, types, errors, stream resume."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from server_flows import GreetStart

from reflow.client import EventStream, HandlerData, WorkflowClient
from reflow.events import HumanResponseEvent, StopEvent
from reflow.server import WorkflowServer


@pytest.fixture
def workflow_client(client: httpx.AsyncClient) -> WorkflowClient:
    return WorkflowClient(httpx_client=client)


def test_exactly_one_of_base_url_and_client() -> None:
    with pytest.raises(ValueError):
        WorkflowClient()
    with pytest.raises(ValueError):
        WorkflowClient(base_url="http://x", httpx_client=httpx.AsyncClient())


async def test_methods_and_types(workflow_client: WorkflowClient) -> None:
    assert (await workflow_client.is_healthy()).status == "healthy"
    assert "greet" in (await workflow_client.list_workflows()).workflows
    done = await workflow_client.run_workflow("greet", start_event=GreetStart(name="ada"))
    assert isinstance(done, HandlerData) and done.status == "completed"
    assert done.result is not None
    assert done.result.value == {"result": {"greeting": "hello ada"}}
    event = done.result.load_event([StopEvent])
    assert isinstance(event, StopEvent) and event.result == {"greeting": "hello ada"}
    started = await workflow_client.run_workflow_nowait("greet", start_event=GreetStart(name="b"))
    assert started.status == "running"
    listed = await workflow_client.get_handlers(status=["completed"], workflow_name=["greet"])
    assert done.handler_id in {h.handler_id for h in listed.handlers}
    schema = await workflow_client.get_workflow_schema("greet")
    assert schema.start["title"] == "GreetStart"


async def test_errors_raise_http_status_error_with_the_body(
    workflow_client: WorkflowClient,
) -> None:
    with pytest.raises(httpx.HTTPStatusError) as raised:
        await workflow_client.run_workflow("fails")
    assert '"status":"failed"' in str(raised.value)  # the first 200 characters of the body
    assert "boom went the step" in raised.value.response.json()["error"]
    failed = (await workflow_client.get_handlers(status=["failed"])).handlers[0]
    with pytest.raises(httpx.HTTPStatusError):
        await workflow_client.get_handler(failed.handler_id)
    with pytest.raises(httpx.HTTPStatusError) as missing:
        await workflow_client.get_handler("nope")
    assert missing.value.response.status_code == 404


async def test_stream_send_and_cancel(workflow_client: WorkflowClient) -> None:
    started = await workflow_client.run_workflow_nowait("ask")
    stream = workflow_client.get_workflow_events(started.handler_id)
    assert isinstance(stream, EventStream)

    async def answer() -> None:
        await asyncio.sleep(0.3)
        for word in ("x", "y"):
            sent = await workflow_client.send_event(
                started.handler_id, HumanResponseEvent(response=word)
            )
            assert sent.status == "sent"
            await asyncio.sleep(0.1)

    answering = asyncio.ensure_future(answer())
    seen = [envelope.type async for envelope in stream]
    await answering
    assert seen[0] == "InputRequiredEvent" and seen[-1] == "StopEvent"
    assert stream.last_sequence is not None and stream.last_sequence >= len(seen) - 1
    with pytest.raises(RuntimeError):
        stream.__aiter__()
    other = await workflow_client.run_workflow_nowait("ask")
    assert (await workflow_client.cancel_handler(other.handler_id)).status == "cancelled"
    purged = await workflow_client.cancel_handler(other.handler_id, purge=True)
    assert purged.status == "deleted"


async def test_stream_of_unknown_handler_raises_value_error(
    workflow_client: WorkflowClient,
) -> None:
    with pytest.raises(ValueError, match="Handler not found"):
        async for _ in workflow_client.get_workflow_events("nope"):
            pass


async def test_stream_reconnects_from_its_last_sequence(server: WorkflowServer) -> None:
    """A transport that drops the connection after the first frame of each response."""
    app_transport = httpx.ASGITransport(app=server.app)
    requests: list[str] = []

    class Flaky(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await app_transport.handle_async_request(request)
            if request.url.path.startswith("/events/") and request.method == "GET":
                requests.append(str(request.url.params.get("after_sequence")))
                body = await response.aread()
                frames = body.split(b"\n\n")
                if len(frames) > 2:  # more than one frame left: deliver one, then fail

                    class Dropping(httpx.AsyncByteStream):
                        async def __aiter__(self):  # type: ignore[no-untyped-def]
                            yield frames[0] + b"\n\n"
                            raise httpx.ReadError("connection dropped")

                    return httpx.Response(
                        response.status_code, headers=response.headers, stream=Dropping()
                    )
                return httpx.Response(response.status_code, headers=response.headers, content=body)
            return response

    async with httpx.AsyncClient(transport=Flaky(), base_url="http://t") as http:
        client = WorkflowClient(httpx_client=http)
        done = await client.run_workflow("three")
        stream = client.get_workflow_events(
            done.handler_id, include_internal_events=True, max_reconnect_attempts=100
        )
        sequences = []
        async for _ in stream:
            sequences.append(stream.last_sequence)
    assert sequences == list(range(len(sequences)))
    assert len(requests) == len(sequences)
    assert requests[:3] == ["-1", "0", "1"]
