"""``Router``: what a step does once its node produced (or skipped): send events on, or end.

Shares of ``FULL`` travel with the events (see ``_compile``): a fork splits its share among its
targets, a node with no target in the loop hands its share back to the ``finish`` step.
"""

from __future__ import annotations

from typing import Any

from reflow.context.context import Context
from reflow.events import Event, StopEvent
from reflow.flows._events import FULL, BranchEnd, NodeInput, node_event, split_weight
from reflow.flows._loop_plan import LoopPlan
from reflow.flows._nodes import Payload


class Router:
    """The targets and their event classes are resolved once, at compile time."""

    def __init__(self, plan: LoopPlan, node_id: str) -> None:
        self.node_id = node_id
        self.branches: list[tuple[str, list[type[NodeInput]]]] = [
            (key, [plan.event_class(t, node_id) for t in nodes])
            for key, nodes in plan.targets(node_id).items()
        ]
        self.count = sum(len(classes) for _, classes in self.branches)
        every = [cls for _, classes in self.branches for cls in classes]
        self.single = every[0] if len(every) == 1 else None

    def route(
        self, ctx: Context, payload: Payload | None, weight: int, branch: str | None
    ) -> Event:
        if self.single is not None and branch is None:
            return node_event(self.single, payload, weight)
        if not self.count:
            data = None if payload is None else payload.data
            if weight == FULL and data is not None:
                return StopEvent(result={"done": False, "outputs": {self.node_id: data}})
            return BranchEnd(node=self.node_id, weight=weight, data=data)
        shares = split_weight(weight, self.count)
        events: list[NodeInput] = []
        for key, classes in self.branches:
            sent = None if branch is not None and key != branch else payload
            for cls in classes:
                events.append(node_event(cls, sent, shares[len(events)]))
        for event in events[1:]:
            ctx.send_event(event)
        return events[0]

    def returns(self) -> list[Any]:
        classes = [cls for _, group in self.branches for cls in group]
        return [*classes, StopEvent, BranchEnd]
