"""``list[E]`` fan-in: following the members of a returned list until each lineage ends.

A step that returns a list opens a stream when some collector step (a ``list[R]``
parameter) is bound to it.  Each member is routed as its own event, tagged with the stream;
whatever a tagged attempt returns inherits the tag.  An event whose type a bound collector
wants is captured instead of routed.  Once no tagged work is left (or a ``Take(n)`` is
full) the collector receives a ``CollectionReleaseEvent`` with what it captured.
"""

from __future__ import annotations

from collections.abc import Callable

from reflow.engine.commands import Command
from reflow.engine.state import RunState, Stream, Work
from reflow.events import CollectionReleaseEvent, Event

# How a collector's release becomes work: ``_routing.enqueue``, passed in by the caller (routing
# also holds and drops streams, so importing it here would make the two modules a cycle).
Enqueue = Callable[[RunState, list[Command], str, Work], None]


def hold(state: RunState, stream_id: int | None) -> None:
    if stream_id is not None and stream_id in state.streams:
        state.streams[stream_id].live += 1


def drop(state: RunState, cmds: list[Command], stream_id: int | None, enqueue: Enqueue) -> None:
    """One unit of the stream's work is gone; close the stream when none is left."""
    if stream_id is None:
        return
    stream = state.streams.get(stream_id)
    if stream is None:
        return
    stream.live -= 1
    if stream.live <= 0:
        del state.streams[stream_id]
        for run in state.steps.values():
            if run.joins:  # join leftovers die with their stream
                for lineage in [key for key in run.joins if key[0] == stream_id]:
                    del run.joins[lineage]
        for name, events in stream.collectors.items():
            if name not in stream.released:
                _release(state, cmds, stream_id, stream, name, events, enqueue)
        drop(state, cmds, stream.parent, enqueue)


def open_stream(
    state: RunState, producer: str, parent: int | None, parent_member: int | None = None
) -> int | None:
    """A new stream for ``producer``'s returned list, or ``parent`` when no collector wants it."""
    collectors = state.config.steps[producer].bound_collectors
    if not collectors:
        return parent
    stream_id = state.next_stream_id
    state.next_stream_id += 1
    state.streams[stream_id] = Stream(
        collectors={name: [] for name in collectors}, parent=parent, parent_member=parent_member
    )
    hold(state, parent)
    return stream_id


def capture(
    state: RunState, cmds: list[Command], stream_id: int | None, event: Event, enqueue: Enqueue
) -> bool:
    """Keep ``event`` for every collector of the stream that wants its type (each sees the
    full stream); False if none does."""
    if stream_id is None:
        return False
    stream = state.streams.get(stream_id)
    if stream is None:
        return False
    captured = False
    for name, events in stream.collectors.items():
        spec = state.config.steps[name]
        if type(event) not in spec.collects and not (
            spec.accept_subclasses and isinstance(event, spec.collects)
        ):
            continue
        captured = True
        if name not in stream.released:
            events.append(event)
            if spec.take is not None and len(events) >= spec.take:
                _release(state, cmds, stream_id, stream, name, events, enqueue)
    return captured


def _release(
    state: RunState,
    cmds: list[Command],
    stream_id: int,
    stream: Stream,
    name: str,
    events: list[Event],
    enqueue: Enqueue,
) -> None:
    stream.released.add(name)
    release = CollectionReleaseEvent(events=list(events), stream_id=str(stream_id), binding_id=name)
    enqueue(state, cmds, name, Work(release, stream=stream.parent, member=stream.parent_member))
