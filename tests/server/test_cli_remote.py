"""``reflow runs ... --url``: the journal commands against a live server, same output shapes."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from server_flows import all_workflows
from tests.live_server import free_port
from tests.live_server import live_app_in_thread as live_app

from reflow.cli import main
from reflow.server import SqliteWorkflowStore, WorkflowServer

TOKEN = "s3cret"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    db = tmp_path_factory.mktemp("remote") / "runs.db"
    server = WorkflowServer(workflow_store=SqliteWorkflowStore(db), auth_token=TOKEN)
    for name, workflow in all_workflows().items():
        server.add_workflow(name, workflow)
    with live_app(server.app) as url:
        yield url, db


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["runs", *args])
    return result.exit_code, result.output


def remote(url: str, *args: str) -> tuple[int, str]:
    return cli(*args, "--url", url, "--token", TOKEN)


def start(url: str, workflow: str) -> str:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    # An id of our own: a generated one may start with "-", which reads as an option.
    body = {"handler_id": f"run-{uuid.uuid4().hex[:12]}"}
    response = httpx.post(f"{url}/workflows/{workflow}/run-nowait", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["handler_id"])


def wait_status(url: str, run_id: str, status: str) -> None:
    for _ in range(400):
        code, out = remote(url, "show", run_id, "--output", "json")
        if code == 0 and json.loads(out)["status"] == status:
            return
        time.sleep(0.025)
    raise AssertionError(f"run {run_id} never became {status}")


def test_list_show_and_events_match_the_journal_commands(served: tuple[str, Path]) -> None:
    url, db = served
    run_id = start(url, "three")
    wait_status(url, run_id, "completed")
    for command in (
        ("show", run_id, "--output", "json"),
        ("events", run_id, "--output", "json"),
    ):
        code, over_http = remote(url, *command)
        assert code == 0, over_http
        local_code, on_disk = cli("--db", str(db), *command)
        assert local_code == 0, on_disk
        if command[0] == "show":
            http_doc, disk_doc = json.loads(over_http), json.loads(on_disk)
            # what only the journal knows is left out; the rest is the same
            assert http_doc.pop("artifacts") == disk_doc["artifacts"] == []
            assert {k: v for k, v in disk_doc.items() if k in http_doc} == pytest.approx(http_doc)
            assert http_doc["result"] == "done 2"
        else:
            assert over_http == on_disk
    code, text = remote(url, "show", run_id)
    assert code == 0 and f"run_id: {run_id}" in text and "result: " in text
    code, listed = remote(url, "list", "--status", "completed")
    assert code == 0 and any(
        line.startswith(f"{run_id}  completed  three") for line in listed.splitlines()
    )
    code, text = remote(url, "events", run_id, "--after", "2")
    assert code == 0 and text.splitlines()[0].lstrip().startswith("3  ")


def test_send_answers_a_waiting_run_and_cancel_ends_one(served: tuple[str, Path]) -> None:
    url, _ = served
    asking = start(url, "ask")
    code, out = remote(url, "events", asking)  # not --follow: prints what is there, returns
    assert code == 0 and "InputRequiredEvent" in out
    for answer in ("ada", "bob"):
        code, out = remote(url, "send", asking, "--event", json.dumps({"response": answer}))
        assert code == 0 and out.strip() == f"event sent to run {asking}", out
        time.sleep(0.1)
    wait_status(url, asking, "completed")
    code, out = remote(url, "show", asking, "--output", "json")
    assert json.loads(out)["result"] == "ada+bob"
    code, out = remote(url, "send", asking, "--event", '{"response": "late"}')
    assert code == 1 and "has already ended; the event was not sent" in out
    slow = start(url, "slow")
    code, out = remote(url, "cancel", slow)
    assert code == 0 and out.strip() == f"run {slow} cancelled"
    wait_status(url, slow, "cancelled")
    code, out = remote(url, "cancel", slow)
    assert code == 1 and "has already ended" in out


def test_follow_prints_until_the_run_ends(served: tuple[str, Path]) -> None:
    url, _ = served
    run_id = start(url, "slow")
    code, out = remote(url, "events", run_id, "--follow")
    assert code == 0 and out.splitlines()[-1].split()[1] == "StopEvent"


def test_errors_are_one_clear_line(served: tuple[str, Path]) -> None:
    url, _ = served
    code, out = cli("list", "--url", url)
    assert code == 1 and out.strip().startswith("Error: ") and "--token" in out
    assert len(out.strip().splitlines()) == 1
    code, out = remote(url, "show", "no-such-run")
    assert code == 1 and out.strip() == f"Error: no run 'no-such-run' at {url}"
    code, out = remote(url, "events", "no-such-run")
    assert code == 1 and "no run 'no-such-run'" in out
    dead = f"http://127.0.0.1:{free_port()}"
    code, out = cli("list", "--url", dead)
    assert code == 1 and out.startswith(f"Error: cannot reach the server at {dead}")
    assert len(out.strip().splitlines()) == 1
    code, out = remote(url, "prune", "--older-than", "1d")  # never the local file instead
    assert code == 2 and "works on a journal file only, not --url" in out
    code, out = cli("list", "--url", "ftp://nowhere")
    assert code == 2 and out.startswith("Error: --url 'ftp://nowhere' is not an http(s) URL")
