"""Placeholder: filled in with the durable runtime's trace store."""

from __future__ import annotations

from typing import Any


def trace_store_for(workflow: Any) -> Any:
    return None
