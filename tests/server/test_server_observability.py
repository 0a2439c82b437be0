"""Trace context in and out of the server, and ``/metrics`` for Prometheus (SDK in memory)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from server_flows import all_workflows
from test_restart import wait_healthy
from tests.live_server import free_port
from tests.live_server import live_app_in_thread as live_app

from reflow.observability import capture_spans
from reflow.server import MemoryWorkflowStore, SqliteWorkflowStore, WorkflowServer

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_SPAN = "b7ad6b7169203331"
INCOMING = f"00-{TRACE_ID}-{PARENT_SPAN}-01"
FLOWS = str(Path(__file__).with_name("server_flows.py"))


def make_server(tmp_path: Path, kind: str, **options: object) -> WorkflowServer:
    store = MemoryWorkflowStore() if kind == "memory" else SqliteWorkflowStore(tmp_path / "r.db")
    server = WorkflowServer(workflow_store=store, **options)  # type: ignore[arg-type]
    for name, workflow in all_workflows().items():
        server.add_workflow(name, workflow)
    return server


@pytest.fixture(params=["memory", "sqlite"])
def traced_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, object]]:
    with capture_spans() as capture, live_app(make_server(tmp_path, request.param).app) as url:
        yield url, capture


def _split(traceparent: str) -> tuple[str, str]:
    _, trace_id, span_id, _ = traceparent.split("-")
    return trace_id, span_id


async def test_a_requests_traceparent_parents_the_run_and_comes_back(
    traced_url: tuple[str, object],
) -> None:
    url, capture = traced_url
    async with httpx.AsyncClient(base_url=url) as http:
        started = await http.post(
            "/workflows/three/run-nowait", json={}, headers={"traceparent": INCOMING}
        )
        assert started.status_code == 200
        run_id = started.json()["handler_id"]
        answered = started.headers["traceparent"]
        assert _split(answered)[0] == TRACE_ID and _split(answered)[1] != PARENT_SPAN
        events = await http.get(f"/events/{run_id}", params={"after_sequence": -1})
        assert events.headers["traceparent"] == answered
        waited = await http.post("/workflows/greet/run", json={"kwargs": {"name": "x"}})
        assert waited.status_code == 200 and "traceparent" in waited.headers
    ws_url = url.replace("http://", "ws://") + f"/ws/handlers/{run_id}"
    async with websockets.connect(ws_url) as socket:
        assert socket.response is not None
        assert socket.response.headers["traceparent"] == answered
        while json.loads(await socket.recv())["type"] != "end":
            pass
    for _ in range(200):  # the run span ends just after the stream's last event
        runs = [s for s in capture.spans() if s.name == "run ThreeSteps"]  # type: ignore[attr-defined]
        if runs:
            break
        await asyncio.sleep(0.025)
    assert len(runs) == 1, [s.name for s in capture.spans()]  # type: ignore[attr-defined]
    run = runs[0]
    assert format(run.context.trace_id, "032x") == TRACE_ID
    assert run.parent is not None and format(run.parent.span_id, "016x") == PARENT_SPAN
    assert format(run.context.span_id, "016x") == _split(answered)[1]


async def test_no_traceparent_in_no_parent_and_an_untraced_run_sends_none(tmp_path: Path) -> None:
    with live_app(make_server(tmp_path, "memory").app) as url:  # nothing captures spans
        async with httpx.AsyncClient(base_url=url) as http:
            started = await http.post("/workflows/three/run-nowait", json={})
            assert started.status_code == 200 and "traceparent" not in started.headers
            missing = await http.get("/events/nope")
            assert missing.status_code == 404 and "traceparent" not in missing.headers


def _sample(text: str, name: str, workflow: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and f'reflow_workflow_name="{workflow}"' in line:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name} for {workflow} in:\n{text}")


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_metrics_count_the_runs_behind_the_token(tmp_path: Path, kind: str) -> None:
    server = make_server(tmp_path, kind, metrics=True, auth_token="tok")
    headers = {"Authorization": "Bearer tok"}
    with live_app(server.app) as url:
        async with httpx.AsyncClient(base_url=url) as http:
            assert (await http.get("/metrics")).status_code == 401
            for name in ("x", "y"):
                answer = await http.post(
                    "/workflows/greet/run", json={"kwargs": {"name": name}}, headers=headers
                )
                assert answer.status_code == 200
            failed = await http.post("/workflows/fails/run", json={}, headers=headers)
            assert failed.status_code == 500
            scraped = await http.get("/metrics", headers=headers)
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    text = scraped.text
    assert _sample(text, "reflow_runs_started_total", "greet") == 2.0
    assert _sample(text, "reflow_runs_started_total", "fails") == 1.0
    assert "reflow_step_duration_seconds_bucket" in text
    finished = [line for line in text.splitlines() if line.startswith("reflow_runs_finished_total")]
    assert any('"fails"' in line and "failed" in line for line in finished), finished


async def test_metrics_are_off_by_default(tmp_path: Path) -> None:
    with live_app(make_server(tmp_path, "memory").app) as url:
        async with httpx.AsyncClient(base_url=url) as http:
            assert (await http.get("/metrics")).status_code == 404


async def test_reflow_serve_metrics(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "reflow.cli", "serve", f"{FLOWS}:Greet", "--metrics"]
    command += ["--db", str(tmp_path / "runs.db"), "--port", str(port)]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ)
    )
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_healthy(base, process)
        async with httpx.AsyncClient(base_url=base) as http:
            await http.post("/workflows/Greet/run", json={"kwargs": {"name": "x"}})
            text = (await http.get("/metrics")).text
        assert _sample(text, "reflow_runs_started_total", "Greet") == 1.0
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 20)


def test_reflow_serve_metrics_refuses_a_files_own_server_without_them(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from reflow.cli import main

    app = tmp_path / "app.py"
    app.write_text("from reflow.server import WorkflowServer\nserver = WorkflowServer()\n")
    result = CliRunner().invoke(main, ["serve", str(app), "--metrics"])
    assert result.exit_code == 1
    assert "defines its own WorkflowServer: give it metrics=True there" in result.output
