"""Type variables shared by the public API."""

from typing import Any, TypeVar, Union

from reflow.events import StopEvent

StopEventT = TypeVar("StopEventT", bound=StopEvent)
RunResultT = Union[StopEventT, Any]  # noqa: UP007

__all__ = ["RunResultT", "StopEventT"]
