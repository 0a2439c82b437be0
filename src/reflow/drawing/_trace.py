"""What a run did, as records, and the picture drawn from them.

**Protocol.** A handler can be drawn when ``handler._execution_trace()`` or
``handler.ctx._execution_trace()`` returns an iterable of records, oldest first. A record is an
``ExecutionRecord`` or a plain tuple (or list) ``(event, step, produced)`` or
``(event, step, produced, run)``:

* ``event``: the event class (or its name) the record is about;
* ``step``: the step that ran on such an event, or ``None`` when the event entered the run from
  outside (the start event, a human response, ``ctx.send_event`` called by the caller);
* ``produced``: an event class (or name) the step run emitted, returned or sent, else ``None``;
* ``run``: any hashable naming the step run. A run that emitted several events gives one
  record per event with the same ``run``; ``None`` makes each record a run of its own.

A step run is linked to the oldest occurrence of its event type that this step has not consumed
yet (events reach a step in the order they were emitted); an event type nobody recorded
emitting is drawn as coming from outside.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any, NamedTuple

from reflow.drawing._graph import Kind, Picture, PictureEdge, PictureNode, display_label, node_key

EXTERNAL_KEY = "external_step"


class ExecutionRecord(NamedTuple):
    """One thing that happened in a run (see the module docstring)."""

    event: type[Any] | str
    step: str | None = None
    produced: type[Any] | str | None = None
    run: Hashable | None = None


def handler_execution_trace(handler: Any) -> list[ExecutionRecord]:
    """The records of ``handler``'s run, validated; a clear error if it exposes none."""
    for owner in (handler, getattr(handler, "ctx", None)):
        source = getattr(owner, "_execution_trace", None)
        if callable(source):
            return normalize_records(source())
    raise TypeError(
        f"Cannot draw the execution of {handler!r}: it has no _execution_trace() "
        "(expected a reflow WorkflowHandler whose run has started)"
    )


def normalize_records(records: Iterable[Any]) -> list[ExecutionRecord]:
    """``records`` as ``ExecutionRecord``s; a ``ValueError`` names the first malformed one."""
    normalized = []
    for position, record in enumerate(records):
        if not isinstance(record, (tuple, list)) or not 1 <= len(record) <= 4:
            raise ValueError(
                f"Execution record #{position} must be a tuple (event, step, produced[, run]), "
                f"got {record!r}"
            )
        item = ExecutionRecord(*record)
        if not _is_event_type(item.event):
            raise ValueError(f"Execution record #{position}: event must be a class or a name")
        if item.step is not None and not isinstance(item.step, str):
            raise ValueError(f"Execution record #{position}: step must be a name or None")
        if item.produced is not None and not _is_event_type(item.produced):
            raise ValueError(f"Execution record #{position}: produced must be a class or a name")
        if item.step is None and item.produced is not None:
            raise ValueError(
                f"Execution record #{position}: an event from outside (step None) "
                "cannot have produced anything"
            )
        normalized.append(item)
    return normalized


def picture_of_execution(
    records: Iterable[ExecutionRecord], title: str, max_label_length: int | None
) -> Picture:
    """Event occurrences, numbered step runs (``step#n``) and the outside, linked in order."""
    return _ExecutionDrawer(title, max_label_length).draw(records)


class _ExecutionDrawer:
    def __init__(self, title: str, max_label_length: int | None) -> None:
        self.picture = Picture(title=title)
        self.max_label_length = max_label_length
        self.occurrences: dict[str, list[str]] = {}  # event name -> keys, oldest first
        self.consumed: dict[tuple[str, str], int] = {}  # (step, event name) -> how many
        self.runs: dict[tuple[str, Hashable], str] = {}  # (step, run) -> node key
        self.run_counts: dict[str, int] = {}
        self.event_count = 0

    def draw(self, records: Iterable[ExecutionRecord]) -> Picture:
        for record in records:
            if record.step is None:
                self._occurrence(record.event, from_key=None)
                continue
            run_key = self._step_run(record)
            if record.produced is not None:
                self._occurrence(record.produced, from_key=run_key)
        return self.picture

    def _step_run(self, record: ExecutionRecord) -> str:
        step = record.step
        assert step is not None
        if record.run is not None and (step, record.run) in self.runs:
            return self.runs[(step, record.run)]
        number = self.run_counts[step] = self.run_counts.get(step, 0) + 1
        key = node_key("step", f"{step}_{number}")
        label = display_label(f"{step}#{number}", self.max_label_length)
        self.picture.nodes.append(PictureNode(key, label, Kind.STEP))
        if record.run is not None:
            self.runs[(step, record.run)] = key
        self.picture.edges.append(PictureEdge(self._consumed_occurrence(step, record.event), key))
        return key

    def _consumed_occurrence(self, step: str, event: type[Any] | str) -> str:
        name = _name(event)
        taken = self.consumed.get((step, name), 0)
        self.consumed[(step, name)] = taken + 1
        available = self.occurrences.get(name, [])
        if taken < len(available):
            return available[taken]
        return self._occurrence(event, from_key=None)  # its emission was not recorded

    def _occurrence(self, event: type[Any] | str, from_key: str | None) -> str:
        name = _name(event)
        key = node_key("event", f"{name}_{self.event_count}")
        self.event_count += 1
        label = display_label(name, self.max_label_length)
        self.picture.nodes.append(PictureNode(key, label, _event_kind(event)))
        self.occurrences.setdefault(name, []).append(key)
        if from_key is None:
            from_key = self._external()
        self.picture.edges.append(PictureEdge(from_key, key))
        return key

    def _external(self) -> str:
        if not any(node.key == EXTERNAL_KEY for node in self.picture.nodes):
            label = display_label(EXTERNAL_KEY, self.max_label_length)
            self.picture.nodes.insert(0, PictureNode(EXTERNAL_KEY, label, Kind.EXTERNAL))
        return EXTERNAL_KEY


def _is_event_type(value: object) -> bool:
    return isinstance(value, (str, type))


def _name(event: type[Any] | str) -> str:
    return event if isinstance(event, str) else event.__name__


def _event_kind(event: type[Any] | str) -> Kind:
    """Start/stop colouring from the class's ancestry, or from the bare name."""
    names = [event] if isinstance(event, str) else [c.__name__ for c in event.__mro__]
    if "StopEvent" in names:
        return Kind.STOP_EVENT
    if "StartEvent" in names:
        return Kind.START_EVENT
    return Kind.EVENT
