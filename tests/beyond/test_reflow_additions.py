"""Smaller additions: delayed events, idempotency keys, ``ContextStateError`` attributes, the
engine state in snapshots, offline drawings, stricter argument checks."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest

from reflow import Context, Workflow, step
from reflow.drawing import draw_all_possible_flows, draw_all_possible_flows_mermaid
from reflow.errors import ContextStateError, WorkflowValidationError
from reflow.events import Event, HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent
from reflow.resource import Resource
from reflow.retry_policy import (
    retry_if_exception_message,
    retry_if_exception_type,
    retry_policy,
    stop_after_attempt,
    wait_fixed,
)

from ._support import answer_prompts


class Tick(Event):
    label: str


class Job(Event):
    n: int


class Done(Event):
    key: str


# -- ctx.send_event(ev, delay=seconds) -------------------------------------------------------


class Delays(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Tick | None:
        ctx.send_event(Tick(label="late"), delay=0.2)
        ctx.send_event(Tick(label="now"))
        return None

    @step
    async def record(self, ctx: Context, ev: Tick) -> StopEvent | None:
        async with ctx.store.edit_state() as state:
            state["order"] = [*state.get("order", []), ev.label]
            order = state["order"]
        return StopEvent(result=order) if len(order) == 2 else None


async def test_a_delayed_event_arrives_after_its_delay_not_when_it_was_sent() -> None:
    # Sent first, delivered last; the run stays alive while the event is pending.
    assert await Delays(timeout=5).run() == ["now", "late"]


class WaitsForTicks(Workflow):
    @step
    async def wait(self, ctx: Context, ev: StartEvent) -> StopEvent:
        labels = []
        for _ in range(2):
            tick = await ctx.wait_for_event(Tick, waiter_event=InputRequiredEvent())
            labels.append(tick.label)
        return StopEvent(result=labels)


async def test_the_handler_side_can_delay_an_event_too() -> None:
    handler = WaitsForTicks(timeout=5).run()
    sent = False
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent) and not sent:
            sent = True
            assert handler.ctx is not None
            handler.ctx.send_event(Tick(label="late"), delay=0.2)
            handler.ctx.send_event(Tick(label="now"))
    assert await handler == ["now", "late"]


class DelaysThenAsks(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Tick | None:
        ctx.send_event(Tick(label="from the snapshot"), delay=0.5)
        ctx.write_event_to_stream(InputRequiredEvent(prefix="sent"))
        return None

    @step
    async def record(self, ev: Tick) -> StopEvent:
        return StopEvent(result=ev.label)


async def test_a_pending_delayed_event_survives_a_snapshot_and_restore() -> None:
    handler = DelaysThenAsks(timeout=5).run()
    snapshot: dict[str, Any] = {}
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent):
            assert handler.ctx is not None
            snapshot = handler.ctx.to_dict()
            await handler.cancel_run()
    pending = [t for t in snapshot["reflow"]["timers"] if t["action"]["kind"] == "add_event"]
    assert len(pending) == 1

    restored = DelaysThenAsks(timeout=5)
    assert await restored.run(ctx=Context.from_dict(restored, snapshot)) == "from the snapshot"


@pytest.mark.parametrize(
    "delay", [-1, math.nan, math.inf, "1", True], ids=["negative", "nan", "inf", "str", "bool"]
)
async def test_an_invalid_delay_is_refused_at_the_send(delay: Any) -> None:
    refused: list[str] = []

    class SendsBadDelay(Workflow):
        @step
        async def start(self, ctx: Context, ev: StartEvent) -> Tick | None:
            try:
                ctx.send_event(Tick(label="bad"), delay=delay)
            except (TypeError, ValueError) as error:
                refused.append(str(error))
            ctx.send_event(Tick(label="good"))
            return None

        @step
        async def record(self, ev: Tick) -> StopEvent:
            return StopEvent(result=ev.label)

    assert await SendsBadDelay(timeout=5).run() == "good"
    assert len(refused) == 1
    assert "delay" in refused[0]


# -- ctx.idempotency_key ---------------------------------------------------------------------


class Keys(Workflow):
    def __init__(self) -> None:
        super().__init__(timeout=5)
        self.keys: list[tuple[int, str, str]] = []

    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Job | None:
        for n in range(3):
            ctx.send_event(Job(n=n))
        return None

    @step(
        num_workers=3,
        retry_policy=retry_policy(stop=stop_after_attempt(2), wait=wait_fixed(0)),
    )
    async def work(self, ctx: Context, ev: Job) -> Done:
        before = ctx.idempotency_key
        if ev.n == 0:
            await ctx.wait_for_event(HumanResponseEvent, waiter_event=InputRequiredEvent())
        self.keys.append((ev.n, before, ctx.idempotency_key))
        if ev.n == 1 and ctx.retry_info().retry_number == 0:
            raise RuntimeError("the first attempt of job 1 fails")
        return Done(key=ctx.idempotency_key)

    @step
    async def join(self, ctx: Context, ev: Done) -> StopEvent | None:
        done = ctx.collect_events(ev, [Done] * 3)
        return None if done is None else StopEvent(result=sorted(d.key for d in done))


async def test_the_idempotency_key_is_run_step_attempt_and_stable_within_an_attempt() -> None:
    workflow = Keys()
    handler = workflow.run(run_id="run-42")
    await answer_prompts(handler, lambda prompt: HumanResponseEvent(response="go"))
    finished = await handler
    pattern = re.compile(r"run-42:work:(\d+)")
    for _, before, after in workflow.keys:
        assert pattern.fullmatch(before)
        assert before == after  # the same on both sides of a wait_for_event
    keys = {n: [after for m, _, after in workflow.keys if m == n] for n in range(3)}
    assert [len(keys[n]) for n in range(3)] == [1, 2, 1]  # job 1 was retried once
    every_key = [key for n in range(3) for key in keys[n]]
    assert len(set(every_key)) == 4  # branches and retries each get their own key
    assert finished == sorted([keys[0][0], keys[1][1], keys[2][0]])


async def test_the_idempotency_key_exists_only_inside_a_step() -> None:
    handler = Delays(timeout=5).run()
    assert handler.ctx is not None
    with pytest.raises(ContextStateError) as caught:
        _ = handler.ctx.idempotency_key
    assert getattr(caught.value, "method", None) == "idempotency_key"
    assert getattr(caught.value, "phase", None) == "external"
    await handler


# -- ContextStateError.method / .phase -------------------------------------------------------


class CallsToDictInside(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> StopEvent:
        try:
            ctx.to_dict()
        except ContextStateError as error:
            return StopEvent(result=(getattr(error, "method", None), getattr(error, "phase", None)))
        return StopEvent(result="allowed")


async def test_context_state_error_says_which_method_and_phase() -> None:
    pre_run: Context[Any] = Context(Delays())
    with pytest.raises(ContextStateError) as before_run:
        pre_run.collect_events(Tick(label="x"), [Tick])
    assert getattr(before_run.value, "method", None) == "collect_events"
    assert getattr(before_run.value, "phase", None) == "pre-run"
    assert str(before_run.value) == (
        "collect_events requires a running workflow. Call workflow.run() first."
    )

    handler = Delays(timeout=5).run()
    assert handler.ctx is not None
    with pytest.raises(ContextStateError) as outside:
        handler.ctx.write_event_to_stream(Tick(label="x"))
    assert getattr(outside.value, "method", None) == "write_event_to_stream"
    assert getattr(outside.value, "phase", None) == "external"
    await handler

    assert await CallsToDictInside(timeout=5).run() == ("to_dict", "internal")


# -- the snapshot carries the exact engine state --------------------------------------------


class Asks(Workflow):
    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        reply = await ctx.wait_for_event(
            HumanResponseEvent, waiter_event=InputRequiredEvent(), requirements={"user": "ann"}
        )
        return StopEvent(result=reply.response)


async def test_the_snapshot_keeps_the_peer_layout_and_adds_the_engine_state() -> None:
    handler = Asks(timeout=5).run()
    snapshot: dict[str, Any] = {}
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent):
            assert handler.ctx is not None
            snapshot = handler.ctx.to_dict()
            await handler.cancel_run()
    assert {"version", "state", "is_running", "workers", "reflow"} <= set(snapshot)
    waiters = snapshot["reflow"]["waiters"]
    assert len(waiters) == 1
    assert "ann" in repr(waiters[0])  # requirements are kept, unlike the peer's view

    restored = Asks(timeout=5)
    resumed = restored.run(ctx=Context.from_dict(restored, snapshot))
    await resumed.send_event(HumanResponseEvent(response="not for ann", user="bob"))
    await resumed.send_event(HumanResponseEvent(response="for ann", user="ann"))
    assert await resumed == "for ann"


# -- drawings ----------------------------------------------------------------------------------


class Drawn(Workflow):
    @step
    async def first_step(self, ev: StartEvent) -> Tick:
        return Tick(label="x")

    @step
    async def second_step(self, ev: Tick) -> StopEvent:
        return StopEvent()


def test_the_html_drawing_is_self_contained(tmp_path: Path) -> None:
    target = tmp_path / "flows.html"
    draw_all_possible_flows(Drawn, filename=str(target))
    page = target.read_text(encoding="utf-8")
    assert "<svg" in page
    assert "first_step" in page and "second_step" in page
    # Nothing is fetched: no script, stylesheet or image comes from elsewhere.
    assert re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page, re.IGNORECASE) is None
    assert re.search(r"@import|<script[^>]*\bsrc=", page, re.IGNORECASE) is None


def test_mermaid_output_can_be_pasted_into_docs(tmp_path: Path) -> None:
    target = tmp_path / "flows.mmd"
    text = draw_all_possible_flows_mermaid(Drawn, filename=str(target))
    assert target.read_text(encoding="utf-8") == text
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    assert '    step_first_step["first_step"]:::stepStyle' in lines
    assert "    event_StartEvent --> step_first_step" in lines
    assert "    step_first_step --> event_Tick" in lines
    assert "    event_Tick --> step_second_step" in lines


# -- stricter argument checks ---------------------------------------------------------------


async def _a_step(ev: StartEvent) -> StopEvent:
    return StopEvent()


def _fresh_workflow() -> type[Workflow]:
    """A class to register free steps on, so a check that fails to refuse pollutes nothing."""

    class Fresh(Workflow):
        @step
        async def only(self, ev: StartEvent) -> StopEvent:
            return StopEvent()

    return Fresh


# Typed as Any: these calls are wrong on purpose, which is what a type checker would say.
FIVE: Any = 5
NOT_A_CHECK: Any = ["nope"]


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: retry_policy(wait=FIVE), TypeError),
        (lambda: retry_policy(stop=FIVE), TypeError),
        (lambda: retry_policy(retry=FIVE), TypeError),
        (lambda: retry_if_exception_type(FIVE), TypeError),
        (lambda: retry_if_exception_message(message=FIVE), TypeError),
        (lambda: Resource(FIVE), TypeError),
        (
            lambda: step(workflow=_fresh_workflow(), retry_policy=FIVE)(_a_step),
            WorkflowValidationError,
        ),
        (
            lambda: step(workflow=_fresh_workflow(), skip_graph_checks=NOT_A_CHECK)(_a_step),
            WorkflowValidationError,
        ),
    ],
    ids=[
        "retry_policy-wait",
        "retry_policy-stop",
        "retry_policy-retry",
        "retry_if_exception_type",
        "retry_if_exception_message",
        "Resource",
        "step-retry_policy",
        "step-skip_graph_checks",
    ],
)
def test_arguments_the_peer_accepts_silently_are_refused_at_once(
    make: Any, error: type[Exception]
) -> None:
    with pytest.raises(error):
        make()
