"""What goes wrong with a SQLite journal file, said as a ``JournalError`` that names the file.

``check_path`` refuses, before anything is opened, a path SQLite would take but that cannot
hold a journal; ``describe`` turns what SQLite raised into an error a user can act on;
``is_busy`` tells a lock held by another process (waited out) from a failure (reported).
``reflow.dbos``'s connection raises PostgreSQL's errors as SQLite's, so they come here too.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from reflow.durable._errors import JournalError


def check_path(path: str | os.PathLike[str]) -> str:
    """The journal path as a string; raises ``JournalError`` for a path that cannot work."""
    text = os.fspath(path)
    if not isinstance(text, str) or not text:
        raise JournalError(f"the journal path must be a non-empty file path, got {path!r}")
    if text == ":memory:" or text.startswith("file:"):
        raise JournalError(f"the journal must be a file on disk, got {text!r}")
    where = Path(text)
    if where.is_dir():
        raise JournalError(f"{text} is a directory; give DurableRuntime a file path")
    parent = where.parent if str(where.parent) else Path(".")
    if not parent.is_dir():
        raise JournalError(f"cannot create the journal {text}: directory {parent} does not exist")
    return text


def describe(exc: BaseException, path: str) -> JournalError:
    """A ``JournalError`` naming the file and what SQLite said about it."""
    message = str(exc) or type(exc).__name__
    lowered = message.lower()
    if isinstance(exc, JournalError):
        return exc
    if "file is not a database" in lowered:
        return JournalError(f"{path} is not a SQLite database ({message})")
    if "malformed" in lowered or "corrupt" in lowered:
        return JournalError(
            f"{path} is damaged ({message}); restore it from a backup or move it aside"
        )
    if "unable to open" in lowered or "readonly" in lowered or "read-only" in lowered:
        return JournalError(f"cannot open or write the journal {path} ({message})")
    return JournalError(f"journal {path}: {message}")


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite saying the file is locked or busy: a wait, not a failure."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)
