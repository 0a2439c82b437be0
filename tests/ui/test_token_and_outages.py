"""The token flow, an unreachable server and its return, keyboard use and a 320 px screen."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from tests.ui.conftest import LiveServer, free_port

expect.set_options(timeout=15_000)


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path / "runs.db", free_port(), token="let-me-in")
    server.start()
    yield server
    server.stop()


def test_token_asked_once_refused_token_said_so_outage_shown_and_recovered(
    page: Any, guarded: LiveServer
) -> None:
    page.goto(f"{guarded.url}/#/runs")
    dialog = page.get_by_role("dialog", name="Access token")
    expect(dialog).to_contain_text("This server needs an access token.")
    dialog.get_by_label("Token").fill("wrong")
    dialog.get_by_role("button", name="Sign in").click()
    expect(dialog).to_contain_text("The server refused that token.")
    dialog.get_by_label("Token").fill("let-me-in")
    dialog.get_by_label("Token").press("Enter")
    expect(page.get_by_role("heading", name="Runs")).to_be_visible()
    expect(dialog).to_be_hidden()

    page.reload()  # kept for the session: not asked again
    expect(page.get_by_role("heading", name="Runs")).to_be_visible()
    expect(page.get_by_role("dialog", name="Access token")).to_be_hidden()

    guarded.stop()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(re.compile(r"Cannot reach the server|Lost the live connection"))
    guarded.start()
    expect(page.locator("#banner")).to_be_hidden()
    headers = {"Authorization": "Bearer let-me-in"}
    body = {"start_event": {}, "handler_id": "after-the-outage"}
    httpx.post(f"{guarded.url}/workflows/quick/run", json=body, headers=headers, timeout=30)
    expect(page.get_by_role("row", name=re.compile("after-the-outage"))).to_be_visible()


def test_the_start_form_works_from_the_keyboard(page: Any, live: LiveServer) -> None:
    page.goto(f"{live.url}/#/workflows")
    card = page.get_by_role("region", name="greet")
    card.get_by_label("topic").focus()
    page.keyboard.type("keys")
    page.keyboard.press("Tab")  # to "times"
    page.keyboard.press("Tab")  # to the button
    expect(card.get_by_role("button", name="Start greet")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Who is asking about keys?", exact=True)).to_be_visible()


def test_readable_at_320_pixels(browser: Any, live: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 320, "height": 640})
    try:
        narrow = context.new_page()
        for view in ("#/workflows", "#/runs"):
            narrow.goto(f"{live.url}/{view}")
            expect(narrow.get_by_role("heading", level=1)).to_be_visible()
            overflow = narrow.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{view} scrolls sideways by {overflow}px at 320px"
    finally:
        context.close()
