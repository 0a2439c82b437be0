"""What a step attempt already did to its run, so that re-running the attempt does not redo it.

After a crash (or when a waiting run is reloaded) an attempt that was in progress runs again
from the top.  Its calls into the run that already reached the journal must not happen twice:
an event sent twice would be handled twice, a ``collect_events`` that already released the
buffer would find it empty and the fan-in would never complete.  So every such call of an
attempt is numbered (``(attempt_id, n)``, in call order), and its tick is journaled with that
number.  When the attempt runs again, call ``n`` finds its entry in the ``EffectLog``: a send
or a stream write is skipped, a ``collect_events`` returns the answer it got the first time.
Steps must make these calls in the same order each time they run (as for ``wait_for_event``).
"""

from __future__ import annotations

import contextvars
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reflow.durable._encoding import JournalCodec
from reflow.engine import RunState
from reflow.events import Event
from reflow.runtime.types.step_call import StepCall, StepWorkerFunction

EffectKey = tuple[int, int]
SENT: Any = True  # the entry of a send or a stream write (a collect's entry is its answer)


@dataclass(slots=True)
class AttemptScope:
    """The attempt a step's code runs in, and how many calls into the run it has made."""

    run: object
    attempt_id: int
    calls: int = 0

    def next_key(self) -> EffectKey:
        key = (self.attempt_id, self.calls)
        self.calls += 1
        return key


current_attempt: contextvars.ContextVar[AttemptScope | None] = contextvars.ContextVar(
    "reflow_durable_attempt", default=None
)


def scoped(worker: StepWorkerFunction) -> StepWorkerFunction:
    """``worker`` running inside an ``AttemptScope`` for its attempt."""

    async def run_step(call: StepCall) -> Event | list[Event] | None:
        token = current_attempt.set(AttemptScope(call.run, call.attempt_id))
        try:
            return await worker(call)
        finally:
            current_attempt.reset(token)

    return run_step


def scoped_steps(steps: Mapping[str, StepWorkerFunction]) -> dict[str, StepWorkerFunction]:
    return {name: scoped(worker) for name, worker in steps.items()}


class EffectLog:
    """The journaled calls of the attempts that may still run again.

    An entry is recorded when its tick is written to the journal (so a snapshot never claims
    a call the journal does not hold); until then the call's key travels with its tick,
    attached to the identity of the tick's event (``tag`` / ``take_tag``).
    """

    __slots__ = ("_by_attempt", "_tags")

    def __init__(self) -> None:
        self._by_attempt: dict[int, dict[int, Any]] = {}
        # Ticks not yet journaled carry their key through the identity of their event.
        self._tags: dict[int, tuple[Event, deque[EffectKey]]] = {}

    def get(self, key: EffectKey) -> tuple[bool, Any]:
        calls = self._by_attempt.get(key[0])
        if calls is None or key[1] not in calls:
            return False, None
        return True, calls[key[1]]

    def record(self, key: EffectKey, value: Any) -> None:
        self._by_attempt.setdefault(key[0], {})[key[1]] = value

    def tag(self, event: Event, key: EffectKey) -> None:
        found = self._tags.get(id(event))
        if found is None or found[0] is not event:
            found = self._tags[id(event)] = (event, deque())
        found[1].append(key)

    def take_tag(self, event: Event) -> EffectKey | None:
        found = self._tags.get(id(event))
        if found is None or found[0] is not event:
            return None
        key = found[1].popleft()
        if not found[1]:
            del self._tags[id(event)]
        return key

    def drop_attempt(self, attempt_id: int) -> None:
        self._by_attempt.pop(attempt_id, None)

    def keep_only(self, attempts: set[int]) -> None:
        for attempt_id in [a for a in self._by_attempt if a not in attempts]:
            del self._by_attempt[attempt_id]

    def to_json(self, codec: JournalCodec) -> list[list[Any]]:
        entries: list[list[Any]] = []
        for attempt_id, calls in self._by_attempt.items():
            for n, value in calls.items():
                entries.append([attempt_id, n, _value_to_json(value, codec)])
        return entries

    @classmethod
    def from_json(cls, data: Any, codec: JournalCodec) -> EffectLog:
        log = cls()
        for attempt_id, n, value in data:
            log.record((int(attempt_id), int(n)), _value_from_json(value, codec))
        return log


def _value_to_json(value: Any, codec: JournalCodec) -> Any:
    if value is SENT:
        return "sent"
    if value is None:
        return None
    return [codec.event_to_json(event) for event in value]


def _value_from_json(data: Any, codec: JournalCodec) -> Any:
    if data == "sent":
        return SENT
    if data is None:
        return None
    return [codec.event_from_json(item) for item in data]


def live_attempts(state: RunState) -> set[int]:
    """Attempts that may still run (again): active, queued to resume, or waiting."""
    attempts: set[int] = set()
    for run in state.steps.values():
        attempts.update(run.active)
        attempts.update(work.attempt_id for work in run.queue if work.attempt_id is not None)
    attempts.update(waiter.attempt_id for waiter in state.waiters.values())
    return attempts
