"""Naming classes by their import path and finding them again.

Snapshots, journals and wire formats name event and exception classes as ``module.Qualname``.
This module is the one place that turns such names back into classes.
"""

from __future__ import annotations

import builtins
import importlib
from typing import Any


def qualified_name(cls: type[Any]) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def import_qualified_name(name: str) -> Any:
    """Resolve ``pkg.mod.Outer.Inner`` by importing the longest importable module prefix."""
    if "." not in name:
        if hasattr(builtins, name):
            return getattr(builtins, name)
        raise ImportError(f"Cannot resolve {name!r}: it has no module part")
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            obj: Any = importlib.import_module(module_name)
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            continue
        return obj
    raise ImportError(f"Cannot resolve {name!r}: no importable module defines it")
