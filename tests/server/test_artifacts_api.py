"""A run's artifacts: listed and served by the server (confined, behind the token), listed by
``reflow runs show`` (journal and ``--url``) and removed by ``reflow runs prune``."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from server_flows import all_workflows
from tests.live_server import live_app_in_thread as live_app

from reflow.cli import main
from reflow.client import WorkflowClient
from reflow.runners import ArtifactStore
from reflow.server import MemoryWorkflowStore, SqliteWorkflowStore, WorkflowServer

TOKEN = "tok"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def build(tmp_path: Path, kind: str) -> WorkflowServer:
    if kind == "sqlite":  # the default root: artifacts/ beside the journal
        server = WorkflowServer(workflow_store=SqliteWorkflowStore(tmp_path / "runs.db"))
    else:
        server = WorkflowServer(
            workflow_store=MemoryWorkflowStore(), artifacts_root=tmp_path / "artifacts"
        )
    for name, workflow in all_workflows().items():
        server.add_workflow(name, workflow)
    return server


@pytest.fixture(params=["memory", "sqlite"])
async def served(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, str, str]]:
    server = build(tmp_path, request.param)
    async with server.contextmanager():
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            done = (await http.post("/workflows/three/run", json={})).json()
            store = ArtifactStore(tmp_path / "artifacts", done["run_id"], "first")
            store.put("report.txt", "all good")
            store.put("deep/data.bin", b"\x00\x01")
            (tmp_path / "secret.txt").write_text("not yours")
            yield http, done["handler_id"], str(tmp_path)


async def test_the_api_lists_and_serves_a_runs_artifacts(
    served: tuple[httpx.AsyncClient, str, str],
) -> None:
    http, handler_id, _ = served
    listed = await http.get(f"/handlers/{handler_id}/artifacts")
    assert listed.status_code == 200
    found = [(a["step"], a["path"], a["size"]) for a in listed.json()["artifacts"]]
    assert found == [("first", "deep/data.bin", 2), ("first", "report.txt", 8)]
    one = await http.get(f"/handlers/{handler_id}/artifacts/first/report.txt")
    assert one.status_code == 200 and one.text == "all good"
    assert one.headers["content-type"].startswith("text/plain")
    deep = await http.get(f"/handlers/{handler_id}/artifacts/first/deep/data.bin")
    assert deep.content == b"\x00\x01"
    client = WorkflowClient(httpx_client=http)
    assert [a.path for a in (await client.list_artifacts(handler_id)).artifacts] == [
        "deep/data.bin",
        "report.txt",
    ]
    assert await client.get_artifact(handler_id, "first", "report.txt") == b"all good"


async def test_paths_outside_the_root_and_unknown_names(
    served: tuple[httpx.AsyncClient, str, str],
) -> None:
    http, handler_id, tmp = served
    base = f"/handlers/{handler_id}/artifacts"
    for escape in ("first/%2e%2e/%2e%2e/%2e%2e/secret.txt", "%2e%2e/%2e%2e/secret.txt"):
        answer = await http.get(f"{base}/{escape}")
        assert answer.status_code in (400, 404), answer.text
        assert "not yours" not in answer.text
    os.symlink(
        Path(tmp) / "secret.txt",
        Path(tmp, "artifacts", os.listdir(Path(tmp, "artifacts"))[0], "first", "link.txt"),
    )
    linked = await http.get(f"{base}/first/link.txt")
    assert linked.status_code == 400 and "escapes" in linked.json()["detail"]
    assert (await http.get(f"{base}/first/missing.txt")).status_code == 404
    assert (await http.get(f"{base}/first/deep")).status_code == 404
    assert (await http.get("/handlers/nope/artifacts")).status_code == 404
    assert (await http.get("/handlers/nope/artifacts/first/report.txt")).status_code == 404
    none = await http.get(f"/handlers/{handler_id}/artifacts")
    assert none.status_code == 200


async def test_artifact_routes_are_behind_the_token(tmp_path: Path) -> None:
    server = WorkflowServer(workflow_store=MemoryWorkflowStore(), auth_token=TOKEN)
    server.add_workflow("three", all_workflows()["three"])
    async with server.contextmanager():
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            done = (await http.post("/workflows/three/run", json={}, headers=AUTH)).json()
            base = f"/handlers/{done['handler_id']}/artifacts"
            assert (await http.get(base)).status_code == 401
            assert (await http.get(base + "/first/x.txt")).status_code == 401
            assert (await http.get(base, headers=AUTH)).json() == {"artifacts": []}


def test_runs_show_lists_them_and_prune_removes_them(tmp_path: Path) -> None:
    server = build(tmp_path, "sqlite")
    runner = CliRunner()
    with live_app(server.app) as url:
        body = {"handler_id": "shown-run"}  # a generated id may start with "-" (an option)
        run_id = httpx.post(f"{url}/workflows/three/run", json=body).json()["run_id"]
        ArtifactStore(tmp_path / "artifacts", run_id, "third").put("out.txt", "42")
        for where in (["--url", url], ["--db", str(tmp_path / "runs.db")]):
            shown = runner.invoke(main, ["runs", "show", run_id, *where])
            assert shown.exit_code == 0, shown.output
            assert "artifacts:\n  third/out.txt  2 bytes" in shown.output
            document = json.loads(
                runner.invoke(main, ["runs", "show", run_id, "--output", "json", *where]).output
            )
            assert [(a["step"], a["path"], a["size"]) for a in document["artifacts"]] == [
                ("third", "out.txt", 2)
            ]
    pruned = runner.invoke(
        main, ["runs", "--db", str(tmp_path / "runs.db"), "prune", "--older-than", "0s"]
    )
    assert pruned.exit_code == 0, pruned.output
    assert pruned.output.strip() == "pruned 1 run and the artifacts of 1"
    assert not (tmp_path / "artifacts" / run_id).exists()
