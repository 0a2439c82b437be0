"""How the durable runtime writes values into the journal and reads them back.

Ticks and run state use the engine's lossless codec (``reflow.engine.codec``) through
``JournalCodec``, which adds two things: a compact form for ``StepStateChanged`` (the most
frequent event by far, so it skips pydantic) and a pickle fallback for events JSON cannot hold
(a ``StopEvent(result=<any object>)``), so a run is never refused for its payloads when pickle
can keep them.  The user's state store is stored in ``InMemoryStateStore.to_dict`` form.
"""

from __future__ import annotations

import base64
import json
import pickle
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from reflow.context.serializers import BaseSerializer, PickleSerializer
from reflow.context.state_store import DictState, InMemoryStateStore
from reflow.engine import TickCollect, WorkflowTick
from reflow.engine.codec import (
    EventCodec,
    registry_for,
    tick_from_json,
    tick_to_json,
    types_from_json,
    types_to_json,
)
from reflow.engine.state import RunConfig
from reflow.events import Event, StepState, StepStateChanged, StopEvent

if TYPE_CHECKING:
    from reflow.workflow import Workflow

_STEP_STATE = "__step_state"
_PICKLED = "__pickled_event"
_EXPECTED_CACHE = 16


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps(value: Any) -> str:
    """Compact JSON (one encoder for all calls: ``json.dumps`` with options builds one each)."""
    return _ENCODER.encode(value)


def loads(text: str) -> Any:
    return json.loads(text)


class JournalCodec(EventCodec):
    """The engine's event codec, plus a compact ``StepStateChanged`` and a pickle fallback.

    It also encodes ticks, keeping ``collect_events`` fan-ins linear: the ``expected`` list of
    a ``TickCollect`` (100,000 types for a 100,000-event fan-in) is encoded once per list
    object, and decoded once per distinct encoding into one shared list, which the reducer
    then recognises by identity on every later tick of the fan-in.
    """

    def __init__(self, registry: Any = None) -> None:
        super().__init__(registry)
        self._expected_out: dict[int, tuple[object, Any]] = {}
        self._expected_in: dict[str, list[type[Event]]] = {}

    def tick_to_json(self, tick: WorkflowTick) -> dict[str, Any]:
        if type(tick) is not TickCollect:
            return tick_to_json(tick, self)
        assert isinstance(tick, TickCollect)
        expected = tick.expected
        cached = self._expected_out.get(id(expected))
        if cached is None or cached[0] is not expected:
            if len(self._expected_out) >= _EXPECTED_CACHE:
                self._expected_out.clear()
            cached = self._expected_out[id(expected)] = (expected, types_to_json(expected, self))
        data = tick_to_json(replace(tick, expected=()), self)
        data["expected"] = cached[1]
        return data

    def tick_from_json(self, data: Any) -> WorkflowTick:
        if not isinstance(data, dict) or data.get("type") != "collect" or "expected" not in data:
            return tick_from_json(data, self)
        key = dumps(data["expected"])
        expected = self._expected_in.get(key)
        if expected is None:
            if len(self._expected_in) >= _EXPECTED_CACHE:
                self._expected_in.clear()
            expected = self._expected_in[key] = types_from_json(data["expected"], self)
        tick = tick_from_json({**data, "expected": []}, self)
        assert isinstance(tick, TickCollect)
        return replace(tick, expected=expected)

    def event_to_json(self, event: Event) -> dict[str, Any]:
        if type(event) is StepStateChanged:
            return {
                _STEP_STATE: [
                    event.name,
                    event.step_state.value,
                    event.worker_id,
                    event.input_event_name,
                    event.output_event_name,
                ]
            }
        try:
            return super().event_to_json(event)
        except Exception as exc:
            try:
                payload = pickle.dumps(event)
            except Exception:
                raise ValueError(
                    f"A {type(event).__qualname__} event cannot be written to the journal: "
                    f"neither JSON ({exc}) nor pickle can encode it"
                ) from exc
            return {_PICKLED: base64.b64encode(payload).decode("ascii")}

    def event_from_json(self, data: Any) -> Event:
        if isinstance(data, dict):
            fields = data.get(_STEP_STATE)
            if fields is not None:
                name, state, worker_id, input_name, output_name = fields
                return StepStateChanged(
                    name=name,
                    step_state=StepState(state),
                    worker_id=worker_id,
                    input_event_name=input_name,
                    output_event_name=output_name,
                )
            pickled = data.get(_PICKLED)
            if pickled is not None:
                event = pickle.loads(base64.b64decode(pickled))
                if not isinstance(event, Event):
                    raise ValueError(f"A pickled journal event holds a {type(event).__name__}")
                return event
        return super().event_from_json(data)


def codec_for(config: RunConfig) -> JournalCodec:
    return JournalCodec(registry_for(config))


# Outcomes --------------------------------------------------------------------------------------


def outcome_to_json(
    codec: JournalCodec, result: StopEvent | None, error: BaseException | None
) -> str:
    if error is None:
        assert result is not None
        return dumps({"result": codec.event_to_json(result)})
    return dumps({"error": codec.exception_to_json(error)})


def outcome_from_json(codec: EventCodec, text: str) -> StopEvent | BaseException:
    """The stored end of a run: its StopEvent, or the exception it ended with."""
    data = loads(text)
    if "result" in data:
        event = codec.event_from_json(data["result"])
        if not isinstance(event, StopEvent):
            raise ValueError(f"A stored run result is a {type(event).__name__}, not a StopEvent")
        return event
    return codec.exception_from_json(data["error"])


# The user's state store -------------------------------------------------------------------


def store_serializer(workflow: Workflow) -> BaseSerializer:
    """The workflow's serializer if it chose one, else JSON with a pickle fallback."""
    if getattr(workflow, "_serializer_explicit", False):
        return workflow.serializer
    return PickleSerializer()


def encode_store(store: Any, serializer: BaseSerializer) -> str | None:
    """The store's ``to_dict`` form as JSON text; None for a store that has no such form."""
    to_dict = getattr(store, "to_dict", None)
    if to_dict is None:
        return None
    return dumps(to_dict(serializer))


def decode_store(text: str | None, workflow: Workflow) -> InMemoryStateStore[Any]:
    """A store holding the stored state, or the workflow's empty state when none is stored."""
    serializer = store_serializer(workflow)
    if text is None:
        state_type = workflow._state_type() or DictState
        return InMemoryStateStore(state_type(), serializer=serializer)
    return InMemoryStateStore.from_dict(loads(text), serializer)
