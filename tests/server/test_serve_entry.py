"""``reflow serve`` and ``python -m reflow.server``: what they serve and how they fail."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
from click.testing import CliRunner
from test_restart import free_port, wait_healthy

from reflow.cli import main
from reflow.server import MemoryWorkflowStore, WorkflowServer
from reflow.server._loading import ServeTargetError, load_server

FLOWS = str(Path(__file__).with_name("server_flows.py"))


def test_serve_reports_a_missing_file_and_a_bad_name(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["serve", str(tmp_path / "nope.py")])
    assert result.exit_code == 1 and "no such file" in result.output
    result = runner.invoke(main, ["serve", f"{FLOWS}:Missing"])
    assert result.exit_code == 1 and "no attribute 'Missing'" in result.output
    result = runner.invoke(main, ["serve", f"{FLOWS}:HUMAN_TEXT"])
    assert result.exit_code == 1 and "not a WorkflowServer or a Workflow" in result.output


def test_load_server_builds_from_classes_or_picks_a_name(tmp_path: Path) -> None:
    server = load_server(FLOWS, MemoryWorkflowStore)
    assert {"ThreeSteps", "Ask", "Greet"} <= set(server.get_workflows())
    one = load_server(f"{FLOWS}:Greet", MemoryWorkflowStore)
    assert list(one.get_workflows()) == ["Greet"]
    source = tmp_path / "app.py"
    source.write_text(
        "from reflow.server import WorkflowServer\n"
        "from server_flows import Greet\n"
        "server = WorkflowServer()\n"
        "server.add_workflow('hello', Greet())\n"
    )
    sys.path.insert(0, str(Path(FLOWS).parent))
    found = load_server(str(source), MemoryWorkflowStore)
    assert isinstance(found, WorkflowServer) and list(found.get_workflows()) == ["hello"]
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    try:
        load_server(str(empty), MemoryWorkflowStore)
    except ServeTargetError as exc:
        assert "no WorkflowServer and no Workflow" in str(exc)
    else:
        raise AssertionError("an empty file has nothing to serve")


async def test_python_m_reflow_server_uses_the_peer_environment_variables() -> None:
    port = free_port()
    env = {**os.environ, "WORKFLOWS_PY_SERVER_HOST": "127.0.0.1"}
    env["WORKFLOWS_PY_SERVER_PORT"] = str(port)
    process = subprocess.Popen(
        [sys.executable, "-m", "reflow.server", f"{FLOWS}:Greet"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await wait_healthy(f"http://127.0.0.1:{port}", process)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            response = await http.post("/workflows/Greet/run", json={"kwargs": {"name": "x"}})
            assert response.json()["result"]["value"] == {"result": {"greeting": "hello x"}}
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 20)
