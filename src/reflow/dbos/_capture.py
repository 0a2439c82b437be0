"""A ``Context`` step executed away from its run: its effects captured there, applied here.

The process that executes the step has no run: no reducer, no store, no stream.  It gets what
the step needs as it was when the attempt was dispatched (the run's store, encoded, and the
attempt's retry state) and a ``RunServices`` that records instead of acting:

- ``ctx.store`` is the dispatched store; at the end, the top-level keys (or fields) the step
  changed travel back with the new store.  They are written only if the run's values of those
  keys are still the dispatched ones (compared encoded, under the store's edit lock): otherwise
  another step changed them meanwhile, writing would lose its update, and the driving process
  runs the attempt again itself on the live store (``StoreConflict``);
- ``ctx.send_event`` and ``ctx.write_event_to_stream`` are recorded, in call order;
- a step that raises after any of these returns them with its exception, which the driving
  process raises once it has applied them (a local step's writes before an error stand too);
- ``ctx.collect_events`` and ``ctx.wait_for_event`` need the live run: they raise
  ``StayLocal``, the execution reports it, and the driving process runs the attempt itself.

The driving process applies the captured effects through its own run in the attempt's scope,
in order, before it returns the step's result: the store keys are written, the sends and
stream writes get the attempt's effect numbers (``reflow.durable._effects``), so a replay skips
the ones already journaled, exactly as for a step that ran here.
"""

from __future__ import annotations

import base64
import contextlib
import pickle
import time
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from reflow.context.state_store import DictState
from reflow.durable._encoding import (
    codec_for,
    decode_store,
    dumps,
    encode_store,
    loads,
    store_serializer,
)
from reflow.engine import RetryState
from reflow.events import Event
from reflow.runtime.types.step_call import StepCall

# Attribute names whose use ties a step to its live run (see ``needs_live_run``).
LIVE_ONLY = frozenset({"collect_events", "wait_for_event"})


class StoreConflict(Exception):
    """A remote step changed store keys that another step changed after its dispatch."""

    def __init__(self, keys: Sequence[str]) -> None:
        super().__init__(f"store keys changed meanwhile by another step: {', '.join(keys)}")
        self.keys = list(keys)


class StayLocal(BaseException):
    """Raised on the executing process by a call that needs the live run.

    A ``BaseException``, so a step's ``except Exception`` does not swallow it.
    """


def needs_live_run(fn: Any) -> bool:
    """Whether the step function's code names ``collect_events`` or ``wait_for_event``.

    Read from the compiled code (nested functions included), so such a step stays in the
    driving process without a wasted trip.  A call made through a helper the step calls is
    not seen here: ``StayLocal`` catches it at run time.
    """
    fn = getattr(fn, "__func__", fn)
    code = getattr(getattr(fn, "__wrapped__", fn), "__code__", None)
    pending = [code] if code is not None else []
    while pending:
        code = pending.pop()
        if LIVE_ONLY.intersection(code.co_names):
            return True
        pending.extend(c for c in code.co_consts if hasattr(c, "co_names"))
    return False


# One codec per workflow: building one (its event registry) cost 20 us, almost what decoding an
# event with it costs (27 us), on every step execution and every result.
_codecs: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def codec_of(workflow: Any) -> Any:
    codec = _codecs.get(workflow)
    if codec is None:
        codec = _codecs[workflow] = codec_for(workflow._run_config(""))
    return codec


def result_to_json(codec: Any, result: Event | list[Event] | None) -> Any:
    """A step's result (an event, a list of events or None) as JSON data."""
    if result is None:
        return None
    if isinstance(result, list):
        return [codec.event_to_json(e) for e in result]
    return codec.event_to_json(result)


def result_from_json(codec: Any, data: Any) -> Event | list[Event] | None:
    if data is None:
        return None
    if isinstance(data, list):
        return [codec.event_from_json(item) for item in data]
    event: Event = codec.event_from_json(data)
    return event


def _fields(state: Any) -> dict[str, Any]:
    if isinstance(state, DictState):
        return dict(state.items())
    return {name: getattr(state, name) for name in type(state).model_fields}


# -- in the process driving the run ------------------------------------------------------------


def dispatch_context(workflow: Any, store: Any, retry: RetryState) -> str:
    """What the executing process needs to give the step its ``Context`` (the run's
    ``store`` as it is now, the attempt's ``retry`` state), encoded."""
    store = getattr(store, "_store", store)  # the run's store, not its touch-tracking view
    return dumps(
        {
            # Encoded as the journal encodes it: ``decode_store`` reads it back the same way.
            "store": encode_store(store, store_serializer(workflow)),
            "retry": [retry.retry_number, retry.first_attempt_at, retry.last_failed_at],
        }
    )


async def apply_outcome(
    workflow: Any, call: StepCall, body: str, dispatched: str
) -> Event | list[Event] | None:
    """Apply a remote execution's captured effects to the run; its result.

    ``dispatched`` is what ``dispatch_context`` sent.  Raises ``StayLocal`` when the execution
    needed the live run, ``StoreConflict`` (having applied nothing) when the store keys it
    changed were changed meanwhile by another step.
    """
    data = loads(body)
    if data.get("local"):
        raise StayLocal(call.step_name)
    codec = codec_of(workflow)
    if data.get("store") is not None:
        await _merge_store(workflow, call, data, loads(dispatched)["store"])
    run = call.run
    for effect in data.get("effects", ()):
        event = codec.event_from_json(effect[1])
        if effect[0] == "send":
            run.send_event(event, effect[2], delay=effect[3], recovery_counts=call.recovery_counts)
        else:
            run.publish(event)
    if data.get("error") is not None:
        raise decode_error(codec, data["error"])
    return result_from_json(codec, data.get("result"))


