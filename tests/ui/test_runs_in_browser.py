"""The web UI in a real Chromium: what a person sees while starting, answering and watching runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from tests.ui.conftest import LiveServer

expect.set_options(timeout=15_000)
ROOT = Path(__file__).resolve().parents[2]


def open_workflow_form(page: Any, live: LiveServer, name: str) -> Any:
    page.goto(f"{live.url}/#/workflows")
    return page.get_by_role("region", name=name)


def test_start_from_the_form_answer_in_the_page_and_see_it_complete(
    page: Any, live: LiveServer
) -> None:
    card = open_workflow_form(page, live, "greet")
    expect(card.get_by_role("img", name="Greeter")).to_be_visible()
    card.get_by_role("button", name="Start greet").click()
    expect(card.get_by_text("topic is required.")).to_be_visible()
    expect(card.get_by_label("topic")).to_have_attribute("aria-invalid", "true")
    card.get_by_label("times").fill("1.5")
    card.get_by_label("topic").fill("tea")
    card.get_by_role("button", name="Start greet").click()
    expect(card.get_by_text("times must be a whole number.")).to_be_visible()
    card.get_by_label("times").fill("2")
    card.get_by_role("button", name="Start greet").click()

    expect(page).to_have_url(re.compile(r"#/runs/"))
    waiting = page.get_by_role("region", name="Waiting for input")
    expect(waiting.get_by_text("Who is asking about tea?")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile(r"^ask waiting"))).to_be_visible()
    waiting.get_by_label("response", exact=True).fill("Ada")
    waiting.get_by_role("button", name="Send response").click()

    result = page.get_by_role("region", name="Result")
    expect(result).to_contain_text("Hello, Ada!")
    expect(page.get_by_text("completed", exact=True).first).to_be_visible()
    expect(waiting).to_be_hidden()
    expect(page.get_by_role("row", name=re.compile(r"^greet done 1"))).to_be_visible()
    timeline = page.get_by_role("list", name="Events")
    expect(timeline).to_contain_text("InputRequiredEvent")
    timeline.locator("summary", has_text="InputRequiredEvent").click()
    expect(timeline.get_by_text('"prefix": "Who is asking about tea?"')).to_be_visible()


def test_the_answer_form_is_the_workflows_own_response_type(page: Any, live: LiveServer) -> None:
    card = open_workflow_form(page, live, "rate")
    card.get_by_role("button", name="Start rate").click()
    waiting = page.get_by_role("region", name="Waiting for input")
    expect(waiting.get_by_text("How was it, from 1 to 5?")).to_be_visible()
    expect(waiting.get_by_label("Response event type")).to_have_value("Rating")
    waiting.get_by_role("button", name="Send response").click()
    expect(waiting.get_by_text("Score is required.")).to_be_visible()
    waiting.get_by_label("Score").fill("4.5")
    waiting.get_by_role("button", name="Send response").click()
    expect(waiting.get_by_text("Score must be a whole number.")).to_be_visible()
    waiting.get_by_label("Score").fill("5")
    waiting.get_by_label("Comment").fill("lovely")
    waiting.get_by_role("button", name="Send response").click()
    expect(page.get_by_role("region", name="Result")).to_contain_text("score 5: lovely")


def test_a_failing_run_shows_its_error_and_traceback(page: Any, live: LiveServer) -> None:
    card = open_workflow_form(page, live, "boom")
    card.get_by_role("button", name="Start boom").click()
    error = page.get_by_role("region", name="Error")
    expect(error).to_contain_text("the fuse was lit")
    expect(error.get_by_text("Traceback of step explode (attempt 1)")).to_be_visible()
    expect(error).to_contain_text("in explode")
    expect(error).to_contain_text("ValueError: the fuse was lit")
    expect(page.get_by_role("row", name=re.compile(r"^explode failed 1 1 0"))).to_be_visible()


def test_a_run_started_by_the_cli_appears_in_the_list_live(page: Any, live: LiveServer) -> None:
    page.goto(f"{live.url}/#/runs")
    expect(page.get_by_role("heading", name="Runs")).to_be_visible()
    expect(page.get_by_role("row").first).to_be_visible()
    run_id = "from-the-cli"
    subprocess.run(
        [sys.executable, "-m", "reflow", "run", "tests/ui/apps.py:quick", "--db", str(live.db),
         "--run-id", run_id, "--output", "json"],
        cwd=ROOT, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    row = page.get_by_role("row", name=re.compile(run_id))
    expect(row).to_be_visible()
    expect(row).to_contain_text("completed")
    page.get_by_label("Search by id").fill("from-the")
    expect(page.get_by_role("row")).to_have_count(2)  # the header and the one run


def test_cancel_a_waiting_run(page: Any, live: LiveServer) -> None:
    card = open_workflow_form(page, live, "greet")
    card.get_by_label("topic").fill("cancelling")
    card.get_by_role("button", name="Start greet").click()
    expect(page.get_by_text("Who is asking about cancelling?", exact=True)).to_be_visible()
    page.get_by_role("button", name="Cancel run").click()
    expect(page.get_by_role("region", name="Cancelled")).to_be_visible()
    expect(page.get_by_role("button", name="Cancel run")).to_be_hidden()
    expect(page.get_by_role("region", name="Waiting for input")).to_be_hidden()
    page.get_by_role("button", name="Run again with the same input").click()
    expect(page.get_by_text("Who is asking about cancelling?", exact=True)).to_be_visible()


def test_runs_come_in_pages_and_filter_by_status(page: Any, live: LiveServer) -> None:
    import httpx

    with httpx.Client(base_url=live.url, timeout=30) as client:
        for n in range(52):
            body = {"start_event": {}, "handler_id": f"bulk-{n:02d}"}
            client.post("/workflows/quick/run-nowait", json=body).raise_for_status()
    page.goto(f"{live.url}/#/runs?q=bulk-")
    expect(page.get_by_text("Runs 1\u201350")).to_be_visible()
    expect(page.get_by_role("row")).to_have_count(51)
    expect(page.get_by_role("row").nth(1)).to_contain_text("bulk-51")  # newest first
    expect(page.get_by_role("button", name="Newer")).to_be_disabled()
    page.get_by_role("button", name="Older").click()
    expect(page.get_by_text("Runs 51\u201352")).to_be_visible()
    expect(page.get_by_role("row").nth(2)).to_contain_text("bulk-00")
    expect(page.get_by_role("button", name="Older")).to_be_disabled()

    page.get_by_label("Search by id").fill("")
    page.get_by_label("Status").select_option("failed")
    expect(page).to_have_url(re.compile(r"status=failed"))
    expect(page.get_by_role("row", name=re.compile("bulk-"))).to_have_count(0)
    page.get_by_label("Workflow").select_option("quick")
    page.get_by_label("Status").select_option("completed")
    expect(page.get_by_role("row", name=re.compile("bulk-"))).not_to_have_count(0)
