"""The web UI with 10,000 runs in the store: a page of the runs list served, and the runs page
ready in the browser.

    python -m benchmarks.ui_runs [--runs 10000] [--repeat 5]

The journal is filled by running a one-step workflow on a ``DurableRuntime`` (in batches), then
a ``WorkflowServer`` on it is served by uvicorn on 127.0.0.1.  Figures are medians, printed
beside the issue's targets (100 ms for a page, 1 s for the page to be interactive) as ratios
(> 1: faster than the target).  The browser part needs Debian's Chromium and Playwright.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from reflow import Workflow, step
from reflow.durable import DurableRuntime
from reflow.events import StartEvent, StopEvent
from reflow.server import SqliteWorkflowStore, WorkflowServer

PAGE_TARGET_MS = 100.0
INTERACTIVE_TARGET_S = 1.0
BATCH = 250


class Tiny(Workflow):
    @step
    async def only(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result="ok")


async def fill(db: Path, runs: int) -> None:
    runtime = DurableRuntime(str(db))
    workflow = Tiny(timeout=None, runtime=runtime)
    await runtime.launch()
    try:
        for start in range(0, runs, BATCH):
            handlers = [workflow.run() for _ in range(min(BATCH, runs - start))]
            await asyncio.gather(*handlers)
    finally:
        await runtime.destroy()


def serve(db: Path) -> tuple[Any, threading.Thread, str]:
    import socket

    import uvicorn

    server = WorkflowServer(workflow_store=SqliteWorkflowStore(str(db)))
    server.add_workflow("Tiny", Tiny(timeout=None))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    config = uvicorn.Config(server.app, host="127.0.0.1", port=port, log_level="warning")
    live = uvicorn.Server(config)
    thread = threading.Thread(target=live.run, daemon=True)
    thread.start()
    while not live.started:
        time.sleep(0.02)
    return live, thread, f"http://127.0.0.1:{port}"


def page_ms(url: str, query: str, repeat: int) -> float:
    samples = []
    with httpx.Client(base_url=url, timeout=30) as client:
        client.get(f"/handlers?{query}").raise_for_status()  # warm-up
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(f"/handlers?{query}")
            samples.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    return statistics.median(samples)


def interactive_s(url: str, repeat: int) -> float | None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    executable = "/usr/bin/chromium"
    if not Path(executable).exists():
        return None
    samples = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        for _ in range(repeat + 1):
            context = browser.new_context()
            page = context.new_page()
            started = time.perf_counter()
            page.goto(f"{url}/#/runs")
            page.get_by_role("button", name="Older").and_(page.locator(":enabled")).wait_for()
            samples.append(time.perf_counter() - started)
            context.close()
        browser.close()
    return statistics.median(samples[1:])  # the first one warms the browser's caches


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "runs.db"
        started = time.perf_counter()
        asyncio.run(fill(db, args.runs))
        print(f"filled {args.runs} runs in {time.perf_counter() - started:.1f} s")
        live, thread, url = serve(db)
        try:
            rows = [
                ("first page (50)", page_ms(url, "limit=51", args.repeat * 4)),
                ("page at offset 5000", page_ms(url, "limit=51&offset=5000", args.repeat * 4)),
                ("filtered: failed", page_ms(url, "limit=51&status=failed", args.repeat * 4)),
                ("search by id prefix", page_ms(url, "limit=51&q=zz", args.repeat * 4)),
            ]
            print(f"| measure ({args.runs} runs) | median | target | ratio (>1: better) |")
            print("|---|---|---|---|")
            for label, ms in rows:
                ratio = PAGE_TARGET_MS / ms
                print(f"| {label} | {ms:.1f} ms | {PAGE_TARGET_MS:.0f} ms | {ratio:.1f} |")
            seconds = interactive_s(url, args.repeat)
            if seconds is None:
                print("| runs page interactive | (no Chromium or Playwright) | 1 s | - |")
            else:
                ratio = INTERACTIVE_TARGET_S / seconds
                print(f"| runs page interactive | {seconds:.2f} s | 1 s | {ratio:.1f} |")
        finally:
            live.should_exit = True
            thread.join(15)


if __name__ == "__main__":
    main()
