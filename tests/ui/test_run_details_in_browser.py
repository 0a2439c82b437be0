"""The run page's state, event times and "run again" in a real Chromium."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import httpx
from playwright.sync_api import expect
from tests.ui.conftest import LiveServer

expect.set_options(timeout=15_000)


def start(live: LiveServer, name: str, start_event: dict[str, Any]) -> dict[str, Any]:
    """A run started from outside the page (so the tab has no record of its input)."""
    response = httpx.post(
        f"{live.url}/workflows/{name}/run-nowait", json={"start_event": start_event}, timeout=15
    )
    response.raise_for_status()
    return dict(response.json())


def test_the_run_page_shows_the_current_state(page: Any, live: LiveServer) -> None:
    run = start(live, "greet", {"topic": "jam"})
    page.goto(f"{live.url}/#/runs/{run['handler_id']}")
    section = page.get_by_role("region", name="State")
    section.get_by_text("Current state").click()
    expect(section.get_by_label("Current state")).to_contain_text('"asked_about": "jam"')


def test_the_timeline_shows_when_each_event_was_published(page: Any, live: LiveServer) -> None:
    run = start(live, "quick", {})
    page.goto(f"{live.url}/#/runs/{run['handler_id']}")
    timeline = page.get_by_role("list", name="Events")
    expect(timeline).to_contain_text("StopEvent")
    times = timeline.locator("time")
    expect(times.first).to_have_text(re.compile(r"\d{1,2}:\d{2}:\d{2}"))
    started = datetime.fromisoformat(run["started_at"])
    stamps = [datetime.fromisoformat(t) for t in times.evaluate_all("l => l.map(t => t.dateTime)")]
    assert stamps and all(stamp >= started for stamp in stamps)
    assert stamps == sorted(stamps)


def test_run_again_with_the_input_of_a_run_started_elsewhere(page: Any, live: LiveServer) -> None:
    run = start(live, "greet", {"topic": "figs"})
    page.goto(f"{live.url}/#/runs/{run['handler_id']}")
    waiting = page.get_by_role("region", name="Waiting for input")
    expect(waiting.get_by_text("Who is asking about figs?")).to_be_visible()
    page.get_by_role("button", name="Run again with the same input").click()
    expect(page).not_to_have_url(re.compile(re.escape(run["handler_id"])))
    expect(page.get_by_role("heading", name=re.compile(r"^Run "))).not_to_have_text(
        f"Run {run['handler_id']}"
    )
    expect(waiting.get_by_text("Who is asking about figs?")).to_be_visible()
