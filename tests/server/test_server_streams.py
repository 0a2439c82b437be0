"""Streaming: SSE and NDJSON frames, cursors, heartbeats, several readers, through the app."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

HUMAN = {"type": "HumanResponseEvent", "value": {"response": "yes"}}


def sse_frames(text: str) -> list[tuple[int, dict[str, Any]]]:
    frames = []
    for block in text.split("\n\n"):
        lines = [line for line in block.split("\n") if line and not line.startswith(":")]
        if not lines:
            continue
        fields = dict(line.split(": ", 1) for line in lines)
        frames.append((int(fields["id"]), json.loads(fields["data"])))
    return frames


async def finished_three(client: httpx.AsyncClient) -> str:
    return str((await client.post("/workflows/three/run", json={})).json()["handler_id"])


async def test_sse_replays_from_the_start_with_sequences(client: httpx.AsyncClient) -> None:
    handler_id = await finished_three(client)
    response = await client.get(f"/events/{handler_id}", params={"after_sequence": -1})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = sse_frames(response.text)
    assert [f[1]["type"] for f in frames] == ["Progress", "StopEvent"]
    assert frames[0][1]["value"] == {"n": 1}
    assert frames[0][1]["qualified_name"] == "server_flows.Progress"
    assert frames[-1][1]["value"] == {"result": "done 2"}
    sequences = [f[0] for f in frames]
    assert sequences == sorted(sequences) and sequences[0] >= 0


async def test_internal_events_only_on_request(client: httpx.AsyncClient) -> None:
    handler_id = await finished_three(client)
    params: dict[str, Any] = {"after_sequence": -1, "include_internal": "true"}
    frames = sse_frames((await client.get(f"/events/{handler_id}", params=params)).text)
    internal = [f for f in frames if "InternalDispatchEvent" in (f[1]["types"] or [])]
    assert internal, "StepStateChanged events are stored and shown on request"
    assert [f[0] for f in frames] == list(range(len(frames))), "every stored event, in order"
    assert internal[0][1]["types"] == ["InternalDispatchEvent"]


async def test_integer_cursor_and_last_event_id_resume(client: httpx.AsyncClient) -> None:
    handler_id = await finished_three(client)
    everything = sse_frames(
        (
            await client.get(
                f"/events/{handler_id}",
                params={"after_sequence": -1, "include_internal": "true"},
            )
        ).text
    )
    middle = everything[len(everything) // 2][0]
    params: dict[str, Any] = {"after_sequence": middle, "include_internal": "true"}
    resumed = sse_frames((await client.get(f"/events/{handler_id}", params=params)).text)
    assert resumed == [f for f in everything if f[0] > middle]
    header = await client.get(
        f"/events/{handler_id}",
        params={"after_sequence": -1, "include_internal": "true"},
        headers={"Last-Event-ID": str(middle)},
    )
    assert sse_frames(header.text) == resumed


async def test_finished_run_with_nothing_after_the_cursor_is_204(
    client: httpx.AsyncClient,
) -> None:
    handler_id = await finished_three(client)
    assert (await client.get(f"/events/{handler_id}")).status_code == 204  # "now"
    last = sse_frames(
        (await client.get(f"/events/{handler_id}", params={"after_sequence": -1})).text
    )[-1][0]
    response = await client.get(f"/events/{handler_id}", params={"after_sequence": last})
    assert response.status_code == 204


@pytest.mark.parametrize("cursor", ["abc", "-2", "1.5", "", "9223372036854775808"])
async def test_bad_cursor_is_400(client: httpx.AsyncClient, cursor: str) -> None:
    handler_id = await finished_three(client)
    response = await client.get(f"/events/{handler_id}", params={"after_sequence": cursor})
    assert response.status_code == 400 and "after_sequence" in response.json()["detail"]


async def test_unknown_handler_stream_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/events/nope")).status_code == 404


async def test_ndjson_lines_and_no_qualified_names(client: httpx.AsyncClient) -> None:
    handler_id = await finished_three(client)
    params = {"after_sequence": -1, "sse": "false", "include_qualified_name": "false"}
    response = await client.get(f"/events/{handler_id}", params=params)
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [line["type"] for line in lines] == ["Progress", "StopEvent"]
    assert all(line["qualified_name"] is None for line in lines)


async def answer_later(client: httpx.AsyncClient, handler_id: str, delay: float) -> None:
    await asyncio.sleep(delay)
    for _ in range(2):
        response = await client.post(f"/events/{handler_id}", json={"event": HUMAN})
        assert response.status_code == 200
        await asyncio.sleep(0.1)


async def test_now_cursor_heartbeat_and_several_readers(client: httpx.AsyncClient) -> None:
    await client.post("/workflows/ask/run-nowait", json={"handler_id": "live"})
    await asyncio.sleep(0.3)  # the first InputRequiredEvent is stored before "now"
    params: dict[str, Any] = {"after_sequence": "now"}
    readers = [client.get("/events/live", params=params) for _ in range(3)]
    replay = client.get("/events/live", params={"after_sequence": -1})
    responses = await asyncio.gather(*readers, replay, answer_later(client, "live", 0.6))
    *now_readers, from_start = responses[:4]
    for response in now_readers:
        assert ": heartbeat\n\n" in response.text
        types = [f[1]["type"] for f in sse_frames(response.text)]
        assert types[-1] == "StopEvent"
        assert "first?" not in response.text
    assert sse_frames(now_readers[0].text) == sse_frames(now_readers[1].text)
    everything = sse_frames(from_start.text)
    assert "first?" in json.dumps(everything) and "second?" in json.dumps(everything)
    assert everything[-1][1]["value"] == {"result": "yes+yes"}
