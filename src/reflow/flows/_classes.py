"""Where the classes compiled flows create live, so journals and snapshots can name them.

A compiled loop's workflow and event classes are made at run time.  The engine names event
classes by import path (``module.Qualname``) when it writes a snapshot or a journal, so each
class is registered here under a name built from the flow, the loop and the node
(``Orders__packer__LabelsInput``) and this module hands them out as attributes.  Another process
that loads and compiles the same flow registers the same names, which is how a durable run of
a flow can resume there.  Compiling a flow again in one process replaces its classes.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

__all__ = ["class_name", "register_class"]

T = TypeVar("T", bound=type)

_CLASSES: dict[str, type] = {}


def class_name(*parts: str) -> str:
    """An identifier from the parts (non-word characters become ``_``), joined by ``__``."""
    return "__".join(re.sub(r"\W", "_", part) for part in parts if part)


def register_class(cls: T, name: str, display: str | None = None) -> T:
    """Register ``cls`` as ``name``; ``display`` (the short name drawings show) is its
    ``__name__``, while ``__qualname__`` carries the unique name journals use."""
    cls.__module__ = __name__
    cls.__name__ = display or name
    cls.__qualname__ = name
    _CLASSES[name] = cls
    return cls


def __getattr__(name: str) -> Any:
    try:
        return _CLASSES[name]
    except KeyError:
        raise AttributeError(
            f"no compiled flow class {name!r} in this process; load and compile its flow first"
        ) from None
