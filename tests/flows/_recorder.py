"""A python-function target for the crash test: appends the item number to a file."""

from __future__ import annotations

import os
import time
from typing import Any


def record(data: dict[str, Any]) -> int:
    n = int(data["n"])
    with open(os.environ["FLOW_RECORD_FILE"], "a", encoding="utf-8") as handle:
        handle.write(f"{n}\n")
    time.sleep(0.002)
    return n
