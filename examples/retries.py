"""Retries and error handlers: a flaky step is retried by its retry policy; a step that keeps
failing is handed to a ``@catch_error`` handler, which ends the run gracefully.

Shows ``@step(retry_policy=retry_policy(...))``, ``ctx.retry_info()`` (which attempt this is),
and ``@catch_error(for_steps=[...])`` receiving a ``StepFailedEvent`` once retries are spent.

    python examples/retries.py
    reflow run examples/retries.py:workflow --arg failures=1
"""

from __future__ import annotations

import asyncio

from reflow import Context, Workflow, catch_error, step
from reflow.events import Event, StartEvent, StepFailedEvent, StopEvent
from reflow.retry_policy import retry_policy, stop_after_attempt, wait_fixed


class Job(StartEvent):
    failures: int = 2  # how many times the flaky call fails before it works


class Fetched(Event):
    payload: str
    attempts: int


class FlakyService(Workflow):
    """Fetch from a service that fails at first, then publish to one that is down."""

    @step(retry_policy=retry_policy(wait=wait_fixed(0.05), stop=stop_after_attempt(4)))
    async def fetch(self, ev: Job, ctx: Context) -> Fetched:
        attempt = ctx.retry_info().retry_number + 1
        if attempt <= ev.failures:
            raise ConnectionError(f"service unavailable (attempt {attempt})")
        return Fetched(payload="42 records", attempts=attempt)

    @step
    async def publish(self, ev: Fetched) -> StopEvent:
        raise RuntimeError(f"publisher is down; could not publish {ev.payload}")

    @catch_error(for_steps=["publish"])
    async def keep_for_later(self, ev: StepFailedEvent) -> StopEvent:
        return StopEvent(
            result={
                "status": "saved for a later retry",
                "failed_step": ev.step_name,
                "error": str(ev.exception),
            }
        )


workflow = FlakyService(timeout=30)


async def run_example() -> None:
    print(await workflow.run())


def main() -> None:
    asyncio.run(run_example())


if __name__ == "__main__":
    main()
