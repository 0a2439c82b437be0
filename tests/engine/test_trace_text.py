"""A failed attempt's traceback text, built by the engine without reading source files."""

from __future__ import annotations

from reflow.engine._trace_text import exception_trace


def _inner() -> None:
    raise KeyError("missing")


def _outer() -> None:
    try:
        _inner()
    except KeyError as exc:
        raise ValueError("wrapped") from exc


def test_frames_and_the_cause_chain_are_named() -> None:
    try:
        _outer()
    except ValueError as exc:
        text = exception_trace(exc)
    assert text.startswith("Traceback (most recent call last):\n")
    assert "in _inner" in text and "in _outer" in text
    assert text.index("KeyError: 'missing'") < text.index("direct cause") < text.index("wrapped")
    assert text.endswith("ValueError: wrapped")


def test_an_exception_never_raised_is_its_type_and_message() -> None:
    assert exception_trace(RuntimeError("x")) == "RuntimeError: x"
    assert exception_trace(RuntimeError()) == "RuntimeError"
