"""The durable control loop: ``RunDriver`` plus journal resumes and the effect log.

``fold`` replays one journaled tick exactly as ``DurableDriver`` applied it live, so a state
rebuilt from the journal equals the state the run had.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reflow.durable._effects import SENT, EffectKey, EffectLog, current_attempt, live_attempts
from reflow.durable._encoding import JournalCodec, dumps, loads
from reflow.durable._errors import JournalError
from reflow.engine import (
    Command,
    CommandReply,
    CommandSchedule,
    RunConfig,
    RunState,
    TickCollect,
    TickStartRun,
    TickStepFailed,
    TickStepReturned,
    WorkflowTick,
    reduce,
)
from reflow.engine.codec import state_from_json, state_to_json
from reflow.events import Event
from reflow.runtime.control_loop import RunDriver
from reflow.runtime.types.step_call import StepWorkerFunction


def run_deadline(state: RunState) -> float | None:
    """When the run times out, if a run timeout is armed."""
    if state.run_timer is None:
        return None
    timer = state.timers.get(state.run_timer)
    return None if timer is None else timer.due


def keep_deadline(state: RunState, cmds: list[Command], due: float) -> None:
    """Move the run timeout a resume just armed back to the run's original deadline.

    The reducer gives a resumed snapshot a fresh timeout (``Context.from_dict`` does that, as
    the peer does).  A journal resume is the same run continuing, so its deadline stands.
    """
    timer_id = state.run_timer
    timer = None if timer_id is None else state.timers.get(timer_id)
    if timer_id is None or timer is None:
        return
    timer.due = due
    for index, cmd in enumerate(cmds):
        if type(cmd) is CommandSchedule and cmd.timer_id == timer_id:
            cmds[index] = CommandSchedule(timer_id=timer_id, due=due)


def reply_of(cmds: Sequence[Command]) -> Any:
    for cmd in cmds:
        if type(cmd) is CommandReply:
            return cmd.value
    return None


def note_journaled(
    log: EffectLog, tick: WorkflowTick, cmds: Sequence[Command], key: EffectKey | None
) -> None:
    """Update ``log`` for a tick that is (being) journaled, live or in a replay."""
    kind = type(tick)
    if key is not None:
        log.record(key, reply_of(cmds) if kind is TickCollect else SENT)
    elif kind is TickStepReturned or kind is TickStepFailed:
        log.drop_attempt(tick.attempt_id)  # type: ignore[union-attr]


def fold(
    state: RunState, log: EffectLog, seq: int, tick: WorkflowTick, key: EffectKey | None
) -> None:
    """Apply the journaled tick ``seq`` (carrying effect ``key``) to ``state`` and ``log``.

    A ``TickStartRun`` after the first tick is a resume from the journal and keeps the run's
    deadline (see ``keep_deadline``).
    """
    due = run_deadline(state) if seq > 1 and type(tick) is TickStartRun else None
    _, cmds = reduce(state, tick)
    if due is not None:
        keep_deadline(state, cmds, due)
    note_journaled(log, tick, cmds, key)


class DurableDriver(RunDriver):
    """The control loop, keeping the run's deadline on a resume and replaying journaled calls.

    A step's ``send_event``, ``write_event_to_stream`` and ``collect_events`` calls are
    numbered per attempt (see ``_effects``); one the journal already holds is not repeated.
    """

    def __init__(
        self,
        state: RunState,
        adapter: Any,
        steps: Mapping[str, StepWorkerFunction],
        *,
        deadline: float | None,
        effects: EffectLog,
        workflow: Any = None,
    ) -> None:
        super().__init__(state, adapter, steps, workflow=workflow)
        self._deadline = deadline
        self.effects = effects

    def submit(self, tick: WorkflowTick) -> list[Command]:
        cmds = super().submit(tick)
        if self._deadline is not None and type(tick) is TickStartRun:
            due, self._deadline = self._deadline, None
            keep_deadline(self.state, cmds, due)
        return cmds

    def _effect_key(self) -> EffectKey | None:
        scope = current_attempt.get()
        if scope is None or scope.run is not self:
            return None
        return scope.next_key()

    def send_event(
        self,
        event: Event,
        step: str | None = None,
        *,
        delay: float | None = None,
        recovery_counts: Mapping[str, int] | None = None,
    ) -> None:
        key = self._effect_key()
        if key is not None:
            if self.effects.get(key)[0]:
                return  # sent before the attempt was interrupted, and journaled
            self.effects.tag(event, key)
        super().send_event(event, step, delay=delay, recovery_counts=recovery_counts)

    def publish(self, event: Event) -> None:
        key = self._effect_key()
        if key is not None:
            if self.effects.get(key)[0]:
                return
            self.effects.tag(event, key)
        super().publish(event)

    def collect(
        self, step_name: str, buffer_id: str, event: Event, expected: Sequence[type[Event]]
    ) -> list[Event] | None:
        key = self._effect_key()
        if key is not None:
            found, reply = self.effects.get(key)
            if found:
                return reply  # type: ignore[no-any-return]
            self.effects.tag(event, key)
        return super().collect(step_name, buffer_id, event, expected)


def start_snapshot(state: RunState, codec: JournalCodec) -> str:
    """The snapshot a run restored from a ``Context`` starts from (its tick 0)."""
    return dumps({"state": state_to_json(state, codec), "effects": []})


def rebuild(
    config: RunConfig,
    codec: JournalCodec,
    snapshot: tuple[int, str] | None,
    ticks: Sequence[tuple[int, str]],
    last_seq: int,
) -> tuple[RunState, EffectLog]:
    """The run's state and effect log: the snapshot, then every tick after it, in order."""
    if snapshot is not None:
        seq, body = snapshot
        data = loads(body)
        state = state_from_json(data["state"], config, codec)
        log = EffectLog.from_json(data["effects"], codec)
    else:
        seq, state, log = 0, RunState.initial(config), EffectLog()
    for tick_seq, body in ticks:
        seq += 1
        if tick_seq != seq:
            raise JournalError(f"tick {seq} is missing (the next one is {tick_seq})")
        data = loads(body)
        effect = data.get("effect")
        key = None if effect is None else (int(effect[0]), int(effect[1]))
        fold(state, log, seq, codec.tick_from_json(data), key)
    if seq != last_seq:
        raise JournalError(f"the journal ends at tick {seq}, but the run row says {last_seq}")
    log.keep_only(live_attempts(state))
    return state, log
