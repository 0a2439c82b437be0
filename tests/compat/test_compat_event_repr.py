"""``repr`` of events with dynamic fields (peer 2.26.1)."""

from __future__ import annotations

from reflow.events import Event, StopEvent


class Flagged(StopEvent):
    flag: int = 1


class Plain(Event):
    a: int = 1


def test_stop_event_repr_shows_dynamic_fields_then_declared_then_result() -> None:
    assert repr(StopEvent(foo="foo", result=42)) == "StopEvent(foo='foo', result=42)"
    assert repr(StopEvent(foo="foo")) == "StopEvent(foo='foo')"
    assert repr(StopEvent(result=42)) == "StopEvent(result=42)"
    assert repr(Flagged(extra=[1], result=3)) == "Flagged(extra=[1], flag=1, result=3)"


def test_other_events_repr_only_their_declared_fields() -> None:
    assert repr(Plain(b=2)) == "Plain(a=1)"
    assert repr(Event(x=1)) == "Event()"
