"""A run body with ``"handler_id": ""`` gets a generated id (it was a 500 on the journal)."""

from __future__ import annotations

import httpx


async def test_an_empty_handler_id_is_generated(client: httpx.AsyncClient) -> None:
    answer = await client.post("/workflows/three/run", json={"handler_id": ""})
    assert answer.status_code == 200, answer.text
    assert answer.json()["handler_id"]
