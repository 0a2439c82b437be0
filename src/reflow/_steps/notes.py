"""Details added to an exception without changing its message.

Messages that match the peer's word for word stay as they are (code and tests compare them);
where the code is, or which fields were wrong, goes in a note: Python 3.11+ prints notes under
the traceback, and the ``reflow`` command line prints them with the message.
"""

from __future__ import annotations

from typing import TypeVar

E = TypeVar("E", bound=BaseException)


def with_note(exc: E, note: str) -> E:
    """``exc`` with ``note`` attached (``add_note`` where Python has it)."""
    add_note = getattr(exc, "add_note", None)
    if add_note is not None:
        add_note(note)
    else:  # Python 3.10
        exc.__notes__ = [*getattr(exc, "__notes__", []), note]  # type: ignore[attr-defined]
    return exc


def notes_of(exc: BaseException) -> list[str]:
    notes = getattr(exc, "__notes__", None)
    return [str(note) for note in notes] if isinstance(notes, list) else []
