"""Defaults of the runtime ABCs that custom adapters rely on."""

from __future__ import annotations

import asyncio

from reflow.engine import WorkflowTick
from reflow.events import Event
from reflow.runtime.types import plugin
from reflow.runtime.types.plugin import InternalRunAdapter, WaitResultTick, WaitResultTimeout


class SlowWriter(InternalRunAdapter):
    def __init__(self) -> None:
        self.written: list[int] = []

    @property
    def run_id(self) -> str:
        return "r"

    async def write_to_event_stream(self, event: Event) -> None:
        await asyncio.sleep(0)
        self.written.append(event["n"])

    async def get_now(self) -> float:
        return 0.0

    async def send_event(self, tick: WorkflowTick) -> None:
        return None

    async def wait_receive(
        self, timeout_seconds: float | None = None
    ) -> WaitResultTick | WaitResultTimeout:
        return WaitResultTimeout()


async def test_default_publish_keeps_order_and_leaves_no_writer_behind() -> None:
    adapter = SlowWriter()
    for n in range(5):
        adapter.publish_nowait(Event(n=n))
    await asyncio.sleep(0.05)
    adapter.publish_nowait(Event(n=5))
    await asyncio.sleep(0.05)
    assert adapter.written == [0, 1, 2, 3, 4, 5]
    assert not plugin._writers
    assert adapter not in plugin._pending_writes


async def test_basic_adapter_can_still_be_polled() -> None:
    from reflow.engine import TickCancelRun
    from reflow.runtime.basic import BasicInternalAdapter, _Run

    adapter = BasicInternalAdapter(_Run("polled", None))
    assert isinstance(await adapter.wait_receive(0.01), WaitResultTimeout)
    waiting = asyncio.ensure_future(adapter.wait_receive(1.0))
    await asyncio.sleep(0)
    tick = TickCancelRun(at=1.0)
    await adapter.send_event(tick)
    received = await waiting
    assert isinstance(received, WaitResultTick) and received.tick is tick


class _Payload:
    pass


async def test_a_pending_timer_does_not_keep_the_arming_steps_context_alive() -> None:
    import contextvars
    import gc
    import weakref

    from reflow import Context, Workflow, step
    from reflow.events import StartEvent, StopEvent

    held: contextvars.ContextVar[object] = contextvars.ContextVar("held")
    refs: list[weakref.ref[_Payload]] = []
    seen: list[bool] = []

    class Later(Event):
        pass

    class Check(Event):
        pass

    class Delayed(Workflow):
        @step
        async def arm(self, ctx: Context, ev: StartEvent) -> Check | Later:
            payload = _Payload()
            refs.append(weakref.ref(payload))
            held.set(payload)
            ctx.send_event(Later(), delay=0.3)
            return Check()

        @step
        async def check(self, ev: Check) -> None:
            await asyncio.sleep(0.05)  # the arming step has finished by now
            gc.collect()
            seen.append(refs[0]() is None)

        @step
        async def later(self, ev: Later) -> StopEvent:
            return StopEvent(result="fired")

    assert await Delayed(timeout=5).run() == "fired"
    assert seen == [True]
