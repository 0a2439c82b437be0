"""Short descriptions of events and JSON-ready results."""

from __future__ import annotations

from pydantic import BaseModel

from reflow.cli._format import (
    describe_event,
    is_no_output,
    prompt_text,
    short_type_name,
    to_jsonable,
)
from reflow.events import Event, InputRequiredEvent, StopEvent


class Progress(Event):
    done: int


class Point(BaseModel):
    x: int


def test_short_type_name_reads_both_spellings() -> None:
    assert short_type_name("<class 'pkg.mod.Done'>") == "Done"
    assert short_type_name("pkg.mod.Done") == "Done"
    assert short_type_name("Done") == "Done"
    assert short_type_name(None) is None
    assert is_no_output("<class 'NoneType'>")
    assert not is_no_output(None)


def test_describe_event_lists_declared_then_dynamic_fields() -> None:
    assert describe_event(Progress(done=2, note="half")) == "Progress done=2 note='half'"


def test_describe_event_shows_a_stop_event_result() -> None:
    assert describe_event(StopEvent(result=5)) == "StopEvent result=5"


def test_describe_event_is_cut_to_the_width() -> None:
    text = describe_event(Event(payload="x" * 500), width=40)
    assert len(text) == 40
    assert text.endswith("…")


def test_prompt_text_prefers_prefix_and_ends_with_a_space() -> None:
    assert prompt_text(InputRequiredEvent(prefix="Name?")) == "Name? "
    assert prompt_text(InputRequiredEvent(question="Why?\n")) == "Why?\n"


def test_prompt_text_without_a_question_field() -> None:
    assert prompt_text(InputRequiredEvent()) == "Input required> "
    assert prompt_text(InputRequiredEvent(choices=[1, 2])).startswith("InputRequiredEvent choices=")


def test_to_jsonable_handles_models_and_unknown_objects() -> None:
    marker = object()
    converted = to_jsonable({"point": Point(x=1), "items": (1, 2), "other": marker})
    assert converted == {"point": {"x": 1}, "items": [1, 2], "other": repr(marker)}