def encode_error(codec: Any, error: BaseException) -> dict[str, Any]:
    """The exception itself (pickled, as DBOS records a failed execution's), or its type and
    message where it cannot be pickled."""
    try:
        return {"pickle": base64.b64encode(pickle.dumps(error)).decode("ascii")}
    except Exception:
        return {"described": codec.exception_to_json(error)}


def decode_error(codec: Any, data: Mapping[str, Any]) -> BaseException:
    if "pickle" in data:
        with contextlib.suppress(Exception):
            error = pickle.loads(base64.b64decode(data["pickle"]))
            if isinstance(error, BaseException):
                return error
    exc: BaseException = codec.exception_from_json(data.get("described") or {})
    return exc


async def _merge_store(
    workflow: Any, call: StepCall, data: Mapping[str, Any], dispatched: str | None
) -> None:
    """Write the keys the step changed (and drop those it removed) into the run's store,
    if none of them changed since dispatch: steps running at once that change different keys
    all keep their changes; a step whose keys changed meanwhile raises ``StoreConflict``."""
    serializer = store_serializer(workflow)
    new = _fields(decode_store(data["store"], workflow).get_sync(""))
    before = _fields(decode_store(dispatched, workflow).get_sync(""))
    changed, removed = list(data.get("changed", ())), list(data.get("removed", ()))
    async with call.run.get_state_store().edit_state() as draft:
        live = _fields(draft)
        stale = [
            key
            for key in (*changed, *removed)
            if _encoded(live, key, serializer) != _encoded(before, key, serializer)
        ]
        if stale:
            raise StoreConflict(stale)  # leaves the block: nothing is written
        for key in changed:
            if isinstance(draft, DictState):
                draft[key] = new[key]
            else:
                setattr(draft, key, new[key])
        for key in removed:
            draft._data.pop(key, None)  # only a DictState has keys to remove


_ABSENT = object()


def _encoded(fields: Mapping[str, Any], key: str, serializer: Any) -> Any:
    """One key's value in comparable form: equal values of any type encode alike."""
    value = fields.get(key, _ABSENT)
    return value if value is _ABSENT else serializer.serialize(value)


# -- in the process executing the step ---------------------------------------------------------


class CapturedRun:
    """The run as a remote step sees it: the dispatched store, and effects recorded."""

    def __init__(self, run_id: str, workflow: Any, context: str) -> None:
        data = loads(context)
        self.run_id = run_id
        self.store = decode_store(data["store"], workflow)
        # Decoded twice: the step may mutate objects it reads from the store in place.
        self.before = _fields(decode_store(data["store"], workflow).get_sync(""))
        self.effects: list[tuple[str, Event, str | None, float | None]] = []
        retry_number, first_at, failed_at = data["retry"]
        self.retry = RetryState(
            retry_number=retry_number, first_attempt_at=first_at, last_failed_at=failed_at
        )

    def now(self) -> float:
        return time.time()

    def send_event(
        self,
        event: Event,
        step: str | None = None,
        *,
        delay: float | None = None,
        recovery_counts: Mapping[str, int] | None = None,
    ) -> None:
        self.effects.append(("send", event, step, delay))

    def publish(self, event: Event) -> None:
        self.effects.append(("publish", event, None, None))

    def collect(
        self, step_name: str, buffer_id: str, event: Event, expected: Sequence[type[Event]]
    ) -> list[Event] | None:
        raise StayLocal("collect_events")

    async def wait_for(self, call: StepCall, **kwargs: Any) -> Event:
        raise StayLocal("wait_for_event")

    def get_state_store(self) -> Any:
        return self.store

    def is_replaying(self) -> bool:
        return False

    def _changes(self) -> tuple[list[str], list[str]]:
        """The store keys the step changed, and those it removed."""
        after = _fields(self.store.get_sync(""))
        changed = [k for k, v in after.items() if k not in self.before or self.before[k] != v]
        return changed, [k for k in self.before if k not in after]

    def has_effects(self) -> bool:
        changed, removed = self._changes()
        return bool(self.effects or changed or removed)

    def outcome(
        self,
        workflow: Any,
        result: Event | list[Event] | None,
        error: BaseException | None = None,
    ) -> str:
        """The execution's result (or ``error``) and captured effects, encoded for the
        driving process."""
        codec = codec_of(workflow)
        changed, removed = self._changes()
        store = None
        if changed or removed:
            store = encode_store(self.store, self.store.serializer)
        return dumps(
            {
                "result": result_to_json(codec, result),
                "effects": [
                    [kind, codec.event_to_json(event), step, delay]
                    for kind, event, step, delay in self.effects
                ],
                "store": store,
                "changed": changed,
                "removed": removed,
                "error": None if error is None else encode_error(codec, error),
            }
        )


def stayed_local() -> str:
    return dumps({"local": True})
