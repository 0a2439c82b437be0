"""An exception that could not be rebuilt keeps its original type through every round trip.

A failure event (``StepFailedEvent``) carries its exception serialized as its qualified type
name and message.  When decoding cannot rebuild the type (a class defined in a function, a
module that is gone, or a type an import allow-list does not name), the event holds an
``UnreconstructedException`` whose ``original_type`` is that name.  Serializing it again
writes the original name, not ``UnreconstructedException`` (the peer, 2.26.1, wraps it a
second time and loses the type), so a later decode that may import it rebuilds the original.
"""

from __future__ import annotations

import datetime

from reflow.context.serializers import JsonSerializer
from reflow.events import (
    StartEvent,
    StepFailedEvent,
    UnreconstructedException,
    deserialize_exception,
    serialize_exception,
)


class QuotaExceeded(Exception):
    """Importable by name, but not on the allow-list below."""


def _failed(error: BaseException) -> StepFailedEvent:
    return StepFailedEvent(
        step_name="charge",
        input_event=StartEvent(),
        exception=error,
        attempts=1,
        elapsed_seconds=0.0,
        failed_at=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
    )


NAME = f"{__name__}.QuotaExceeded"


def test_an_allow_list_keeps_unlisted_exception_types_unreconstructed() -> None:
    strict = JsonSerializer(allowed_types=[StepFailedEvent])
    back = strict.deserialize(strict.serialize(_failed(QuotaExceeded("over"))))
    assert isinstance(back.exception, UnreconstructedException)
    assert back.exception.original_type == NAME
    assert str(back.exception) == "over"


def test_re_serializing_keeps_the_original_type_without_double_wrapping() -> None:
    strict = JsonSerializer(allowed_types=[StepFailedEvent])
    once = strict.deserialize(strict.serialize(_failed(QuotaExceeded("over"))))
    twice = strict.deserialize(strict.serialize(once))
    assert isinstance(twice.exception, UnreconstructedException)
    assert twice.exception.original_type == NAME
    # A serializer that may import the type rebuilds the original exception.
    rebuilt = JsonSerializer().deserialize(strict.serialize(twice))
    assert type(rebuilt.exception) is QuotaExceeded
    assert str(rebuilt.exception) == "over"


def test_built_in_exceptions_are_rebuilt_under_an_allow_list() -> None:
    strict = JsonSerializer(allowed_types=[StepFailedEvent])
    back = strict.deserialize(strict.serialize(_failed(ValueError("bad"))))
    assert type(back.exception) is ValueError


def test_the_direct_functions_keep_the_original_type() -> None:
    lost = UnreconstructedException("gone", original_type="vanished.module.Error")
    data = serialize_exception(lost)
    assert data == {"exception_type": "vanished.module.Error", "exception_message": "gone"}
    again = deserialize_exception(data)
    assert isinstance(again, UnreconstructedException)
    assert again.original_type == "vanished.module.Error"
