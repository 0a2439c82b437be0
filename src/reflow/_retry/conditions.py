"""Retry conditions: which failures are worth retrying.

A retry condition is called with the exception a step raised and returns true to retry it.

Public names are re-exported by :mod:`reflow.retry_policy`, which also gives them its module name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol

__all__ = [
    "RetryCondition",
    "retry_all",
    "retry_always",
    "retry_any",
    "retry_if_exception",
    "retry_if_exception_cause_type",
    "retry_if_exception_message",
    "retry_if_exception_type",
    "retry_if_not_exception_message",
    "retry_if_not_exception_type",
    "retry_never",
    "retry_unless_exception_type",
]

_ExceptionTypes = type[BaseException] | tuple[type[BaseException], ...]


class RetryCondition(Protocol):
    """Anything called with an exception that returns whether to retry it."""

    def __call__(self, error: BaseException) -> bool: ...


def _require_callable(where: str, value: object) -> None:
    if not callable(value):
        raise TypeError(f"{where} must be callable, got {value!r}")


def _require_exception_types(where: str, exception_types: object) -> None:
    """Accept what ``isinstance`` accepts as its second argument: classes, tuples, unions."""
    try:
        isinstance(None, exception_types)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            f"{where} must be an exception class or a tuple of them, got {exception_types!r}"
        ) from None


class _RetryConditionBase:
    """Adds ``|`` (retry if either agrees) and ``&`` (retry only if both agree)."""

    def __call__(self, error: BaseException) -> bool:
        raise NotImplementedError

    def __or__(self, other: RetryCondition) -> retry_any:
        if not callable(other):
            return NotImplemented
        return retry_any(self, other)

    def __ror__(self, other: RetryCondition) -> retry_any:
        if not callable(other):
            return NotImplemented
        return retry_any(other, self)

    def __and__(self, other: RetryCondition) -> retry_all:
        if not callable(other):
            return NotImplemented
        return retry_all(self, other)

    def __rand__(self, other: RetryCondition) -> retry_all:
        if not callable(other):
            return NotImplemented
        return retry_all(other, self)


class retry_if_exception(_RetryConditionBase):
    """Retry when ``predicate(error)`` is true; its result is returned unchanged."""

    def __init__(self, predicate: Callable[[BaseException], bool]) -> None:
        _require_callable("retry_if_exception(predicate)", predicate)
        self.predicate = predicate

    def __call__(self, error: BaseException) -> bool:
        return self.predicate(error)


class _IsInstance:
    """Picklable ``isinstance(error, exception_types)`` predicate, optionally negated."""

    def __init__(self, exception_types: _ExceptionTypes, negate: bool) -> None:
        self.exception_types = exception_types
        self.negate = negate

    def __call__(self, error: BaseException) -> bool:
        return isinstance(error, self.exception_types) != self.negate


class retry_if_exception_type(retry_if_exception):
    """Retry errors that are instances of ``exception_types``."""

    def __init__(self, exception_types: _ExceptionTypes = Exception) -> None:
        _require_exception_types("retry_if_exception_type(exception_types)", exception_types)
        self.exception_types = exception_types
        super().__init__(_IsInstance(exception_types, negate=False))


class retry_if_not_exception_type(retry_if_exception):
    """Retry errors that are *not* instances of ``exception_types``."""

    def __init__(self, exception_types: _ExceptionTypes = Exception) -> None:
        _require_exception_types(f"{type(self).__name__}(exception_types)", exception_types)
        self.exception_types = exception_types
        super().__init__(_IsInstance(exception_types, negate=True))


class retry_unless_exception_type(retry_if_not_exception_type):
    """Same as :class:`retry_if_not_exception_type`."""


class retry_if_exception_message(_RetryConditionBase):
    """Retry when ``str(error)`` equals ``message``, or when regex ``match`` is found in it.

    Exactly one of the two must be given.  ``match`` is used with ``search``, so it matches
    anywhere unless anchored.
    """

    def __init__(
        self, message: str | None = None, match: str | re.Pattern[str] | None = None
    ) -> None:
        if message is None and match is None:
            raise TypeError(
                "retry_if_exception_message() missing 1 required argument 'message' or 'match'"
            )
        if message is not None and match is not None:
            raise TypeError(
                "retry_if_exception_message() takes either 'message' or 'match', not both"
            )
        if message is not None and not isinstance(message, str):
            raise TypeError(f"{type(self).__name__}(message) must be a str, got {message!r}")
        if match is not None and not (
            isinstance(match, str)
            or (isinstance(match, re.Pattern) and isinstance(match.pattern, str))
        ):
            raise TypeError(
                f"{type(self).__name__}(match) must be a str or compiled str pattern, got {match!r}"
            )
        self.message = message
        self.match = match
        self._pattern: re.Pattern[str] | None = re.compile(match) if match is not None else None

    def __call__(self, error: BaseException) -> bool:
        text = str(error)
        if self._pattern is None:
            return text == self.message
        return self._pattern.search(text) is not None


class retry_if_not_exception_message(retry_if_exception_message):
    """The negation of :class:`retry_if_exception_message`."""

    def __call__(self, error: BaseException) -> bool:
        return not super().__call__(error)


class retry_if_exception_cause_type(_RetryConditionBase):
    """Retry when some exception in the ``__cause__`` chain (not the error itself, and not
    ``__context__``) is an instance of ``exception_types``."""

    def __init__(self, exception_types: _ExceptionTypes = Exception) -> None:
        _require_exception_types("retry_if_exception_cause_type(exception_types)", exception_types)
        self.exception_types = exception_types

    def __call__(self, error: BaseException) -> bool:
        seen: set[int] = set()
        cause = error.__cause__
        # A hand-built cycle of causes would otherwise loop forever.
        while cause is not None and id(cause) not in seen:
            if isinstance(cause, self.exception_types):
                return True
            seen.add(id(cause))
            cause = cause.__cause__
        return False


def _require_conditions(owner: str, retries: tuple[object, ...]) -> None:
    for index, retry in enumerate(retries):
        if not callable(retry):
            raise TypeError(
                f"{owner}() argument {index} must be a retry condition (a callable), got {retry!r}"
            )


class retry_any(_RetryConditionBase):
    """Retry if any condition agrees (none given: never retry)."""

    def __init__(self, *retries: RetryCondition) -> None:
        _require_conditions("retry_any", retries)
        self.retries = retries

    def __call__(self, error: BaseException) -> bool:
        return any(retry(error) for retry in self.retries)


class retry_all(_RetryConditionBase):
    """Retry only if every condition agrees (none given: always retry)."""

    def __init__(self, *retries: RetryCondition) -> None:
        _require_conditions("retry_all", retries)
        self.retries = retries

    def __call__(self, error: BaseException) -> bool:
        return all(retry(error) for retry in self.retries)


class retry_always(_RetryConditionBase):
    """Retry every error."""

    def __call__(self, error: BaseException) -> bool:
        return True


class retry_never(_RetryConditionBase):
    """Retry nothing."""

    def __call__(self, error: BaseException) -> bool:
        return False
