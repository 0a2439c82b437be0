"""A python-function target for the crash test: appends the item number to a file."""

from __future__ import annotations

import json
import os
import time
from typing import Any

from reflow.flows import flow_function


@flow_function
def record(data: dict[str, Any]) -> int:
    n = int(data["n"])
    with open(os.environ["FLOW_RECORD_FILE"], "a", encoding="utf-8") as handle:
        handle.write(f"{n}\n")
    time.sleep(0.002)
    return n


@flow_function
def as_json(data: dict[str, Any]) -> str:
    return json.dumps(data)


@flow_function
def loads(data: dict[str, Any]) -> Any:
    """Fails on purpose with a TypeError: a dict is not JSON text."""
    return json.loads(data)  # type: ignore[arg-type]
