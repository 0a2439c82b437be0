"""Screenshots of each view for docs/ui.md.

They go to a temporary directory; ``REFLOW_UI_SCREENSHOTS=docs`` (``scripts/ui-screenshots``)
writes them to ``docs/images`` instead, which is how the committed ones are made.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from tests.ui.conftest import LiveServer

expect.set_options(timeout=15_000)
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


def test_screenshots_of_each_view(browser: Any, live: LiveServer, tmp_path: Path) -> None:
    folder = DOCS_IMAGES if os.environ.get("REFLOW_UI_SCREENSHOTS") == "docs" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    try:
        page = context.new_page()
        page.goto(f"{live.url}/#/workflows")
        card = page.get_by_role("region", name="greet")
        expect(card.get_by_role("img", name="Greeter")).to_be_visible()
        card.get_by_role("button", name="Start greet").click()
        expect(card.get_by_text("topic is required.")).to_be_visible()
        card.screenshot(path=str(folder / "ui-workflows.png"))

        card.get_by_label("topic").fill("the docs")
        card.get_by_role("button", name="Start greet").click()
        expect(page.get_by_text("Who is asking about the docs?", exact=True)).to_be_visible()
        page.screenshot(path=str(folder / "ui-run-waiting.png"), full_page=True)

        page.goto(f"{live.url}/#/workflows")
        page.get_by_role("region", name="boom").get_by_role("button", name="Start boom").click()
        expect(page.get_by_role("region", name="Error")).to_contain_text("ValueError")
        page.get_by_role("region", name="Error").screenshot(path=str(folder / "ui-run-failed.png"))

        page.goto(f"{live.url}/#/runs")
        expect(page.get_by_role("row", name=re.compile("running"))).not_to_have_count(0)
        page.screenshot(path=str(folder / "ui-runs.png"))

        narrow = browser.new_context(viewport={"width": 320, "height": 640})
        small = narrow.new_page()
        small.goto(f"{live.url}/#/runs")
        expect(small.get_by_role("heading", name="Runs")).to_be_visible()
        expect(small.get_by_role("row").nth(1)).to_be_visible()
        small.screenshot(path=str(folder / "ui-runs-320px.png"))
        narrow.close()
    finally:
        context.close()
    for name in ("ui-workflows", "ui-run-waiting", "ui-run-failed", "ui-runs", "ui-runs-320px"):
        assert (folder / f"{name}.png").stat().st_size > 1000
