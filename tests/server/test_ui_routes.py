"""What the web UI needs from the server: its files, workflow drawings, pages of handlers."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from server_support import MakeServer

from reflow.server import WorkflowServer


async def _client(server: WorkflowServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=server.app), base_url="http://t")


async def test_the_page_and_its_files_are_served(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert 'src="/ui/app.js"' in page.text
    for asset, kind in (("app.js", "javascript"), ("style.css", "text/css")):
        response = await client.get(f"/ui/{asset}")
        assert response.status_code == 200
        assert kind in response.headers["content-type"]
    assert (await client.get("/ui/nothing.js")).status_code == 404


async def test_ui_false_serves_no_page(make_server: MakeServer) -> None:
    server = make_server(ui=False)
    async with server.contextmanager(), await _client(server) as client:
        assert (await client.get("/")).status_code == 404
        assert (await client.get("/ui/app.js")).status_code == 404
        assert (await client.get("/workflows")).status_code == 200


async def test_with_a_token_the_files_are_open_and_the_data_is_not(
    make_server: MakeServer,
) -> None:
    server = make_server(auth_token="s3cret")
    async with server.contextmanager(), await _client(server) as client:
        assert (await client.get("/")).status_code == 200
        assert (await client.get("/ui/api.js")).status_code == 200
        assert (await client.get("/workflows")).status_code == 401
        assert (await client.get("/workflows/three/drawing")).status_code == 401
        ok = await client.get("/handlers", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200


async def test_a_workflow_drawing_is_svg_with_a_node_per_step(client: httpx.AsyncClient) -> None:
    response = await client.get("/workflows/three/drawing")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.text.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    for step_name in ("first", "second"):
        assert f'data-key="step_{step_name}"' in response.text
    missing = await client.get("/workflows/nope/drawing")
    assert missing.status_code == 404
    assert "nope" in missing.json()["detail"]


async def test_handlers_come_in_pages_newest_first(client: httpx.AsyncClient) -> None:
    ids = []
    for n in range(5):
        handler_id = f"page-{n}"
        body = {"start_event": {}, "handler_id": handler_id}
        assert (await client.post("/workflows/three/run", json=body)).status_code == 200
        ids.append(handler_id)
        await asyncio.sleep(0.002)  # distinct start times
    newest_first = list(reversed(ids))
    pages = []
    for offset in (0, 2, 4):
        response = await client.get(f"/handlers?limit=2&offset={offset}&workflow_name=three")
        pages += [h["handler_id"] for h in response.json()["handlers"]]
    assert pages == newest_first
    found = await client.get("/handlers?q=page-3")
    assert [h["handler_id"] for h in found.json()["handlers"]] == ["page-3"]
    none = await client.get("/handlers?q=page-3&status=failed")
    assert none.json()["handlers"] == []


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=abc",
        "limit=1001",
        "offset=-1",
        "offset=x",
        "limit=1.5",
        "offset=9223372036854775808",  # past what a store can compare with
    ],
)
async def test_bad_page_parameters_are_400_naming_them(
    client: httpx.AsyncClient, query: str
) -> None:
    response = await client.get(f"/handlers?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()["detail"]


async def test_status_socket_recent_limits_the_first_snapshot(make_server: MakeServer) -> None:
    import websockets
    from test_live import serving

    server = make_server()
    async with serving(server) as address:
        async with httpx.AsyncClient(base_url=f"http://{address}") as client:
            for n in range(4):
                body = {"start_event": {}, "handler_id": f"snap-{n}"}
                await client.post("/workflows/three/run", json=body)
                await asyncio.sleep(0.002)

        async def first_snapshot(path: str) -> set[str]:
            # The snapshot goes out at once; a quiet half second after it means it is complete.
            seen: set[str] = set()
            async with websockets.connect(f"ws://{address}{path}") as ws:
                while True:
                    try:
                        message = json.loads(await asyncio.wait_for(ws.recv(), 0.5 if seen else 10))
                    except asyncio.TimeoutError:
                        return seen
                    seen.add(message["handler"]["handler_id"])

        assert await first_snapshot("/ws/status?recent=2") == {"snap-3", "snap-2"}
        assert len(await first_snapshot("/ws/status")) == 4
        async with websockets.connect(f"ws://{address}/ws/status?recent=lots") as ws:
            error = json.loads(await ws.recv())
            assert error["type"] == "error"
            assert "'recent'" in error["detail"] and "lots" in error["detail"]
            assert json.loads(await ws.recv())["type"] == "status"  # then as without it


async def test_id_search_takes_wildcard_characters_literally(client: httpx.AsyncClient) -> None:
    for handler_id in ("pc%1", "pc_1", "pcx1"):
        body = {"start_event": {}, "handler_id": handler_id}
        assert (await client.post("/workflows/three/run", json=body)).status_code == 200
    for prefix, expected in (("pc%", ["pc%1"]), ("pc_", ["pc_1"]), ("pcx", ["pcx1"])):
        response = await client.get("/handlers", params={"q": prefix})
        assert [h["handler_id"] for h in response.json()["handlers"]] == expected
